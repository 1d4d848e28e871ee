"""The board: every piece on the maze and the rules that move them. No I/O, no wall clock.

The board advances only when told: ``tick()`` is one step of the board's clock. Randomness
comes from the ``random.Random`` it is given, so a seeded board replays exactly.
"""

import random
from collections.abc import Iterable
from dataclasses import dataclass

from server.layout import GHOST_NAMES, Layout, Tile

PACMAN = ":pacman"
GHOST = ":ghost"
PELLET = ":pellet"
ENERGIZER = ":energizer"
KINDS = (PACMAN, GHOST, PELLET, ENERGIZER)

STEPS: dict[str, Tile] = {"up": (0, -1), "down": (0, 1), "left": (-1, 0), "right": (1, 0)}
OPPOSITE = {"up": "down", "down": "up", "left": "right", "right": "left"}


@dataclass(slots=True)
class Piece:
    """One thing on the board. ``owner`` is the user id of a pac-man, else None."""

    name: str
    kind: str
    x: int
    y: int
    owner: str | None = None
    heading: str = "left"

    @property
    def tile(self) -> Tile:
        return (self.x, self.y)


class Board:
    """The pieces on one maze and the rules that move them.

    Args:
        layout: the maze.
        rng: the source of every random choice the board makes.
        ghost_step_ticks: ghosts move one tile every this many ticks.
    """

    def __init__(self, layout: Layout, rng: random.Random, *, ghost_step_ticks: int = 8) -> None:
        self.layout = layout
        self._rng = rng
        self._ghost_step_ticks = ghost_step_ticks
        self._clock = 0
        self._pieces: dict[str, Piece] = {}
        self._by_kind: dict[str, dict[str, Piece]] = {kind: {} for kind in KINDS}
        self._occupied_food: dict[Tile, Piece] = {}
        for x, y in sorted(layout.pellets):
            self._place(Piece(f"pellet-{x}-{y}", PELLET, x, y))
        for x, y in sorted(layout.energizers):
            self._place(Piece(f"energizer-{x}-{y}", ENERGIZER, x, y))
        for name, (x, y) in zip(GHOST_NAMES, layout.ghost_starts, strict=False):
            self._place(Piece(name, GHOST, x, y, heading="up"))

    @property
    def clock(self) -> int:
        """Ticks since the board was made: monotonic, never goes back."""
        return self._clock

    def get(self, name: str) -> Piece | None:
        """The piece called ``name``, or None."""
        return self._pieces.get(name)

    def all_of(self, kind: str) -> Iterable[Piece]:
        """Every piece of ``kind`` (an unknown kind has none)."""
        by_kind = self._by_kind.get(kind)
        return by_kind.values() if by_kind is not None else ()

    def count(self, kind: str) -> int:
        """How many pieces of ``kind`` are on the board."""
        return len(self._by_kind.get(kind, ()))

    def add_pacman(self, owner: str) -> Piece:
        """Put a new pac-man for ``owner`` on the start tile and return it."""
        x, y = self.layout.pacman_start
        piece = Piece(pacman_name(owner), PACMAN, x, y, owner=owner)
        self._place(piece)
        return piece

    def can_step(self, piece: Piece, direction: str) -> bool:
        """Whether ``piece`` could move one tile in ``direction`` now."""
        return self._target(piece, direction) is not None

    def step(self, piece: Piece, direction: str) -> Piece:
        """Move a pac-man one tile toward ``direction`` if the maze allows, eating any food.

        A step into a wall is legal and leaves the pac-man where it is (as the arcade's
        joystick does). The caller must have checked that ``piece`` is on this board.
        """
        piece.heading = direction
        target = self._target(piece, direction)
        if target is not None:
            piece.x, piece.y = target
            food = self._occupied_food.get(target)
            if food is not None:
                self._take(food)
        return piece

    def remove(self, name: str) -> bool:
        """Take ``name`` off the board; False if it was not on it."""
        piece = self._pieces.get(name)
        if piece is None:
            return False
        self._take(piece)
        return True

    def tick(self) -> None:
        """Advance the board's clock by one tick, moving the ghosts when their turn comes."""
        self._clock += 1
        if self._clock % self._ghost_step_ticks == 0:
            for ghost in self._by_kind[GHOST].values():
                self._wander(ghost)

    def _wander(self, ghost: Piece) -> None:
        """A random walk that never reverses unless it must (the real AI is the game's)."""
        choices = [
            d for d in STEPS if d != OPPOSITE[ghost.heading] and self._target(ghost, d) is not None
        ]
        if not choices and self._target(ghost, OPPOSITE[ghost.heading]) is not None:
            choices = [OPPOSITE[ghost.heading]]
        if choices:
            direction = self._rng.choice(choices)
            ghost.heading = direction
            ghost.x, ghost.y = self._target(ghost, direction) or ghost.tile

    def _target(self, piece: Piece, direction: str) -> Tile | None:
        dx, dy = STEPS[direction]
        tile = self.layout.wrap((piece.x + dx, piece.y + dy))
        blocked = (
            self.layout.blocks_ghost(tile)
            if piece.kind == GHOST
            else self.layout.blocks_pacman(tile)
        )
        return None if blocked else tile

    def _place(self, piece: Piece) -> None:
        self._pieces[piece.name] = piece
        self._by_kind[piece.kind][piece.name] = piece
        if piece.kind in (PELLET, ENERGIZER):
            self._occupied_food[piece.tile] = piece

    def _take(self, piece: Piece) -> None:
        del self._pieces[piece.name]
        del self._by_kind[piece.kind][piece.name]
        if piece.kind in (PELLET, ENERGIZER):
            del self._occupied_food[piece.tile]


def pacman_name(owner: str) -> str:
    """The name of ``owner``'s pac-man on the board."""
    return f"pacman-{owner}"
