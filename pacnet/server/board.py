"""The board: every piece on the maze and the rules that move them. No I/O, no wall clock.

The board advances only when told: ``tick()`` is one step of the board's clock, and moving
pieces travel a fixed distance per tick at their speed. A player's ``move`` only steers
(sets the wanted direction, taken at the next tile where it is legal), so how fast a
pac-man goes never depends on how often, or how fast, its client calls. Randomness comes
from the ``random.Random`` the board is given, so a seeded board replays exactly.

Where a piece is: ``(x, y)`` is the tile whose centre it is nearest, ``offset`` how far past
that centre it is along ``heading``, in tiles, in [-0.5, 0.5) (negative: still coming up to
the centre). Turns happen at centres; reversing is allowed anywhere, as in the arcade.
"""

import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import fields
from typing import Any

from pacnet.protocol import motion
from pacnet.server.ghosts import (
    RELEASE_DOTS,
    RELEASE_QUIET_SECONDS,
    Mode,
    ModeSchedule,
    in_house,
    pilot_ghost,
)
from pacnet.server.layout import GHOST_NAMES, Layout, Tile
from pacnet.server.pieces import (
    ENERGIZER,
    GHOST,
    KINDS,
    OPPOSITE,
    PACMAN,
    PELLET,
    STEPS,
    Piece,
    Speeds,
    pacman_name,
)

POINTS = {":pellet": 10, ":energizer": 50}
"""What eating each kind of food scores (The Pac-Man Dossier, "The Basics")."""
EXTRA_LIFE_AT = 10_000
GHOST_POINTS = (200, 400, 800, 1600)
"""Ghosts eaten during one fright, in order (the Dossier)."""
FRIGHT_SECONDS = 6.0
"""How long an energizer frightens the ghosts on level 1 (the Dossier's table)."""
FLASH_SECONDS = 2.0
"""The last part of a fright, when frightened ghosts flash (five flashes in the arcade)."""
DEATH_SECONDS = 1.5
"""How long a caught pac-man is off the board before it comes back at the start."""


class Board:
    """The pieces on one maze and the rules that move them.

    Args:
        layout: the maze.
        rng: the source of every random choice the board makes.
        tick_rate: ticks per second, to turn speeds into distances per tick.
        speeds: how fast pac-men and ghosts go.
    """

    def __init__(
        self,
        layout: Layout,
        rng: random.Random,
        *,
        tick_rate: float = 60.0,
        speeds: Speeds | None = None,
        calm: bool = False,
    ) -> None:
        self.layout = layout
        self.calm = calm
        """Ghosts cannot catch anyone (an exercise's board: every FATAL is the fault's)."""
        self._rng = rng
        self._tick_rate = tick_rate
        self._schedule = ModeSchedule()
        self.mode = Mode.SCATTER
        """What the ghosts are doing now: level 1's timetable of scatter and chase."""
        speeds = speeds or Speeds()
        self._pacman_step = speeds.pacman / tick_rate
        self._ghost_step = speeds.ghost / tick_rate
        self._ghost_tunnel_step = speeds.ghost_tunnel / tick_rate
        self._frightened_step = speeds.ghost_frightened / tick_rate
        self._eyes_step = speeds.eyes / tick_rate
        self._fright_ticks = round(FRIGHT_SECONDS * tick_rate)
        self._flash_ticks = round(FLASH_SECONDS * tick_rate)
        self._fright_until = 0
        """The tick the current fright ends on (none running when it is in the past)."""
        self._eaten_in_fright: dict[str, int] = {}
        """Ghosts each pac-man has eaten since the last energizer, for 200-400-800-1600."""
        self._mode_ticks = 0
        """Ticks of the scatter/chase timetable: it stands still while the ghosts are
        frightened, as in the arcade."""
        self._clock = 0
        self._pieces: dict[str, Piece] = {}
        self.get: Callable[[str], Piece | None] = self._pieces.get
        """``get(name)``: the piece called ``name``, or None. The dict's own ``get``, with no
        Python call around it: every find, move and remove asks."""
        self._by_kind: dict[str, dict[str, Piece]] = {kind: {} for kind in KINDS}
        self._occupied_food: dict[Tile, Piece] = {}
        self.level = 1
        """Mazes cleared so far, plus one. Every level plays by level 1's speeds and timings."""
        self._down: dict[str, tuple[Piece, int]] = {}
        """Caught pac-men waiting to come back: name -> (piece, the tick it returns on)."""
        self._death_ticks = round(DEATH_SECONDS * tick_rate)
        self._quiet_ticks = round(RELEASE_QUIET_SECONDS * tick_rate)
        self._dots = 0
        """Food eaten on this level, for releasing the ghosts from the house."""
        self._since_dot = 0
        self._lay_food()
        for name, (x, y) in zip(GHOST_NAMES, layout.ghost_starts, strict=False):
            self._place(Piece(name, GHOST, x, y))
        self._start_ghosts()

    @property
    def tick_rate(self) -> float:
        """Ticks per second."""
        return self._tick_rate

    @property
    def pacman_speed(self) -> float:
        """How far a pac-man moves in a second, in tiles."""
        return self._pacman_step * self._tick_rate

    @property
    def clock(self) -> int:
        """Ticks since the board was made: monotonic, never goes back."""
        return self._clock

    def all_of(self, kind: str) -> Iterable[Piece]:
        """Every piece of ``kind`` (an unknown kind has none)."""
        by_kind = self._by_kind.get(kind)
        return by_kind.values() if by_kind is not None else ()

    def pacmen(self) -> Iterator[Piece]:
        """Every player's pac-man, those caught and waiting to come back included."""
        yield from self.all_of(PACMAN)
        yield from (piece for piece, _ in self._down.values())

    def count(self, kind: str) -> int:
        """How many pieces of ``kind`` are on the board."""
        return len(self._by_kind.get(kind, ()))

    def add_pacman(self, owner: str) -> Piece:
        """``owner``'s pac-man: the one on the board, or the one that was caught and is about
        to come back, or else a new game's (three lives, no score) standing at the start."""
        name = pacman_name(owner)
        existing = self._pieces.get(name) or self._down.get(name, (None, 0))[0]
        if existing is not None:
            return existing
        x, y = self._free_spawn()
        piece = Piece(name, PACMAN, x, y, owner=owner)
        self._place(piece)
        return piece

    def _free_spawn(self) -> Tile:
        """The first of the maze's starting tiles no pac-man stands on (the start, if all are
        taken)."""
        taken = {(p.x, p.y) for p in self._by_kind[PACMAN].values()}
        return next((t for t in self.layout.spawns if t not in taken), self.layout.pacman_start)

    def pacman_status(self, name: str) -> str:
        """``on the board``, ``caught`` (back soon), or ``gone`` (game over, or never here)."""
        if name in self._pieces:
            return "on the board"
        return "caught" if name in self._down else "gone"

    def lose_life(self, name: str) -> bool:
        """The pac-man ``name`` is caught: off the board, back at the start after a moment if
        it has a life left, else gone for good (game over). False if it was not on the board:
        a pac-man can only be caught once."""
        piece = self._pieces.get(name)
        if piece is None or piece.kind != PACMAN:
            return False
        self._take(piece)
        piece.lives -= 1
        if piece.lives > 0:
            self._down[name] = (piece, self._clock + self._death_ticks)
        return True

    def can_step(self, piece: Piece, direction: str) -> bool:
        """Whether the tile next to ``piece`` toward ``direction`` is open to it."""
        return self._open(piece, direction)

    def steer(self, piece: Piece, direction: str) -> Piece:
        """Steer a pac-man toward ``direction``; it moves on the board's ticks, not now.

        A standing pac-man sets off if the way is open; a moving one reverses at once, or
        turns at the next tile where ``direction`` is open. Steering into a wall is legal and
        does nothing until a turn opens up. The caller must have checked that ``piece`` is a
        pac-man on this board.
        """
        motion.steer(piece, direction, self._open)
        return piece

    def remove(self, name: str) -> bool:
        """Take ``name`` off the board for good; False if it was not on it."""
        self._down.pop(name, None)
        piece = self._pieces.get(name)
        if piece is None:
            return False
        self._take(piece)
        return True

    def tick(self) -> None:
        """Advance the board's clock by one tick, moving every moving piece."""
        self._clock += 1
        if self._clock == self._fright_until:
            for ghost in self._by_kind[GHOST].values():
                if ghost.state == "frightened":
                    ghost.state = "normal"
        if not self.frightened:
            self._mode_ticks += 1
            mode = self._schedule.mode_at(self._mode_ticks / self._tick_rate)
            if mode is not self.mode:
                self.mode = mode
                self._turn_ghosts_around()
        for pacman in self._by_kind[PACMAN].values():
            if pacman.moving:
                self._advance(pacman, self._pacman_step)
        for ghost in self._by_kind[GHOST].values():
            self._advance(ghost, self._ghost_speed(ghost))
        self._since_dot += 1
        self._release_ghosts()
        self._catch()
        self._bring_back()

    # --- persistence ---

    def snapshot(self) -> dict[str, Any]:
        """What a restart needs to carry on: every piece (pac-men, ghosts, the food left),
        caught pac-men waiting to come back, the level, the clock and the ghosts' timetable.
        Plain JSON types only."""
        return {
            "clock": self._clock,
            "level": self.level,
            "mode": self.mode.value,
            "mode_ticks": self._mode_ticks,
            "fright_until": self._fright_until,
            "dots": self._dots,
            "since_dot": self._since_dot,
            "pieces": [_plain(piece) for piece in self._pieces.values()],
            "down": [[_plain(piece), back] for piece, back in self._down.values()],
        }

    def restore(self, saved: dict[str, Any]) -> None:
        """Put the board back as ``snapshot`` found it (on a board of the same layout).

        Raises:
            ValueError: the snapshot does not fit this board (another layout, a bad file).
        """
        pieces = [Piece(**fields) for fields in saved["pieces"]]
        for piece in pieces:
            in_maze = 0 <= piece.x < self.layout.width and 0 <= piece.y < self.layout.height
            if piece.kind not in KINDS or not in_maze:
                raise ValueError(f"{piece.name} at {piece.tile} does not fit this board")
        for piece in list(self._pieces.values()):
            self._take(piece)
        for piece in pieces:
            self._place(piece)
        self._down = {
            fields["name"]: (Piece(**fields), int(back)) for fields, back in saved["down"]
        }
        self._clock, self.level = int(saved["clock"]), int(saved["level"])
        self.mode, self._mode_ticks = Mode(saved["mode"]), int(saved["mode_ticks"])
        self._fright_until = int(saved["fright_until"])
        self._dots, self._since_dot = int(saved["dots"]), int(saved["since_dot"])
        self._eaten_in_fright = {}

    def _lay_food(self) -> None:
        for x, y in sorted(self.layout.pellets):
            self._place(Piece(f"pellet-{x}-{y}", PELLET, x, y))
        for x, y in sorted(self.layout.energizers):
            self._place(Piece(f"energizer-{x}-{y}", ENERGIZER, x, y))

    def _start_ghosts(self) -> None:
        """Every ghost on its start tile, normal; Inky and Clyde wait in the house."""
        starts = dict(zip(GHOST_NAMES, self.layout.ghost_starts, strict=False))
        self._dots = self._since_dot = 0
        for ghost in self._by_kind[GHOST].values():
            ghost.x, ghost.y = starts[ghost.name]
            ghost.heading, ghost.offset, ghost.moving, ghost.state = "up", 0.0, True, "normal"
            ghost.waiting = ghost.name in RELEASE_DOTS and in_house(self.layout, ghost.tile)
            self._at_centre(ghost)

    def _release_ghosts(self) -> None:
        """Let out the ghosts whose dot count is reached, or the next one after a quiet spell."""
        waiting = [g for g in self._by_kind[GHOST].values() if g.waiting]
        for ghost in waiting:
            if self._dots >= RELEASE_DOTS[ghost.name] or self._since_dot >= self._quiet_ticks:
                ghost.waiting, ghost.moving = False, True
                self._since_dot = 0 if self._since_dot >= self._quiet_ticks else self._since_dot
                if ghost.offset == 0.0:
                    self._at_centre(ghost)  # it may have been standing: pick its way out

    def _next_level(self) -> None:
        """The maze is clear: the food comes back, and every piece starts over."""
        self.level += 1
        self._lay_food()
        self._start_ghosts()
        self._fright_until, self._mode_ticks, self.mode = 0, 0, Mode.SCATTER
        for pacman in self._by_kind[PACMAN].values():
            pacman.x, pacman.y = self.layout.pacman_start
            pacman.moving, pacman.offset, pacman.wanted = False, 0.0, None

    @property
    def frightened(self) -> bool:
        """Whether an energizer's fright is running."""
        return self._clock < self._fright_until

    @property
    def fright_ticks_left(self) -> int:
        """Ticks until the fright ends (0: none); ghosts flash in the last ``FLASH_SECONDS``."""
        return max(0, self._fright_until - self._clock)

    def flashing(self) -> bool:
        """Whether frightened ghosts are flashing: the fright is about to end."""
        # (fright_ticks_left's sum, without its max() and property call: every find asks)
        return 0 < self._fright_until - self._clock <= self._flash_ticks

    def _frighten(self) -> None:
        """An energizer: every ghost not already eyes turns blue and turns around."""
        self._fright_until = self._clock + self._fright_ticks
        self._eaten_in_fright.clear()
        for ghost in self._by_kind[GHOST].values():
            if ghost.state != "eyes":
                ghost.state = "frightened"
        self._turn_ghosts_around()

    def _turn_ghosts_around(self) -> None:
        for ghost in self._by_kind[GHOST].values():
            if not self._in_house(ghost) and ghost.state != "eyes":
                ghost.heading, ghost.offset = OPPOSITE[ghost.heading], -ghost.offset

    def _ghost_speed(self, ghost: Piece) -> float:
        if ghost.state == "eyes":
            return self._eyes_step
        if ghost.tile in self.layout.tunnels:
            return self._ghost_tunnel_step
        return self._frightened_step if ghost.state == "frightened" else self._ghost_step

    def _catch(self) -> None:
        """The server is the referee. A ghost on a pac-man's tile catches it, whether or not
        that pac-man's client ever calls ``remove``; a frightened one is eaten instead; eyes
        are harmless."""
        ghosts: dict[Tile, list[Piece]] = {}
        for ghost in self._by_kind[GHOST].values():
            if ghost.state != "eyes":
                ghosts.setdefault(ghost.tile, []).append(ghost)
        if not ghosts:
            return
        # Every pac-man, every tick: (x, y) rather than the .tile property, and the lookup
        # bound once, took this loop from 0.90 to 0.38 ms a tick at 5,000 pac-men.
        ghosts_at = ghosts.get
        caught = []
        for pacman in self._by_kind[PACMAN].values():
            here = ghosts_at((pacman.x, pacman.y))
            if here is None:
                continue
            for ghost in here:
                if ghost.state == "frightened":
                    self._eat_ghost(pacman, ghost)
                elif ghost.state == "normal" and not self.calm:
                    caught.append(pacman.name)
                    break
        for name in caught:
            self.lose_life(name)

    def _eat_ghost(self, pacman: Piece, ghost: Piece) -> None:
        eaten = self._eaten_in_fright.get(pacman.name, 0)
        self._eaten_in_fright[pacman.name] = eaten + 1
        self._score(pacman, GHOST_POINTS[min(eaten, len(GHOST_POINTS) - 1)])
        ghost.state = "eyes"

    def _bring_back(self) -> None:
        back = [name for name, (_, at) in self._down.items() if at <= self._clock]
        for name in back:
            piece, _ = self._down.pop(name)
            piece.x, piece.y = self._free_spawn()
            piece.moving, piece.offset, piece.wanted = False, 0.0, None
            self._place(piece)

    def _advance(self, piece: Piece, distance: float) -> None:
        """Move ``piece`` ``distance`` tiles along its way, turning or stopping at centres."""
        motion.advance(piece, distance, self._at_centre, self._enter_next)

    def _at_centre(self, piece: Piece) -> None:
        if piece.kind == GHOST:
            pilot_ghost(
                piece, self.layout, self.mode, self._by_kind[PACMAN].values(),
                self._pieces.get("blinky"), self._rng,
            )  # fmt: skip
            motion.stop_if_blocked(piece, self._open)
        else:
            motion.turn_at_centre(piece, self._open)

    def _enter_next(self, piece: Piece) -> None:
        motion.step_into_next(piece, self.layout.width, self.layout.height)
        if piece.kind == PACMAN:
            food = self._occupied_food.get(piece.tile)
            if food is not None:
                self._take(food)
                self._score(piece, POINTS[food.kind])
                self._dots, self._since_dot = self._dots + 1, 0
                if food.kind == ENERGIZER:
                    self._frighten()
                if not self._occupied_food:
                    self._next_level()

    def _score(self, piece: Piece, points: int) -> None:
        before = piece.score
        piece.score += points
        if before < EXTRA_LIFE_AT <= piece.score:
            piece.lives += 1

    def _in_house(self, ghost: Piece) -> bool:
        return in_house(self.layout, ghost.tile)

    def _open(self, piece: Piece, direction: str) -> bool:
        dx, dy = STEPS[direction]
        tile = self.layout.wrap((piece.x + dx, piece.y + dy))
        if piece.kind == GHOST:
            # Only a ghost on its way out, or eyes on their way home, may use the door.
            door_ok = piece.state == "eyes" or self._in_house(piece)
            return not self.layout.blocks_ghost(tile) and (door_ok or tile not in self.layout.doors)
        return not self.layout.blocks_pacman(tile)

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


_PIECE_FIELDS = tuple(field.name for field in fields(Piece))


def _plain(piece: Piece) -> dict[str, Any]:
    """A piece as plain JSON types. ``dataclasses.asdict`` would do, at 100-300 ms for 5,000
    pac-men a snapshot, every second, on the event loop (docs/performance.md): it copies every
    value deeply, and a piece's values are all flat."""
    return {name: getattr(piece, name) for name in _PIECE_FIELDS}
