"""One owner per room, always: leases in Redis, with fencing tokens.

A board server may change a room only while it holds the room's lease, a key in Redis that
expires unless renewed. A lease alone is not enough: a server stopped past its lease (SIGSTOP,
a long pause) wakes up believing it still owns the room, while another has taken it. So every
lease carries a fencing token, a number Redis hands out in order (Kleppmann, "How to do
distributed locking", 2016), and Redis refuses a write that carries any token but the newest:
the stale owner's writes are refused at the store itself, whatever it believes.

    key                         holds
    pacnet:room:NAME:lease      "OWNER:TOKEN", expiring after the lease's time
    pacnet:room:NAME:fence      the newest token handed out for the room
    pacnet:room:NAME            a hash: the room's snapshot and the token that wrote it
    pacnet:room:NAME:lobby      what the lobby says of the room (JSON), expiring with the
                                lease: a dead server's rooms drop out of the lobby by themselves
    pacnet:rooms                a hash, the room directory: room -> the server that holds it
                                (HAProxy's room map follows it, ``pacnet.cluster.follow``)

Each step is one Lua script, so Redis runs it whole, with nothing in between, and one remote
call (``pacnet.cluster.link``): it ends in one of the five outcomes, which the caller must
read as the article says (an UNKNOWN renewal may or may not have kept the room). The owner also
keeps its own clock: its lease is good until the moment it asked for it plus the lease's time,
less a margin (``Lease.valid``), so it stops changing the room before Redis lets anyone else
take it, whatever the network did to the reply.
"""

import json
from dataclasses import dataclass
from typing import Any

from pacnet.cluster.link import BadReply, StoreLink, StoreResult

MARGIN = 0.2
"""The share of a lease's time its owner gives up at the end: clocks drift and replies come
late, so the owner stops first."""

DIRECTORY = "pacnet:rooms"

_ACQUIRE = """
local held = redis.call('GET', KEYS[1])
if held then
  local owner, token = string.match(held, '^(.*):(%d+)$')
  if owner ~= ARGV[1] then return {0, owner} end
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {tonumber(token), owner}
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. token, 'PX', ARGV[2])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[1])
return {token, ARGV[1]}
"""
"""Take the lease if nobody holds it (a new token, and the directory names the caller), or
renew it if the caller does (the same token); else answer who holds it."""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[2])
  return 1
end
return 0
"""
"""Keep the lease for another term if it is still the caller's, and say what the lobby shows
of the room for as long."""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1], KEYS[2])
  if redis.call('HGET', KEYS[3], ARGV[2]) == ARGV[3] then redis.call('HDEL', KEYS[3], ARGV[2]) end
  return 1
end
return 0
"""

_SAVE = """
if tonumber(redis.call('GET', KEYS[1])) ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[2], 'token', ARGV[1], 'snapshot', ARGV[2])
return 1
"""
"""Write the room's snapshot if the caller's token is the newest handed out: a stale owner's
write is refused here, by the store."""


_LOBBY = """
local rooms = redis.call('HGETALL', KEYS[1])
local shown = {}
for i = 1, #rooms, 2 do
  local entry = redis.call('GET', 'pacnet:room:' .. rooms[i] .. ':lobby')
  if entry then
    table.insert(shown, entry)
    if ARGV[1] == '1' then
      local game = ''
      if (cjson.decode(entry).players or 0) > 0 then
        game = redis.call('HGET', 'pacnet:room:' .. rooms[i], 'snapshot') or ''
      end
      table.insert(shown, game)
    end
  end
end
return shown
"""
"""Every room the directory names whose holder renewed it within a term: what the lobby
shows (a room whose holder died drops out when its lease runs out); with ``ARGV[1]`` = 1,
each entry followed by the room's last snapshot if it has players ('' if it has none, or
no snapshot: an empty room has no leaders, and its game is not read)."""


def valid_until(asked_at: float, seconds: float) -> float:
    """Until when, on its own clock, the owner of a lease of ``seconds`` asked for at
    ``asked_at`` may change the room: less ``MARGIN``, so it stops before Redis lets anyone
    else in."""
    return asked_at + seconds * (1 - MARGIN)


def _keys(room: str) -> tuple[str, str, str, str]:
    base = f"pacnet:room:{room}"
    return f"{base}:lease", f"{base}:fence", base, f"{base}:lobby"


@dataclass(frozen=True)
class Lease:
    """A room held by ``owner`` with fencing ``token``, good on the owner's clock until
    ``valid_until`` (seconds, the clock ``now`` was read from)."""

    room: str
    owner: str
    token: int
    valid_until: float

    def valid(self, now: float) -> bool:
        """Whether the owner may still change the room at ``now``."""
        return now < self.valid_until


@dataclass(frozen=True)
class Held:
    """The lease is someone else's."""

    room: str
    owner: str


class Leases:
    """The leases of the rooms, their snapshots and the room directory, in one Redis.

    Args:
        link: the calls to it (``pacnet.cluster.link``).
        owner: who asks (a server's name); unique among the servers.
        seconds: how long a lease lasts unless renewed.
    """

    def __init__(self, link: StoreLink, owner: str, seconds: float) -> None:
        if ":" in owner:
            raise ValueError("an owner's name has no ':'")
        self.link, self.owner, self.seconds = link, owner, seconds
        self._ms = max(1, round(seconds * 1000))

    async def acquire(self, room: str, asked_at: float) -> StoreResult[Lease | Held]:
        """Take ``room``'s lease, or renew it if ours; ``asked_at``: the owner's clock just
        before asking (the lease is counted from then, not from the reply)."""
        lease_key, fence_key, _, _ = _keys(room)

        def read(reply: Any) -> Lease | Held:
            token, owner = _pair(reply)
            if not token:
                return Held(room, owner)
            return Lease(room, self.owner, token, valid_until(asked_at, self.seconds))

        return await self.link.call(
            "lease.acquire", "EVAL", _ACQUIRE, 3, lease_key, fence_key, DIRECTORY,
            self.owner, self._ms, room, read=read, room=room,
        )  # fmt: skip

    async def renew(
        self, lease: Lease, asked_at: float, lobby: dict[str, Any] | None = None
    ) -> StoreResult[Lease | None]:
        """Keep ``lease`` for another term, and show ``lobby`` in the lobby for as long; the
        value is None if it is no longer ours (it expired and perhaps went to another: stop
        changing the room)."""
        lease_key, _, _, lobby_key = _keys(lease.room)

        def read(reply: Any) -> Lease | None:
            if _number(reply) == 0:
                return None
            return Lease(lease.room, lease.owner, lease.token, valid_until(asked_at, self.seconds))

        return await self.link.call(
            "lease.renew", "EVAL", _RENEW, 2, lease_key, lobby_key,
            f"{lease.owner}:{lease.token}", self._ms, json.dumps(lobby or {}),
            read=read, room=lease.room,
        )  # fmt: skip

    async def release(self, lease: Lease) -> StoreResult[bool]:
        """Give the room up (a graceful stop), if the lease is still ours: out of the
        directory and the lobby at once, rather than when the lease runs out."""
        lease_key, _, _, lobby_key = _keys(lease.room)
        return await self.link.call(
            "lease.release", "EVAL", _RELEASE, 3, lease_key, lobby_key, DIRECTORY,
            f"{lease.owner}:{lease.token}", lease.room, lease.owner,
            read=lambda reply: _number(reply) == 1, room=lease.room,
        )  # fmt: skip

    async def save(self, lease: Lease, snapshot: bytes) -> StoreResult[bool]:
        """Write the room's snapshot under ``lease``'s token; False: refused, a newer owner
        has the room (the caller must stop changing it)."""
        _, fence_key, room_key, _ = _keys(lease.room)
        return await self.link.call(
            "snapshot.save", "EVAL", _SAVE, 2, fence_key, room_key, lease.token, snapshot,
            read=lambda reply: _number(reply) == 1, room=lease.room,
        )  # fmt: skip

    async def load(self, room: str) -> StoreResult[tuple[int, bytes] | None]:
        """The room's last snapshot and the token that wrote it; None if it has none."""
        _, _, room_key, _ = _keys(room)

        def read(reply: Any) -> tuple[int, bytes] | None:
            if not isinstance(reply, list) or len(reply) != 2:
                raise BadReply(f"expected [token, snapshot], got {reply!r:.80}")
            token, snapshot = reply
            if snapshot is None:
                return None
            return _number(token), bytes(snapshot)

        return await self.link.call(
            "snapshot.load", "HMGET", room_key, "token", "snapshot", read=read, room=room
        )

    async def lobby(self, *, games: bool = False) -> StoreResult[list[tuple[str, bytes]]]:
        """Each room's lobby entry (JSON) as its holder last renewed it, and with ``games``
        its last saved game if it has players (else empty bytes)."""

        def read(reply: Any) -> list[tuple[str, bytes]]:
            if not isinstance(reply, list) or (games and len(reply) % 2):
                raise BadReply(f"expected a list of entries, got {reply!r:.80}")
            if not games:
                return [(_text(entry), b"") for entry in reply]
            return [
                (_text(entry), _bytes(game))
                for entry, game in zip(reply[::2], reply[1::2], strict=True)
            ]

        return await self.link.call(
            "lobby.read", "EVAL", _LOBBY, 1, DIRECTORY, int(games), read=read
        )

    async def directory(self) -> StoreResult[dict[str, str]]:
        """Which server holds each room, as the directory says."""

        def read(reply: Any) -> dict[str, str]:
            if not isinstance(reply, list) or len(reply) % 2:
                raise BadReply(f"expected a hash's fields and values, got {reply!r:.80}")
            items = [_text(item) for item in reply]
            return dict(zip(items[::2], items[1::2], strict=True))

        return await self.link.call("directory.read", "HGETALL", DIRECTORY, read=read)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, str):
        return value
    raise BadReply(f"expected a string, got {value!r:.80}")


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    raise BadReply(f"expected a string, got {value!r:.80}")


def _number(value: Any) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, bytes) and value.isdigit():
        return int(value)
    raise BadReply(f"expected a number, got {value!r:.80}")


def _pair(reply: Any) -> tuple[int, str]:
    if not isinstance(reply, list) or len(reply) != 2:
        raise BadReply(f"expected [token, owner], got {reply!r:.80}")
    return _number(reply[0]), _text(reply[1])
