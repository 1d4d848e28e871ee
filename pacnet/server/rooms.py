"""The rooms one server holds: each a board and a game of its own, behind its own request
path (``pacnet.protocol.rooms`` says where each answers).

    Room    one named board: its game (users, keepalive table, throttle, idempotency memory,
            the players' reports), the pipeline its requests take, what the server really did
            with them (``Truth``), and its read-only feeds
    Rooms   the rooms open, by name: a room opens on the first connection to its path, up to
            ``max_rooms``, and closes once nobody has been in it, or watching it, for
            ``idle_after`` seconds (the default room never closes)

What rooms share is the server's: the event loop and its tick, the admission of requests (one
loop: when it is saturated every room is), the fault set (a fault may name one room), the
connection limits, the admin token.

Pure: the caller opens and closes rooms with the time as an argument; how a room is made
(its board, its saved game) is the caller's ``make``.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from pacnet.protocol.rooms import DEFAULT_ROOM, LobbyRoom
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
    connections: int = 0
    """Connections open to it now: players', and feeds' (a projector keeps its room open)."""
    restored: bool = False
    """Its game was resumed from a saved snapshot when it opened."""
    idle_since: float | None = None
    """When it last became empty (no users, no connections); None while it is not."""
    feeds: dict[str, Callable[[], str]] = field(default_factory=dict)
    """Its read-only feeds by path within the room (``/keepalive``, ``/board``, ``/room``)."""

    @property
    def empty(self) -> bool:
        return self.connections == 0 and not self.game.sessions

    def lobby_entry(self, server: str) -> LobbyRoom:
        """What the lobby says of it."""
        board, sessions = self.game.board, self.game.sessions
        return LobbyRoom(
            name=self.name, players=len(sessions),
            connected=sum(1 for s in sessions.values() if s.connection is not None),
            capacity=self.game.limits.max_users, clock=board.clock, level=board.level,
            server=server,
        )  # fmt: skip


class RoomsFull(Exception):
    """Every room this server may hold is open, and another was asked for."""


class Rooms:
    """The rooms open on one server, by name.

    Args:
        make: opens a room by name (builds its board; restores its saved game, if any).
        max_rooms: rooms open at once, the default room included.
        idle_after: seconds an empty room stays open.
    """

    def __init__(
        self, make: Callable[[str], Room], max_rooms: int, *, idle_after: float = IDLE_AFTER
    ) -> None:
        self._make = make
        self.max_rooms = max_rooms
        self.idle_after = idle_after
        self._open: dict[str, Room] = {}

    def __iter__(self) -> Iterator[Room]:
        return iter(list(self._open.values()))

    def __len__(self) -> int:
        return len(self._open)

    def get(self, name: str) -> Room | None:
        return self._open.get(name)

    def open(self, name: str) -> Room:
        """The room called ``name``, opened if it is not yet.

        Raises:
            RoomsFull: it is not open, and ``max_rooms`` are.
        """
        room = self._open.get(name)
        if room is None:
            if len(self._open) >= self.max_rooms:
                raise RoomsFull(
                    f"this server holds its most rooms ({self.max_rooms}); join one of them "
                    "(GET /lobby lists them) or try again later"
                )
            room = self._open[name] = self._make(name)
        room.idle_since = None
        return room

    def idle(self, now: float) -> list[Room]:
        """Note which rooms are empty at ``now``; returns (and forgets) those empty for
        ``idle_after``: the caller saves and closes them."""
        closing = []
        for room in list(self._open.values()):
            if not room.empty:
                room.idle_since = None
            elif room.idle_since is None:
                room.idle_since = now
            elif now - room.idle_since >= self.idle_after and room.name != DEFAULT_ROOM:
                closing.append(self._open.pop(room.name))
        return closing

    def users(self) -> int:
        """Users on every room's board."""
        return sum(len(room.game.sessions) for room in self._open.values())
