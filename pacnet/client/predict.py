"""Client-side prediction of our own pac-man, reconciled with the server's word.

The server moves every pac-man on its ticks; a reply tells where ours was at the reply's
``clock``. Drawn from replies alone, our pac-man would stand still whenever a call hangs (a
lost reply costs the loop a whole timeout) and then leap ahead: rubber-banding. Games settle
that by prediction (Gambetta's "Client-Side Prediction and Server Reconciliation"; Valve's
Source multiplayer networking):

- each steer is applied here at once, with the same rules of motion the server runs
  (``pacnet/protocol/motion.py``), and kept as a numbered input until the server has it;
- a snapshot of our pac-man says where it was at tick ``clock`` and the last input the
  server applied (``lastSeq``); inputs up to it are dropped, the rest are replayed on top of
  the snapshot, and the pac-man is simulated forward to now;
- what little the replay moves the pac-man is not snapped but faded out over a tenth of a
  second (a jump of more than two tiles - a respawn, a new level - is drawn as a jump).

An input whose call ended knowing the server did not act on it (POST_FAILED, RETRYABLE,
FATAL) is dropped at once. One that ended UNKNOWN is kept: the server may have acted, and a
retry carries the same ``requestId`` and ``seq``, so it acts at most once. It is dropped when
a snapshot acknowledges it or a later input (the server ignores a ``seq`` below the last it
applied), or when ``HORIZON`` has passed without either: by then no copy of it can arrive.

No pygame, no I/O: the network loop feeds it, the frame loop reads it.
"""

import math
import statistics
from collections import deque
from dataclasses import dataclass, field

from pacnet.protocol import motion
from pacnet.protocol.models import Entity
from pacnet.protocol.outcome import Outcome

HORIZON = 1.5
"""Seconds an unacknowledged input is replayed: longer than a move's whole deadline (1 s,
pacnet/client/retry.py), so every retry of it has landed or died."""
SMOOTHING = 0.1
"""Seconds over which a correction fades out (Source's cl_smoothtime is 0.1 s too)."""
SNAP = 2.0
"""Tiles: a correction larger than this is a jump (respawn, new level), drawn as one."""
CORRECTIONS_KEPT = 600
"""Corrections remembered for the panel and the tests: a minute's worth at 10 a second."""
RESYNC = 0.25
"""Seconds: a snapshot whose clock is this far behind our estimate of the server's clock
means the server's clock went back (a restart from an older snapshot, a stopped process
that skipped its ticks): follow it at once."""
TIMING_SAMPLES = 5
"""Acknowledged moves whose timing sets the clock estimate (their median): half a second of
steering, and one delayed request or retried move cannot move it."""


@dataclass(slots=True)
class Body:
    """Our pac-man as predicted: a ``pacnet.protocol.motion.Mover``."""

    x: int
    y: int
    heading: str
    moving: bool
    offset: float
    wanted: str | None = None


@dataclass(frozen=True, slots=True)
class Input:
    """One numbered steer: when (in estimated server ticks) it was sent, and which way."""

    seq: int
    direction: str
    tick: float
    sent_at: float


@dataclass
class Prediction:
    """Our own pac-man, predicted from the last snapshot and the inputs since.

    Args:
        maze: the join reply's rows (``#`` wall, ``-`` door: both closed to pac-men).
        tick_rate: the board's ticks per second.
        speed: a pac-man's speed in tiles per second.
    """

    maze: tuple[str, ...]
    tick_rate: float
    speed: float
    pending: list[Input] = field(default_factory=list)
    corrections: deque[float] = field(default_factory=lambda: deque(maxlen=CORRECTIONS_KEPT))
    """The size, in tiles, of the latest corrections snapshots made to the prediction."""
    largest: float = 0.0
    """The largest correction so far, in tiles."""
    _base: Body | None = None
    _base_tick: int = 0
    _acked: str | None = None
    _anchor: tuple[float, float] | None = None
    """(server clock, loop time): the clock was this at that time (from a snapshot)."""
    _timings: deque[float] = field(default_factory=lambda: deque(maxlen=TIMING_SAMPLES))
    """For the latest acknowledged moves: the tick the server applied it at, less the loop
    time it was sent at in ticks. Their median is where the clock estimate stands."""
    _body: Body | None = None
    _tick: int = 0
    _error: tuple[float, float] = (0.0, 0.0)
    _error_at: float = 0.0

    def __post_init__(self) -> None:
        self._height = len(self.maze)
        self._width = len(self.maze[0]) if self.maze else 0
        self._step = self.speed / self.tick_rate

    # --- fed by the network loop ---

    def steer(self, seq: int, direction: str, now: float) -> None:
        """A numbered move is being sent: apply it here at once."""
        if self._body is None:
            return
        self._run_to(self.clock_at(now))
        self.pending.append(Input(seq, direction, self.clock_at(now), now))
        motion.steer(self._body, direction, self._open)

    def settled(self, seq: int, outcome: Outcome, clock: int | None = None) -> None:
        """The move numbered ``seq`` ended: one the server did not act on is no input. A
        move's reply says at which tick (``clock``) the server steered: the tick at which a
        move sent now will take effect is what the prediction must estimate."""
        if outcome in (Outcome.POST_FAILED, Outcome.RETRYABLE, Outcome.FATAL):
            self.pending = [i for i in self.pending if i.seq != seq]
        sent = next((i for i in self.pending if i.seq == seq), None)
        if outcome is Outcome.SUCCESS and clock is not None and sent is not None:
            self._timings.append(clock - sent.sent_at * self.tick_rate)

    def reconcile(self, me: Entity | None, clock: int, now: float) -> None:
        """A snapshot arrived at ``now``: our pac-man (None: off the board) at tick ``clock``."""
        self._sync(clock, now)
        if me is None or me.offset is None or me.moving is None or me.heading is None:
            self._base = self._body = None
            self.pending.clear()
            return
        shown, before = self.position(now), self.position(now, smoothed=False)
        if me.last_seq is not None:
            self._acked = next(
                (i.direction for i in self.pending if i.seq == me.last_seq), self._acked
            )
            self.pending = [i for i in self.pending if i.seq > me.last_seq]
        self.pending = [i for i in self.pending if now - i.sent_at < HORIZON]
        self._base = Body(me.x_pos, me.y_pos, me.heading, me.moving, me.offset, self._acked)
        self._base_tick = clock
        self._replay(self.clock_at(now))
        after = self.position(now, smoothed=False)
        if shown is None or before is None or after is None:
            return
        size = math.hypot(*self._unwrapped(*_minus(before, after)))
        self.corrections.append(size)
        self.largest = max(self.largest, size)
        dx, dy = self._unwrapped(*_minus(shown, after))  # fade from where it was drawn
        self._error = (dx, dy) if math.hypot(dx, dy) <= SNAP else (0.0, 0.0)
        self._error_at = now

    # --- read by the frame loop ---

    def clock_at(self, now: float) -> float:
        """Our estimate of the server's clock (in ticks, fractional) at loop time ``now``."""
        if self._timings:
            estimate = statistics.median(self._timings) + now * self.tick_rate
        elif self._anchor is not None:
            clock, at = self._anchor
            estimate = clock + (now - at) * self.tick_rate
        else:
            return 0.0
        # Rounded to a millionth of a tick, so that 123/60 s is tick 123, not 122.99999...
        return round(estimate, 6)

    def position(self, now: float, *, smoothed: bool = True) -> tuple[float, float] | None:
        """Where to draw our pac-man at ``now``, in tiles (None: not on the board)."""
        if self._body is None:
            return None
        target = self.clock_at(now)
        self._run_to(target)
        x, y = motion.where(self._body)
        if self._body.moving:  # the part of a tick since the last whole one
            dx, dy = motion.STEPS[self._body.heading]
            part = min(self._step, max(0.0, target - self._tick) * self._step)
            x, y = x + dx * part, y + dy * part
        if smoothed:
            fade = math.exp(-(now - self._error_at) / SMOOTHING)
            x, y = x + self._error[0] * fade, y + self._error[1] * fade
        return x, y

    # --- inside ---

    def _sync(self, clock: int, now: float) -> None:
        """A snapshot is the estimate's floor: the server was at ``clock`` by ``now``. One
        ahead of the estimate, or far behind it (the server's clock went back), wins."""
        estimate = self.clock_at(now)
        if self._anchor is None or clock > estimate or estimate - clock > RESYNC * self.tick_rate:
            self._anchor = (float(clock), now)
            self._timings.clear()

    def _replay(self, target: float) -> None:
        assert self._base is not None
        base = self._base
        self._body = Body(base.x, base.y, base.heading, base.moving, base.offset, base.wanted)
        self._tick = self._base_tick
        for entry in self.pending:
            self._run_to(max(entry.tick, float(self._base_tick)))
            motion.steer(self._body, entry.direction, self._open)
        self._run_to(target)

    def _run_to(self, target: float) -> None:
        body = self._body
        if body is None:
            return
        while self._tick + 1 <= target:
            self._tick += 1
            if body.moving:
                motion.advance(body, self._step, self._at_centre, self._enter_next)

    def _open(self, body: Body, direction: str) -> bool:
        dx, dy = motion.STEPS[direction]
        return self.maze[(body.y + dy) % self._height][(body.x + dx) % self._width] == " "

    def _at_centre(self, body: Body) -> None:
        motion.turn_at_centre(body, self._open)

    def _enter_next(self, body: Body) -> None:
        motion.step_into_next(body, self._width, self._height)

    def _unwrapped(self, dx: float, dy: float) -> tuple[float, float]:
        """A difference across the tunnel is the short way round."""
        if abs(dx) > self._width / 2:
            dx -= math.copysign(self._width, dx)
        if abs(dy) > self._height / 2:
            dy -= math.copysign(self._height, dy)
        return dx, dy


def _minus(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    return a[0] - b[0], a[1] - b[1]


def prediction_line(prediction: Prediction | None) -> str:
    """One line for the window's calls panel: how far ahead of the server we are, and how
    wrong the prediction was when the server's word came."""
    if prediction is None:
        return "prediction off: your pac-man is drawn from the replies alone"
    ahead = len(prediction.pending)
    moves = "move" if ahead == 1 else "moves"
    if not prediction.corrections:
        return f"prediction on: {ahead} {moves} unacknowledged"
    return (
        f"prediction on: {ahead} {moves} unacknowledged; last correction "
        f"{prediction.corrections[-1]:.2f} tiles (max {prediction.largest:.2f})"
    )
