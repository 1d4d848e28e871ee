"""Maze layouts as text files, parsed into a plain immutable ``Layout``.

One character per tile, one line per row, every row the same width:

    #  wall                      .  pellet          o  energizer
    (space) or _  empty floor    P  pac-man start   G  ghost start (blinky, pinky, inky, clyde)
    -  ghost-house door (ghosts pass, pac-men do not)

``_`` is floor too, for the ends of rows where an editor would strip a trailing space.
Lines starting with ``;`` are comments. A row that is open at both ends is a tunnel: moving
off one side enters at the other.
"""

import argparse
from collections import deque
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path

Tile = tuple[int, int]
"""(column, row), origin at the top-left."""

GHOST_NAMES = ("blinky", "pinky", "inky", "clyde")

_KNOWN = frozenset("#. o_PG-")


class LayoutError(ValueError):
    """A layout file that cannot be a maze; the message names the file and line."""


SPAWN_SPACING = 2
"""Steps along the corridors between two pac-men's starting tiles: a tile between their names."""
SPAWNS = 48
"""Starting tiles a maze offers; more pac-men than that share them."""


@dataclass(frozen=True)
class Layout:
    """The static shape of a maze: what never changes while a game runs."""

    name: str
    width: int
    height: int
    walls: frozenset[Tile]
    doors: frozenset[Tile]
    pellets: frozenset[Tile]
    energizers: frozenset[Tile]
    pacman_start: Tile
    ghost_starts: tuple[Tile, ...]
    tunnels: frozenset[Tile] = frozenset()
    """Tiles of the side tunnels, where ghosts slow down: on a row open at both edges, the
    empty floor running in from each edge."""
    house: frozenset[Tile] = frozenset()
    """The ghost house: tiles ghosts start on that pac-man's part of the maze cannot reach
    without passing a door, and the floor around them."""
    house_exit: Tile | None = None
    """The tile just outside the house's door, where a ghost leaving the house heads."""

    def rows(self) -> tuple[str, ...]:
        """The maze as a client draws it: ``#`` wall, ``-`` door, space open."""
        return self._rows

    @cached_property
    def _rows(self) -> tuple[str, ...]:
        # Made once: every join's reply and every board-feed snapshot carry it (a third of a
        # millisecond for the classic maze, each time).
        return tuple(
            "".join(
                "#" if (x, y) in self.walls else "-" if (x, y) in self.doors else " "
                for x in range(self.width)
            )
            for y in range(self.height)
        )

    @cached_property
    def spawns(self) -> tuple[Tile, ...]:
        """Where pac-men start: the start itself first, then open tiles ever further from it
        along the corridors, ``SPAWN_SPACING`` steps apart (never in the ghosts' house or a
        tunnel). A new pac-man takes the first one free, so a room that joins at once stands
        apart and its names can be read."""
        start = self.pacman_start
        steps = {start: 0}
        queue = deque([start])
        while queue:
            x, y = tile = queue.popleft()
            for near in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
                inside = 0 <= near[0] < self.width and 0 <= near[1] < self.height
                if not inside or near in steps or self.blocks_pacman(near):
                    continue
                if near in self.house or near in self.tunnels:
                    continue
                steps[near] = steps[tile] + 1
                queue.append(near)
        spread = [tile for tile, n in steps.items() if n % SPAWN_SPACING == 0]
        return tuple(spread[:SPAWNS])

    def blocks_pacman(self, tile: Tile) -> bool:
        """Whether a pac-man may not stand on ``tile``."""
        return tile in self.walls or tile in self.doors

    def blocks_ghost(self, tile: Tile) -> bool:
        """Whether a ghost may not stand on ``tile``."""
        return tile in self.walls

    def wrap(self, tile: Tile) -> Tile:
        """The tile itself, or its mirror across the board's edge for a tunnel exit."""
        x, y = tile
        return (x % self.width, y % self.height)


def parse_layout(text: str, name: str = "<string>") -> Layout:
    """Parse a layout's text.

    Raises:
        LayoutError: the text is not a maze; the message names ``name`` and the line.
    """
    rows: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith(";") or (not rows and not line.strip()):
            continue
        rows.append((number, line))
    while rows and not rows[-1][1].strip():
        rows.pop()
    if not rows:
        raise LayoutError(f"{name}: the layout has no rows")

    width = len(rows[0][1])
    walls: set[Tile] = set()
    doors: set[Tile] = set()
    pellets: set[Tile] = set()
    energizers: set[Tile] = set()
    pacman_starts: list[Tile] = []
    ghost_starts: list[Tile] = []
    by_char = {"#": walls, "-": doors, ".": pellets, "o": energizers}
    for y, (number, line) in enumerate(rows):
        if len(line) != width:
            raise LayoutError(
                f"{name}, line {number}: row is {len(line)} tiles wide, expected {width} "
                "(every row must be as wide as the first; write _ for trailing floor)"
            )
        for x, char in enumerate(line):
            if char not in _KNOWN:
                raise LayoutError(f"{name}, line {number}, column {x + 1}: unknown tile {char!r}")
            if char in by_char:
                by_char[char].add((x, y))
            elif char == "P":
                pacman_starts.append((x, y))
            elif char == "G":
                ghost_starts.append((x, y))

    last_line = rows[-1][0]
    if len(pacman_starts) != 1:
        raise LayoutError(
            f"{name}, line {last_line}: expected exactly one pac-man start 'P', "
            f"found {len(pacman_starts)}"
        )
    if len(ghost_starts) > len(GHOST_NAMES):
        raise LayoutError(
            f"{name}, line {last_line}: at most {len(GHOST_NAMES)} ghost starts 'G', "
            f"found {len(ghost_starts)}"
        )
    floor = {(x, y) for y, (_, line) in enumerate(rows) for x, c in enumerate(line) if c in " _"}
    house = _house(walls | doors, ghost_starts, pacman_starts[0], width, len(rows))
    return Layout(
        tunnels=_tunnels(floor, width, len(rows)),
        house=house,
        house_exit=_house_exit(house, doors),
        name=name,
        width=width,
        height=len(rows),
        walls=frozenset(walls),
        doors=frozenset(doors),
        pellets=frozenset(pellets),
        energizers=frozenset(energizers),
        pacman_start=pacman_starts[0],
        ghost_starts=tuple(ghost_starts),
    )


def _tunnels(floor: set[Tile], width: int, height: int) -> frozenset[Tile]:
    tunnels: set[Tile] = set()
    for y in range(height):
        if (0, y) not in floor or (width - 1, y) not in floor:
            continue
        for start, step in ((0, 1), (width - 1, -1)):
            x = start
            while 0 <= x < width and (x, y) in floor:
                tunnels.add((x, y))
                x += step
    return frozenset(tunnels)


def _region(start: Tile, blocked: set[Tile], width: int, height: int) -> set[Tile]:
    seen, todo = {start}, [start]
    while todo:
        x, y = todo.pop()
        for dx, dy in ((0, 1), (0, -1), (1, 0), (-1, 0)):
            tile = ((x + dx) % width, (y + dy) % height)
            if tile not in seen and tile not in blocked:
                seen.add(tile)
                todo.append(tile)
    return seen


def _house(
    blocked: set[Tile], ghost_starts: list[Tile], pacman_start: Tile, width: int, height: int
) -> frozenset[Tile]:
    house: set[Tile] = set()
    for start in ghost_starts:
        region = _region(start, blocked, width, height)
        if pacman_start not in region:
            house |= region
    return frozenset(house)


def _house_exit(house: frozenset[Tile], doors: set[Tile]) -> Tile | None:
    """The tile beyond the first door (reading order), away from the house."""
    for x, y in sorted(doors, key=lambda t: (t[1], t[0])):
        for dx, dy in ((0, 1), (0, -1), (1, 0), (-1, 0)):
            if (x - dx, y - dy) in house and (x + dx, y + dy) not in doors:
                return (x + dx, y + dy)
    return None


def builtin_layouts() -> list[str]:
    """Names of the layouts shipped with pacnet."""
    folder = resources.files("pacnet.server") / "layouts"
    return sorted(p.name.removesuffix(".txt") for p in folder.iterdir() if p.name.endswith(".txt"))


def load_layout(name_or_path: str) -> Layout:
    """Load a shipped layout by name (``small``) or any layout file by path.

    Raises:
        LayoutError: no such layout, or the file is not a maze.
    """
    shipped = resources.files("pacnet.server") / "layouts" / f"{name_or_path}.txt"
    if shipped.is_file():
        return parse_layout(shipped.read_text(encoding="utf-8"), name_or_path)
    path = Path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        known = ", ".join(builtin_layouts())
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise LayoutError(
            f"no layout {name_or_path!r}: not a shipped layout ({known}) "
            f"and not a readable file ({reason})"
        ) from None
    return parse_layout(text, str(path))


def layout_argument(text: str) -> str:
    """An argparse type: a built-in layout's name or a layout file that loads."""
    try:
        load_layout(text)
    except LayoutError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text
