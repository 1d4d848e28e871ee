"""The rooms one server holds: each a board and a game of its own, behind its own request
path (``pacnet.protocol.rooms`` says where each answers).

    Room    one named board: its game (users, keepalive table, throttle, idempotency memory,
            the players' reports), the pipeline its requests take, what the server really did
            with them (``Truth``), and its read-only feeds
    Rooms   the rooms open, by name, up to ``max_rooms``: a room opens on the first
            connection to its path, and closes once nobody has been in it, or watching it, for
            ``idle_after`` seconds (a single server's default room never closes)

What rooms share is the server's: the event loop and its tick, the admission of requests (one
loop: when it is saturated every room is), the fault set (a fault may name one room), the
connection limits, the admin token.

Pure: the caller makes rooms (their board, their saved game) and adds them; it asks which
have been idle with the time as an argument.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from math import inf
from typing import Any

from pacnet.protocol.lobby import LobbyRoom, leaders_of
from pacnet.protocol.rooms import DEFAULT_ROOM
from pacnet.server.game import Game
from pacnet.server.pipeline import Pipeline
from pacnet.server.trace import Truth

IDLE_AFTER = 60.0
"""Seconds a room stays open with no user on its board and no connection to it: long enough
for a class to come back from a break, or a fleet to restart, and find the same board; short
enough that rooms bots opened and left do not fill ``max_rooms``."""


@dataclass(eq=False)
class Room:
    """One named board and everything that serves it."""

    name: str
    game: Game
    pipeline: Pipeline
    truth: Truth
    restored: bool = False
    """Its game was resumed from a saved snapshot when it opened."""
    valid_until: float = inf
    """Until when (monotonic seconds) this server may change it: forever on a single server;
    in a group, until its lease runs out unless renewed (``pacnet.server.keeper``)."""
    sockets: set[Any] = field(default_factory=set)
    """Its open connections, players' and feeds' (a projector keeps its room open; the
    players are told to reconnect if the room must go)."""
    idle_since: float | None = None
    """When it last became empty (no users, no connections); None while it is not."""
    feeds: dict[str, Callable[[], str]] = field(default_factory=dict)
    """Its read-only feeds by path within the room (``/keepalive``, ``/board``, ``/room``)."""

    @property
    def empty(self) -> bool:
        return not self.sockets and not self.game.sessions

    def lobby_entry(self, server: str, *, leaders: bool = True) -> LobbyRoom:
        """What the lobby says of it; ``leaders``: with its best players (a group's lobby
        reads them from the saved game instead, so the entry a renewal stores goes without)."""
        board, sessions = self.game.board, self.game.sessions
        best = leaders_of((p.name, p.score) for p in board.pacmen()) if leaders else []
        return LobbyRoom(
            name=self.name, players=len(sessions),
            connected=sum(1 for s in sessions.values() if s.connection is not None),
            capacity=self.game.limits.max_users, clock=board.clock, level=board.level,
            server=server, leaders=best,
        )  # fmt: skip


class RoomsFull(Exception):
    """Every room this server may hold is open, and another was asked for."""


class Rooms:
    """The rooms open on one server, by name.

    Args:
        max_rooms: rooms open at once, the default room included.
        idle_after: seconds an empty room stays open.
        keep_default: the default room never closes (a single server's; in a group it is a
            room like any other).
    """

    def __init__(
        self, max_rooms: int, *, idle_after: float = IDLE_AFTER, keep_default: bool = True
    ) -> None:
        self.max_rooms = max_rooms
        self.keep_default = keep_default
        self.idle_after = idle_after
        self._open: dict[str, Room] = {}

    def __iter__(self) -> Iterator[Room]:
        return iter(list(self._open.values()))

    def __len__(self) -> int:
        return len(self._open)

    def get(self, name: str) -> Room | None:
        return self._open.get(name)

    def check_space(self) -> None:
        """Whether another room may open here.

        Raises:
            RoomsFull: ``max_rooms`` are open.
        """
        if len(self._open) >= self.max_rooms:
            raise RoomsFull(
                f"this server holds its most rooms ({self.max_rooms}); join one of them "
                "(GET /lobby lists them) or try again later"
            )

    def add(self, room: Room) -> Room:
        """Open ``room`` (made by the caller, once ``check_space`` said there is space)."""
        self._open[room.name] = room
        return room

    def remove(self, name: str) -> Room | None:
        """Close the room called ``name`` at once (it must go: another server holds it)."""
        return self._open.pop(name, None)

    def idle(self, now: float) -> list[Room]:
        """Note which rooms are empty at ``now``; returns (and forgets) those empty for
        ``idle_after``: the caller saves and closes them."""
        closing = []
        for room in list(self._open.values()):
            if not room.empty:
                room.idle_since = None
            elif room.idle_since is None:
                room.idle_since = now
            elif now - room.idle_since >= self.idle_after and not (
                self.keep_default and room.name == DEFAULT_ROOM
            ):
                closing.append(self._open.pop(room.name))
        return closing

    def users(self) -> int:
        """Users on every room's board."""
        return sum(len(room.game.sessions) for room in self._open.values())
