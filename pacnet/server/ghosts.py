"""The four ghosts' minds, as in the arcade: where each one aims, and how it turns. No I/O.

Source: Jamey Pittman, "The Pac-Man Dossier" (chapter "Ghost Behavior" / "Meet the
Ghosts"; see docs/game.md). Coordinates are maze tiles (column, row) with the origin at the
top-left of the 28 x 31 maze; the arcade's screen has three rows above the maze, which is
why the scatter targets of Blinky and Pinky sit at row -3.

- Blinky aims at pac-man's tile.
- Pinky aims four tiles ahead of pac-man. Facing up, the arcade's target is also four tiles
  to the left (an overflow bug in the original code, kept: it is how Pinky behaves).
- Inky takes the tile two ahead of pac-man (with the same bug facing up), draws the vector
  from Blinky to it, and doubles it.
- Clyde aims at pac-man while eight tiles or more away, and at his scatter corner when nearer.

At each tile a ghost picks, among the ways that are not walls and not straight back, the one
whose next tile is nearest its target (straight-line distance), ties going up, left, down,
right in that order. Ghosts never reverse except when their mode changes.
"""

import random
from collections.abc import Callable, Collection
from dataclasses import dataclass
from enum import Enum

from pacnet.server.layout import Layout, Tile
from pacnet.server.pieces import Piece

DIRECTIONS = ("up", "left", "down", "right")
"""The arcade's tie-break order."""
VECTORS: dict[str, Tile] = {"up": (0, -1), "left": (-1, 0), "down": (0, 1), "right": (1, 0)}
REVERSE = {"up": "down", "down": "up", "left": "right", "right": "left"}

SCATTER_TARGETS: dict[str, Tile] = {
    "blinky": (25, -3),
    "pinky": (2, -3),
    "inky": (27, 32),
    "clyde": (0, 32),
}
"""Fixed tiles outside the maze's corners, one per ghost: each circles its own corner."""

RELEASE_DOTS = {"inky": 30, "clyde": 60}
"""Dots eaten on a level before each ghost leaves the house (level 1; Blinky and Pinky leave
at once). The Dossier's "ghost house" section."""
RELEASE_QUIET_SECONDS = 4.0
"""With no dot eaten for this long, the next ghost still waiting is released anyway."""

CLYDE_SHY_DISTANCE = 8
"""Tiles from pac-man within which Clyde gives up the chase for his corner."""


class Mode(Enum):
    """What the ghosts are doing: the timer alternates scatter and chase; an energizer
    frightens them."""

    SCATTER = "scatter"
    CHASE = "chase"
    FRIGHTENED = "frightened"


def ahead(tile: Tile, heading: str, tiles: int) -> Tile:
    """The tile ``tiles`` ahead of ``tile`` facing ``heading``, with the arcade's up bug."""
    dx, dy = VECTORS[heading]
    x, y = tile[0] + dx * tiles, tile[1] + dy * tiles
    if heading == "up":
        x -= tiles  # the original's overflow: facing up also shifts the target left
    return (x, y)


def chase_target(name: str, pacman: Tile, pacman_heading: str, me: Tile, blinky: Tile) -> Tile:
    """Where the ghost ``name`` at ``me`` aims in chase mode."""
    if name == "blinky":
        return pacman
    if name == "pinky":
        return ahead(pacman, pacman_heading, 4)
    if name == "inky":
        pivot = ahead(pacman, pacman_heading, 2)
        return (2 * pivot[0] - blinky[0], 2 * pivot[1] - blinky[1])
    if name == "clyde":
        near = distance_squared(me, pacman) < CLYDE_SHY_DISTANCE**2
        return SCATTER_TARGETS["clyde"] if near else pacman
    raise ValueError(f"no ghost called {name!r}")


def distance_squared(a: Tile, b: Tile) -> int:
    """Straight-line distance squared, as the arcade compares it."""
    return (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2


def choose_direction(
    tile: Tile, heading: str, target: Tile, passable: Callable[[Tile], bool]
) -> str:
    """The way a ghost at ``tile`` heading ``heading`` turns to get nearer ``target``.

    ``passable(tile)`` says where this ghost may go (walls never; the house door only when
    leaving the house or returning as eyes). Reversing is a last resort, for a dead end.
    """
    best: tuple[int, int] | None = None
    choice = REVERSE[heading]
    for rank, direction in enumerate(DIRECTIONS):
        if direction == REVERSE[heading]:
            continue
        dx, dy = VECTORS[direction]
        step = (tile[0] + dx, tile[1] + dy)
        if not passable(step):
            continue
        score = (distance_squared(step, target), rank)
        if best is None or score < best:
            best, choice = score, direction
    return choice


@dataclass(frozen=True)
class ModeSchedule:
    """Scatter and chase phases in seconds, alternating from scatter; the last chase lasts."""

    phases: tuple[float, ...] = (7, 20, 7, 20, 5, 20, 5)
    """Level 1 of the arcade: scatter 7 s, chase 20 s, twice; scatter 5 s, chase 20 s,
    scatter 5 s; then chase for good (the Dossier's table of scatter/chase times)."""

    def mode_at(self, seconds: float) -> Mode:
        """The timer's mode ``seconds`` after the level (or a life) started."""
        elapsed = 0.0
        for index, length in enumerate(self.phases):
            elapsed += length
            if seconds < elapsed:
                return Mode.SCATTER if index % 2 == 0 else Mode.CHASE
        return Mode.CHASE


def pilot_ghost(
    ghost: Piece,
    layout: Layout,
    mode: Mode,
    pacmen: Collection[Piece],
    blinky: Piece | None,
    rng: random.Random,
) -> None:
    """At a tile centre, set ``ghost``'s heading by its state: eyes go home and revive in the
    house; in the house a ghost heads out; frightened ones turn at random (``rng``); the
    rest aim at their target for ``mode``."""
    home = layout.house_exit
    if ghost.state == "eyes" and home is not None:
        if ghost.tile in layout.house:
            ghost.state = "normal"  # home: revived, and it leaves again like the others
        else:
            at_door = ghost.tile == home or ghost.tile in layout.doors
            target = house_entry(layout) if at_door else home
            ghost.heading = choose_direction(
                ghost.tile, ghost.heading, target, passable(layout, doors=True)
            )
            return
    if ghost.waiting:  # bob up and down in the house until released
        if ghost.heading not in ("up", "down"):
            ghost.heading = "up"
        if not passable(layout, doors=False)(_step(ghost.tile, ghost.heading)):
            ghost.heading = REVERSE[ghost.heading]
        return
    if in_house(layout, ghost.tile) and home is not None:
        ghost.heading = choose_direction(
            ghost.tile, ghost.heading, home, passable(layout, doors=True)
        )
    elif ghost.state == "frightened":
        back, open_to = REVERSE[ghost.heading], passable(layout, doors=False)
        ways = [d for d in DIRECTIONS if d != back and open_to(_step(ghost.tile, d))]
        ghost.heading = rng.choice(ways) if ways else back
    else:
        target = ghost_target(ghost, mode, pacmen, blinky)
        ghost.heading = choose_direction(
            ghost.tile, ghost.heading, target, passable(layout, doors=False)
        )


def ghost_target(ghost: Piece, mode: Mode, pacmen: Collection[Piece], blinky: Piece | None) -> Tile:
    """Where ``ghost`` aims: its corner in scatter (or with no pac-man about), else by its
    personality at the pac-man nearest to it (many pac-men share the board; the arcade had
    one)."""
    if mode is Mode.SCATTER or not pacmen:
        return SCATTER_TARGETS[ghost.name]
    prey = min(pacmen, key=lambda p: distance_squared(p.tile, ghost.tile))
    pivot = (blinky or ghost).tile
    return chase_target(ghost.name, prey.tile, prey.heading, ghost.tile, pivot)


def in_house(layout: Layout, tile: Tile) -> bool:
    """Whether ``tile`` is in the ghost house or its door."""
    return tile in layout.house or tile in layout.doors


def house_entry(layout: Layout) -> Tile:
    """The first house tile past the door, where eyes come back to life."""
    door = min(layout.doors, key=lambda t: (t[1], t[0]))
    exit_x, exit_y = layout.house_exit or door
    return (2 * door[0] - exit_x, 2 * door[1] - exit_y)


def passable(layout: Layout, *, doors: bool) -> Callable[[Tile], bool]:
    """Where a ghost may step: never a wall; the door only if ``doors``."""

    def open_to(tile: Tile) -> bool:
        tile = layout.wrap(tile)
        return not layout.blocks_ghost(tile) and (doors or tile not in layout.doors)

    return open_to


def _step(tile: Tile, direction: str) -> Tile:
    dx, dy = VECTORS[direction]
    return (tile[0] + dx, tile[1] + dy)
