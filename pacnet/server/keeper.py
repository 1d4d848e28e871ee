"""Where a group of servers keeps its rooms, and who may change each: what a board server
needs of a cluster's store (``pacnet.cluster.keeper`` is the one in Redis).

A single server keeps its rooms itself (``pacnet.server.store``: a SQLite file, or nowhere)
and may always change them. In a group, a room may be changed by one server at a time: the
one holding its lease. So before a server opens a room it ``claim``s it, and it may change
the room only until the claim's ``valid_until`` on its own clock, which each ``renew`` moves
on. A server that cannot renew stops changing the room at that moment, whatever it believes
happened to its renewal, and tells the room's players to reconnect (they find the room's new
holder through the load balancer).

What the server does on each outcome of its own calls to the store is decided here, by the
keeper, and written beside each method.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pacnet.faults.engine import FaultSet
from pacnet.protocol.lobby import LobbyRoom
from pacnet.server.store import Saved


@dataclass(frozen=True)
class Claim:
    """A room this server may change until ``valid_until`` (its own monotonic clock)."""

    saved: dict[str, Any] | None
    """The room's saved game, or None: a new room."""
    valid_until: float


class RoomUnavailable(Exception):
    """This server cannot open the room now; the message says why, in words for a player.

    Args:
        message: why.
        holder: the server that holds it, when that is why.
    """

    def __init__(self, message: str, holder: str | None = None) -> None:
        super().__init__(message)
        self.holder = holder


@dataclass(frozen=True)
class Kept:
    """What a round of renewals found: new ``valid_until`` by room, and the rooms lost."""

    renewed: dict[str, float]
    lost: list[str]
    """Rooms another server now holds: stop changing them at once."""


class Keeper(Protocol):
    """A group's store of rooms, as a board server uses it."""

    name: str
    """This server's name in the group (the lobby and the directory show it)."""
    renew_every: float
    """Seconds between rounds of renewals."""

    async def claim(self, room: str, layout: str, now: float) -> Claim:
        """Take ``room`` for this server and read its saved game.

        Raises:
            RoomUnavailable: another server holds it, or the store cannot say.
            StateError: its saved game is on another layout or unreadable.
        """
        ...

    async def renew(self, rooms: Sequence[tuple[str, LobbyRoom]], now: float) -> Kept:
        """Renew the claim on each room (and show its lobby entry for as long)."""
        ...

    async def save(self, saves: Sequence[Saved]) -> tuple[list[str], str | None]:
        """Save each room's game; returns the rooms whose save the store refused because
        another server holds them now, and why the others failed, if they did."""
        ...

    async def release(self, room: str) -> None:
        """Give ``room`` up (it closed, or the server stops)."""
        ...

    async def lobby(self, *, leaders: bool = True) -> list[LobbyRoom] | None:
        """Every room in the group, or None when the store cannot say; with ``leaders``,
        each with its best players as its last saved game has them (the catalog's work:
        every room's game read from the store)."""
        ...

    def attach(self, faults: FaultSet) -> None:
        """Let this server's fault set break its calls to the store (fault injection)."""
        ...

    async def close(self) -> None: ...
