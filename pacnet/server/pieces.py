"""What is on a board: pieces, their kinds and directions, and how fast they go. No I/O."""

from dataclasses import dataclass

from pacnet.protocol.motion import OPPOSITE as OPPOSITE  # the rules of motion both sides share
from pacnet.protocol.motion import STEPS as STEPS
from pacnet.server.layout import Tile

PACMAN = ":pacman"
GHOST = ":ghost"
PELLET = ":pellet"
ENERGIZER = ":energizer"
KINDS = (PACMAN, GHOST, PELLET, ENERGIZER)

LIVES = 3
"""Lives a new game starts with (the arcade's default)."""

FULL_SPEED = 75.75757625 / 8
"""The arcade's 100% speed in tiles per second: 75.76 pixels a second, 8 pixels a tile
(The Pac-Man Dossier, "Speed")."""


@dataclass(frozen=True, kw_only=True)
class Speeds:
    """How fast pieces go, in tiles per second: the arcade's level-1 fractions of full speed."""

    pacman: float = 0.80 * FULL_SPEED
    ghost: float = 0.75 * FULL_SPEED
    ghost_tunnel: float = 0.40 * FULL_SPEED
    ghost_frightened: float = 0.50 * FULL_SPEED
    eyes: float = 1.50 * FULL_SPEED
    """Eyes hurrying home: fast in the arcade too, but this figure is pacnet's choice."""


@dataclass(slots=True)
class Piece:
    """One thing on the board. ``owner`` is the user id of a pac-man, else None."""

    name: str
    kind: str
    x: int
    y: int
    owner: str | None = None
    heading: str = "left"
    moving: bool = False
    offset: float = 0.0
    """Tiles past the centre of (x, y) along ``heading``, in [-0.5, 0.5)."""
    wanted: str | None = None
    """The direction the player steers toward, taken at the next tile where it is legal."""
    score: int = 0
    lives: int = LIVES
    waiting: bool = False
    """A ghost held in the house until the dots eaten (or a quiet spell) release it."""
    state: str = "normal"
    """A ghost's: ``normal``, ``frightened`` (blue, edible), or ``eyes`` (eaten, going home)."""
    last_seq: int | None = None
    """A pac-man's: the highest numbered move applied to it (None: no numbered move yet)."""

    @property
    def tile(self) -> Tile:
        return (self.x, self.y)


def pacman_name(owner: str) -> str:
    """The name of ``owner``'s pac-man on the board."""
    return f"pacman-{owner}"
