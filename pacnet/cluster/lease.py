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

Each step is one Lua script, so Redis runs it whole, with nothing in between. The owner also
keeps its own clock: its lease is good until the moment it asked for it plus the lease's time,
less a margin (``Lease.valid``), so it stops changing the room before Redis lets anyone else
take it, whatever the network did to the reply.
"""

from dataclasses import dataclass

from redis.asyncio import Redis

MARGIN = 0.2
"""The share of a lease's time its owner gives up at the end: clocks drift and replies come
late, so the owner stops first."""

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
return {token, ARGV[1]}
"""
"""Take the lease if nobody holds it (a new token), or renew it if the caller does (the same
token); else answer who holds it."""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_SAVE = """
if tonumber(redis.call('GET', KEYS[1])) ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[2], 'token', ARGV[1], 'snapshot', ARGV[2])
return 1
"""
"""Write the room's snapshot if the caller's token is the newest handed out: a stale owner's
write is refused here, by the store."""


def valid_until(asked_at: float, seconds: float) -> float:
    """Until when, on its own clock, the owner of a lease of ``seconds`` asked for at
    ``asked_at`` may change the room: less ``MARGIN``, so it stops before Redis lets anyone
    else in."""
    return asked_at + seconds * (1 - MARGIN)


def _keys(room: str) -> tuple[str, str, str]:
    base = f"pacnet:room:{room}"
    return f"{base}:lease", f"{base}:fence", base


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
    """The leases of the rooms, and their snapshots, in one Redis.

    Args:
        redis: a client of it (``redis.asyncio``).
        owner: who asks (a server's name); unique among the servers.
        seconds: how long a lease lasts unless renewed.
    """

    def __init__(self, redis: Redis, owner: str, seconds: float) -> None:
        if ":" in owner:
            raise ValueError("an owner's name has no ':'")
        self.redis, self.owner, self.seconds = redis, owner, seconds
        self._ms = max(1, round(seconds * 1000))

    async def acquire(self, room: str, asked_at: float) -> Lease | Held:
        """Take ``room``'s lease, or renew it if ours; ``asked_at``: the owner's clock just
        before asking (the lease is counted from then, not from the reply)."""
        lease_key, fence_key, _ = _keys(room)
        token, owner = await self.redis.eval(  # type: ignore[misc]
            _ACQUIRE, 2, lease_key, fence_key, self.owner, self._ms
        )
        owner = owner.decode() if isinstance(owner, bytes) else str(owner)
        if not token:
            return Held(room, owner)
        return Lease(room, self.owner, int(token), valid_until(asked_at, self.seconds))

    async def renew(self, lease: Lease, asked_at: float) -> Lease | None:
        """Keep ``lease`` for another term; None if it is no longer ours (it expired and
        perhaps went to another: stop changing the room)."""
        lease_key, _, _ = _keys(lease.room)
        renewed = await self.redis.eval(  # type: ignore[misc]
            _RENEW, 1, lease_key, f"{lease.owner}:{lease.token}", self._ms
        )
        if not renewed:
            return None
        return Lease(lease.room, lease.owner, lease.token, valid_until(asked_at, self.seconds))

    async def release(self, lease: Lease) -> None:
        """Give the room up (a graceful stop), if the lease is still ours."""
        lease_key, _, _ = _keys(lease.room)
        await self.redis.eval(_RELEASE, 1, lease_key, f"{lease.owner}:{lease.token}")  # type: ignore[misc]

    async def save(self, lease: Lease, snapshot: bytes) -> bool:
        """Write the room's snapshot under ``lease``'s token; False: refused, a newer owner
        has the room (the caller must stop changing it)."""
        _, fence_key, room_key = _keys(lease.room)
        saved = await self.redis.eval(  # type: ignore[misc]
            _SAVE, 2, fence_key, room_key, lease.token, snapshot
        )
        return bool(saved)

    async def load(self, room: str) -> tuple[int, bytes] | None:
        """The room's last snapshot and the token that wrote it; None if it has none."""
        _, _, room_key = _keys(room)
        token, snapshot = await self.redis.hmget(room_key, ["token", "snapshot"])  # type: ignore[misc]
        if snapshot is None:
            return None
        return int(token), bytes(snapshot)
