"""The brains of headless bots: a view of the board in, a direction out.

A strategy is any callable ``Strategy``: it gets a ``Sight`` (the maze, and what the last
``findAll`` replies showed) once per turn of the article loop and returns where to steer, or
None to keep going as it is. Pure: no I/O, no wall clock, randomness from ``sight.rng``.

Shipped, in the spirit of the Berkeley Pac-Man agents:

- ``random``: wanders the corridors, turning at random at junctions, never reversing unless
  it must.
- ``greedy``: heads for the nearest pellet or energizer by maze distance.
- ``cautious``: greedy, but flees a ghost within ``DANGER_DISTANCE`` and chases a frightened
  one within ``CHASE_DISTANCE``.

``load_strategy(spec)`` turns a name from the command line (``greedy``, ``mybot:Name``) into
a factory of strategies, one per bot. Writing your own: docs/bots.md.
"""

from __future__ import annotations

import importlib
import inspect
import os
import random
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pacnet.protocol.motion import OPPOSITE, STEPS

if TYPE_CHECKING:  # only names in annotations: `pacnet bots --help` does not load the models
    from pacnet.client.view import View
    from pacnet.protocol.models import Direction, Entity

Tile = tuple[int, int]
"""(column, row), origin at the top-left, as entities' ``x_pos`` and ``y_pos``."""

DIRECTIONS: tuple[Direction, ...] = ("up", "left", "down", "right")
"""Every direction, in the order ties are broken (the arcade ghosts' order)."""


DANGER_DISTANCE = 4
"""Tiles, by maze distance: a ghost this near (not frightened, not eyes) makes ``cautious``
flee. A ghost covers most of a tile between two turns of a bot (7 tiles a second), so four
leaves room for the reply's age and one step the wrong way."""

CHASE_DISTANCE = 8
"""Tiles, by maze distance: a frightened ghost this near is worth chasing. It runs at half
speed and pac-man at 80%, so pac-man gains three tiles for every eight it runs, and a fright
lasts long enough (6 s, about 45 tiles of running) to close eight."""

_EDIBLE = frozenset({"frightened", "flashing"})
_HARMLESS = _EDIBLE | {"eyes"}


@dataclass(frozen=True)
class Maze:
    """The maze a pac-man walks, as ``join`` describes it: ``#`` wall, ``-`` door, space
    open. Pac-men may stand only on open tiles; moving off an edge enters at the other.

    The neighbours of every tile are worked out once; maze distances are cached per start,
    so many bots sharing one ``Maze`` (``from_rows`` shares them) pay for each BFS once.
    """

    rows: tuple[str, ...]
    width: int
    height: int
    _exits: dict[Tile, tuple[tuple[Direction, Tile], ...]] = field(
        init=False, repr=False, compare=False
    )
    _distances: dict[Tile, dict[Tile, int]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        if not self.rows or any(len(row) != self.width for row in self.rows):
            raise ValueError("a maze needs rows, every one as wide as the first")
        if self.height != len(self.rows):
            raise ValueError(f"a maze of {len(self.rows)} rows is not {self.height} high")
        exits = {
            (x, y): tuple(
                (direction, neighbour)
                for direction in DIRECTIONS
                if self.open(neighbour := self.step((x, y), direction))
            )
            for y in range(self.height)
            for x in range(self.width)
        }
        object.__setattr__(self, "_exits", exits)

    @classmethod
    def from_rows(cls, rows: tuple[str, ...] | list[str]) -> Maze:
        """The maze of ``JoinReply.maze``; the same rows give the same (shared) object."""
        return _maze_of(tuple(rows))

    def open(self, tile: Tile) -> bool:
        """May a pac-man stand on ``tile``? Not on a wall ``#`` nor the ghost house's door
        ``-``; off the board counts as wrapped."""
        x, y = self.wrap(tile)
        return self.rows[y][x] not in "#-"

    def wrap(self, tile: Tile) -> Tile:
        """The tile itself, or its mirror across the board's edge (the tunnel)."""
        return (tile[0] % self.width, tile[1] % self.height)

    def step(self, tile: Tile, direction: Direction) -> Tile:
        """The neighbour of ``tile`` toward ``direction``, wrapping through the tunnel."""
        dx, dy = STEPS[direction]
        return self.wrap((tile[0] + dx, tile[1] + dy))

    def exits(self, tile: Tile) -> list[Direction]:
        """The directions whose neighbour is open, in ``DIRECTIONS`` order."""
        return [direction for direction, _ in self._exits[self.wrap(tile)]]

    def distances(self, start: Tile) -> dict[Tile, int]:
        """Maze distance in steps from ``start`` to every tile a pac-man can reach from it,
        nearest first (the dict's order).

        Cached per start: do not change the dict you get.
        """
        start = self.wrap(start)
        known = self._distances.get(start)
        if known is None:
            known = self._distances[start] = self._bfs(start)
        return known

    def toward(self, here: Tile, target: Tile, prefer: Direction | None = None) -> Direction | None:
        """The first step of a shortest way from ``here`` to ``target`` (None: none, or
        already there). Among equally short ways, ``prefer`` wins, then ``DIRECTIONS`` order."""
        from_target = self.distances(target)
        best: tuple[int, int, int] | None = None
        choice: Direction | None = None
        for rank, (direction, neighbour) in enumerate(self._exits[self.wrap(here)]):
            steps = from_target.get(neighbour)
            if steps is None:
                continue
            key = (steps, direction != prefer, rank)
            if best is None or key < best:
                best, choice = key, direction
        if choice is None or self.wrap(here) == self.wrap(target):
            return None
        return choice

    def _bfs(self, start: Tile) -> dict[Tile, int]:
        seen = {start: 0}
        todo = deque([start])
        exits = self._exits
        while todo:
            tile = todo.popleft()
            steps = seen[tile] + 1
            for _, neighbour in exits[tile]:
                if neighbour not in seen:
                    seen[neighbour] = steps
                    todo.append(neighbour)
        return seen


@lru_cache(maxsize=16)
def _maze_of(rows: tuple[str, ...]) -> Maze:
    return Maze(rows=rows, width=len(rows[0]) if rows else 0, height=len(rows))


def tile_of(entity: Entity) -> Tile:
    """Where ``entity`` is, as a maze tile."""
    return (entity.x_pos, entity.y_pos)


@dataclass(frozen=True)
class Sight:
    """What a bot sees on one turn: the maze, and the board as its last replies showed it."""

    maze: Maze
    me: Entity | None
    """Our own pac-man; None while it is off the board (caught, waiting to come back)."""
    pacmen: tuple[Entity, ...]
    """Every pac-man on the board, our own included."""
    ghosts: tuple[Entity, ...]
    food: tuple[Entity, ...]
    """The pellets and energizers left (refreshed less often than the moving pieces)."""
    level: int
    clock: int
    """The board's clock (ticks) of the last reply."""
    rng: random.Random
    """The bot's own seeded randomness: use it, never the ``random`` module's functions."""

    @classmethod
    def from_view(cls, maze: Maze, view: View, *, clock: int, rng: random.Random) -> Sight:
        """What ``view`` (the article loop's picture of the board) shows, as a ``Sight``;
        ``view.me`` must name our pac-man (``JoinReply.name``)."""
        pieces = view.latest.pieces.values()
        return cls(
            maze=maze,
            me=view.mine(),
            pacmen=tuple(p for p in pieces if p.kind == ":pacman"),
            ghosts=tuple(p for p in pieces if p.kind == ":ghost"),
            food=tuple(view.food.values()),
            level=view.level,
            clock=clock,
            rng=rng,
        )


Strategy = Callable[[Sight], "Direction | None"]
"""A bot's brain: where to steer this turn, or None to keep going as it is."""


class StrategyError(ValueError):
    """A ``--strategy`` that cannot be loaded; the message is one line, naming the spec."""


def wander(sight: Sight) -> Direction | None:
    """The ``random`` strategy: any open way but back, chosen with ``sight.rng``; back only
    at a dead end."""
    me = sight.me
    if me is None:
        return None
    exits = sight.maze.exits(tile_of(me))
    onward = [d for d in exits if me.heading is None or d != OPPOSITE[me.heading]]
    choices = onward or exits
    return sight.rng.choice(choices) if choices else None


class Greedy:
    """The ``greedy`` strategy: toward the nearest pellet or energizer by maze distance
    (ties: the topmost, then leftmost), keeping its heading when two ways are as short.

    The food in a ``Sight`` can be half a second old (the article loop refreshes it less
    often than the moving pieces), so the tiles walked since are remembered as eaten;
    otherwise it would turn back for pellets already in its belly.
    """

    def __init__(self) -> None:
        self._walked: set[Tile] = set()
        self._level: int | None = None
        self._food: tuple[Entity, ...] = ()
        self._food_tiles: frozenset[Tile] = frozenset()

    def __call__(self, sight: Sight) -> Direction | None:
        here = self.observe(sight)
        if here is None or sight.me is None:
            return None
        target = self.nearest_food(sight, here)
        return None if target is None else sight.maze.toward(here, target, sight.me.heading)

    def observe(self, sight: Sight) -> Tile | None:
        """Note what this turn shows; returns our tile (None while off the board)."""
        if sight.me is None or sight.level != self._level:
            self._level = sight.level if sight.me is not None else None
            self._walked.clear()
        if sight.me is None:
            return None
        if not _same(sight.food, self._food):
            # A new refresh of the food; between refreshes the entities are the same objects,
            # so this costs an identity check a turn rather than reading 244 positions.
            self._food, self._food_tiles = sight.food, frozenset(map(tile_of, sight.food))
        here = sight.maze.wrap(tile_of(sight.me))
        self._walked &= self._food_tiles  # only the stale ones matter
        self._walked.add(here)
        return here

    def nearest_food(self, sight: Sight, here: Tile) -> Tile | None:
        """The food tile nearest ``here`` not known to be eaten, or None. Of several as near,
        one straight ahead wins (no turning back for a pellet no nearer), then the topmost,
        then the leftmost. Call ``observe`` first, on the same sight."""
        least, nearest = 0, list[Tile]()
        food, walked = self._food_tiles, self._walked
        for tile, distance in sight.maze.distances(here).items():  # nearest first
            if nearest and distance > least:
                break
            if tile in food and tile not in walked:
                least = distance
                nearest.append(tile)
        ahead = None if sight.me is None else self._ahead(sight.maze, here, sight.me.heading)
        if len(nearest) > 1 and ahead is not None:
            from_ahead = sight.maze.distances(ahead)
            nearest = [t for t in nearest if from_ahead.get(t) == least - 1] or nearest
        return min(nearest, key=lambda tile: (tile[1], tile[0]), default=None)

    @staticmethod
    def _ahead(maze: Maze, here: Tile, heading: Direction | None) -> Tile | None:
        ahead = None if heading is None else maze.step(here, heading)
        return ahead if ahead is not None and maze.open(ahead) else None


class Cautious(Greedy):
    """The ``cautious`` strategy: greedy, but it runs from any ghost (not frightened, not
    eyes) within ``DANGER_DISTANCE`` and chases a frightened one within ``CHASE_DISTANCE``."""

    def __call__(self, sight: Sight) -> Direction | None:
        here = self.observe(sight)
        if here is None or sight.me is None:
            return None
        steps = sight.maze.distances(here)
        danger = near(steps, sight.ghosts, DANGER_DISTANCE, lambda g: g.state not in _HARMLESS)
        if danger:
            return flee(sight.maze, here, danger)
        prey = near(steps, sight.ghosts, CHASE_DISTANCE, lambda g: g.state in _EDIBLE)
        if prey:
            return sight.maze.toward(here, prey[0], sight.me.heading)
        target = self.nearest_food(sight, here)
        return None if target is None else sight.maze.toward(here, target, sight.me.heading)


def _same(these: tuple[Entity, ...], those: tuple[Entity, ...]) -> bool:
    """Whether two food tuples are one refresh: the same entities, as the same objects
    (tuples compare those by identity first, fast in C), or equal ones."""
    if these is those:
        return True
    if len(these) != len(those) or (these and these[0] is not those[0]):
        return False  # a new reply's entities are new objects: skip comparing each field
    return these == those


def near(
    steps: dict[Tile, int], ghosts: tuple[Entity, ...], limit: int, which: Callable[[Entity], bool]
) -> list[Tile]:
    """The tiles of ``which`` ghosts within ``limit`` steps (by ``steps``), nearest first
    (ties: topmost, then leftmost)."""
    found = [
        (distance, ghost.y_pos, ghost.x_pos)
        for ghost in ghosts
        if which(ghost) and (distance := steps.get(tile_of(ghost), limit + 1)) <= limit
    ]
    return [(x, y) for _, y, x in sorted(found)]


def flee(maze: Maze, here: Tile, danger: list[Tile]) -> Direction | None:
    """The way out of ``here`` whose next tile is farthest from the nearest of ``danger``
    (None if there is no way out). Ties go in ``DIRECTIONS`` order."""
    far = maze.width * maze.height
    best: int | None = None
    choice: Direction | None = None
    for direction in maze.exits(here):
        steps = maze.distances(maze.step(here, direction))
        nearest = min(steps.get(ghost, far) for ghost in danger)
        if best is None or nearest > best:
            best, choice = nearest, direction
    return choice


SHIPPED: dict[str, Callable[[], Strategy]] = {
    "random": lambda: wander,
    "greedy": Greedy,
    "cautious": Cautious,
}
"""The strategies ``--strategy NAME`` names, each as a factory of one per bot."""


def load_strategy(spec: str) -> Callable[[], Strategy]:
    """A factory of strategies for ``spec``: a shipped name, or ``module:name``.

    ``module:name`` imports ``module`` (the current directory first on the path, as for
    ``python -m``) and takes its attribute ``name``: a class is instantiated once per bot
    (with no arguments), anything else callable (a function) is shared by every bot. Call
    the factory once per bot.

    Raises:
        StrategyError: the spec names nothing usable; the one-line message says why.
    """
    shipped = SHIPPED.get(spec)
    if shipped is not None:
        return shipped
    module_name, colon, name = spec.partition(":")
    if not colon or not module_name or not name:
        known = ", ".join(SHIPPED)
        raise StrategyError(f"strategy {spec!r}: not one of {known}, nor module:name")
    target = _attribute(spec, _module(spec, module_name), name)
    if inspect.isclass(target):
        return _class_factory(spec, target)
    if not callable(target):
        raise StrategyError(
            f"strategy {spec!r}: {name!r} is not callable (it is of type {type(target).__name__})"
        )
    _check_takes_sight(spec, target)
    function: Strategy = target
    return lambda: function


def _module(spec: str, module_name: str) -> Any:
    here = os.getcwd()
    if here not in sys.path:
        sys.path.insert(0, here)
    importlib.invalidate_caches()  # the file may be newer than the finders' listings
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name is not None and (module_name + ".").startswith(error.name + "."):
            raise StrategyError(f"strategy {spec!r}: no module named {error.name!r}") from None
        raise StrategyError(
            f"strategy {spec!r}: importing {module_name!r} failed: {_one_line(error)}"
        ) from None
    except Exception as error:
        raise StrategyError(
            f"strategy {spec!r}: importing {module_name!r} failed: {_one_line(error)}"
        ) from None


def _attribute(spec: str, module: Any, name: str) -> Any:
    target = module
    for part in name.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise StrategyError(
                f"strategy {spec!r}: module {module.__name__!r} has no attribute {name!r}"
            ) from None
    return target


def _class_factory(spec: str, cls: type[Any]) -> Callable[[], Strategy]:
    try:
        inspect.signature(cls).bind()
    except TypeError:
        raise StrategyError(
            f"strategy {spec!r}: class {cls.__name__} needs arguments; it must be made with none"
        ) from None
    except ValueError:
        pass  # no signature to read (a builtin); the first bot will find out
    if not any("__call__" in vars(base) for base in cls.__mro__):
        raise StrategyError(f"strategy {spec!r}: class {cls.__name__} has no __call__(self, sight)")
    factory: Callable[[], Strategy] = cls
    return factory


def _check_takes_sight(spec: str, function: Callable[..., Any]) -> None:
    try:
        inspect.signature(function).bind(None)
    except TypeError:
        raise StrategyError(f"strategy {spec!r}: it must take one argument, a Sight") from None
    except ValueError:
        pass  # no signature to read (a builtin); the first call will find out


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")
