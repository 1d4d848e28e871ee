"""A group's rooms kept in Redis: the ``Keeper`` a board server of a cluster uses
(``pacnet.server.keeper`` says what a keeper is for; ``pacnet.cluster.lease``, how leases,
fencing tokens and snapshots sit in Redis).

Every method makes remote calls (``pacnet.cluster.link``), and each call ends in one of the
article's five outcomes. What the server does on each is decided here:

    call              SUCCESS              POST_FAILED / RETRYABLE    FATAL         UNKNOWN
    ---------------   ------------------   ------------------------   -----------   -----------
    claim: acquire    open the room, or    refuse the player (503):   refuse        refuse: the
    the lease         refuse: held by S    nothing was taken, try     (503), log    lease may be
                                           again                                    ours now; a
                                                                                    retry finds
                                                                                    out (acquire
                                                                                    is ours to
                                                                                    repeat)
    claim: load the   open it as saved     refuse: the lease runs     refuse        refuse
    snapshot                               out, or a retry renews it
    renew             valid one more       valid until the last       as POST_      as POST_
                      term; or lost: send  success's term ends, then  FAILED        FAILED: it
                      its players away     send them away                           may have
                                                                                    lost the
                                                                                    room, so it
                                                                                    stops when
                                                                                    it can no
                                                                                    longer know
    save              saved; or refused    unhealthy (/healthz 503)   unhealthy     unhealthy:
                      (another holds it):  until a save succeeds                    it may not
                      send players away                                             be saved
    release           out of the           the lease runs out by      (same)        (same)
                      directory at once    itself within a term

A claim refused is never a player's lost game: the room is where it was, and the player's
client reconnects (with the backoff every pacnet client has) until it is let in. A room whose
term ends unrenewed is saved on its way out (it has not changed since, and the fence refuses
the save if another server has it), so when the renewal was only lost, not refused, the
player who comes back finds the room claimed again by the same server, as it was.
"""

import json
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from pacnet.cluster.config import LEASE
from pacnet.cluster.lease import Held, Lease, Leases
from pacnet.cluster.link import StoreLink, StoreResult
from pacnet.faults.engine import FaultSet
from pacnet.protocol.lobby import LobbyRoom, leaders_of
from pacnet.protocol.outcome import Outcome
from pacnet.server.keeper import Claim, Kept, RoomUnavailable
from pacnet.server.pieces import PACMAN
from pacnet.server.store import SCHEMA, Saved, StateError


class RedisKeeper:
    """The rooms of a group, their leases and their snapshots, in one Redis.

    The lobby's reads go over a connection of their own (``StoreLink.twin``): a crowd asking
    the lobby reads every populated room's game, and a lease renewal queued behind those reads
    on one connection could come too late and lose the server its rooms.

    Args:
        link: the calls to Redis: leases and snapshots (the lobby's reads go on its twin).
        name: this server's name in the group (no ``:``).
        lease: seconds a lease lasts unless renewed.
    """

    def __init__(self, link: StoreLink, name: str, lease: float = LEASE) -> None:
        self.link = link
        self.name = name
        self.leases = Leases(link, name, lease)
        self.reads = Leases(link.twin(), name, lease)
        """The lobby's reads, on a connection of their own."""
        self.renew_every = lease / 4
        self._held: dict[str, Lease] = {}

    async def claim(self, room: str, layout: str, now: float) -> Claim:
        """Take ``room``'s lease and read its snapshot.

        Raises:
            RoomUnavailable: another server holds it, or Redis did not say yes.
            StateError: its snapshot is of another layout or version.
        """
        taken = await self.leases.acquire(room, now)
        if not taken.ok:
            raise RoomUnavailable(_why(taken, f"room {room} cannot be claimed"))
        lease = taken.value
        if isinstance(lease, Held):
            raise RoomUnavailable(f"room {room} is held by {lease.owner}: reconnect", lease.owner)
        assert lease is not None
        self._held[room] = lease
        loaded = await self.leases.load(room)
        if not loaded.ok:
            raise RoomUnavailable(_why(loaded, f"room {room}'s saved game cannot be read"))
        saved = None if loaded.value is None else _game_of(room, layout, loaded.value[1])
        return Claim(saved, lease.valid_until)

    async def renew(self, rooms: Sequence[tuple[str, LobbyRoom]], now: float) -> Kept:
        renewed: dict[str, float] = {}
        lost: list[str] = []
        for room, entry in rooms:
            lease = self._held.get(room)
            if lease is None:
                lost.append(room)
                continue
            result = await self.leases.renew(lease, now, entry.model_dump(by_alias=True))
            if result.ok and result.value is None:
                lost.append(room)
                del self._held[room]
            elif result.ok and result.value is not None:
                self._held[room] = result.value
                renewed[room] = result.value.valid_until
        return Kept(renewed, lost)

    async def save(self, saves: Sequence[Saved]) -> tuple[list[str], str | None]:
        refused: list[str] = []
        failure: str | None = None
        for save in saves:
            lease = self._held.get(save.room)
            if lease is None:
                refused.append(save.room)
                continue
            data = {"schema": SCHEMA, "layout": save.layout, "game": save.game}
            result = await self.leases.save(lease, json.dumps(data, separators=(",", ":")).encode())
            if result.ok and not result.value:
                refused.append(save.room)
            elif not result.ok:
                failure = _why(result, f"room {save.room}'s game was not saved")
        return refused, failure

    async def release(self, room: str) -> None:
        lease = self._held.pop(room, None)
        if lease is not None:
            await self.leases.release(lease)  # if it fails, the lease runs out by itself

    async def lobby(self, *, leaders: bool = True) -> list[LobbyRoom] | None:
        read = await self.reads.lobby(games=leaders)
        if not read.ok or read.value is None:
            return None
        rooms = []
        for entry, game in read.value:
            try:
                room = LobbyRoom.model_validate_json(entry)
            except ValidationError:
                continue  # another version's entry: not this lobby's to show
            if game:
                room = room.model_copy(update={"leaders": leaders_of(_players(game))})
            rooms.append(room)
        return rooms

    def attach(self, faults: FaultSet) -> None:
        self.link.faults = self.reads.link.faults = faults

    async def close(self) -> None:
        await self.link.close()
        await self.reads.link.close()


def _why(result: StoreResult[Any], what: str) -> str:
    """One line for a player or an operator: what failed, and the call's outcome."""
    hint = {
        Outcome.POST_FAILED: "nothing was done; try again",
        Outcome.RETRYABLE: "Redis said not now; try again",
        Outcome.FATAL: "Redis refused it",
        Outcome.UNKNOWN: "whether it was done is unknown; try again",
    }.get(result.outcome, "")
    return f"{what}: {result.call} ended {result.outcome.value} ({result.message}); {hint}"


def _players(snapshot: bytes) -> list[tuple[str, int]]:
    """Every pac-man in a saved game and its score (none if it cannot be read: the lobby
    still lists the room)."""
    try:
        board = json.loads(snapshot)["game"]["board"]
        pieces = [*board["pieces"], *(piece for piece, _ in board["down"])]
        return [(p["name"], int(p["score"])) for p in pieces if p["kind"] == PACMAN]
    except (ValueError, KeyError, TypeError):
        return []


def _game_of(room: str, layout: str, snapshot: bytes) -> dict[str, Any]:
    """The saved game in ``snapshot``, checked as the SQLite store checks its own.

    Raises:
        StateError: it is unreadable, of another version, or of another layout.
    """
    try:
        data = json.loads(snapshot)
        schema, saved_layout, game = data["schema"], data["layout"], data["game"]
    except (ValueError, KeyError, TypeError) as exc:
        raise StateError(f"room {room}'s snapshot in Redis is unreadable: {exc}") from exc
    if schema != SCHEMA:
        raise StateError(f"room {room}'s snapshot in Redis is of another version ({schema})")
    if saved_layout != layout:
        raise StateError(
            f"room {room}'s snapshot in Redis is on the {saved_layout!r} maze, not {layout!r}"
        )
    if not isinstance(game, dict):
        raise StateError(f"room {room}'s snapshot in Redis holds no game")
    return game
