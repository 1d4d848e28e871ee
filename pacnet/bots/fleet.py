"""Headless bots: many full clients on one event loop, each playing the article's loop.

A ``Bot`` is what the window is, without the window: a ``RemoteBoard`` with the window's retry
policy, a ``View`` filled by ``pacnet.client.play.article_loop``, and a strategy
(``pacnet.bots.strategies``) for a joystick. It joins again when its game is over, and the loop
joins again by itself when the server gave up on it; unless told not to, it reports its
outcomes to the server every second, as the window does, so the projector's view counts the
bots among the room. A ``Fleet`` runs one process's share of the bots: it starts them over a
ramp, stops them at the run's end, and hands its counts (``pacnet.bots.counts``) to ``publish``
twice a second. ``pacnet.bots.workers`` spreads a fleet over processes; ``pacnet bots``
(``pacnet.bots.cli``) drives it.
"""

import asyncio
import contextlib
import random
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from pacnet.bots.counts import Gauges, Progress, Samples, Scores
from pacnet.bots.strategies import Maze, Sight, Strategy, load_strategy
from pacnet.client.play import article_loop
from pacnet.client.remote import CallResult, RemoteBoard
from pacnet.client.retry import DEFAULT_RETRIES, Reconnects, RetryPolicy
from pacnet.client.room_report import report_outcomes
from pacnet.client.tally import OutcomeTally
from pacnet.client.timeouts import Timeouts
from pacnet.client.view import View
from pacnet.faults.feed import FaultWatch
from pacnet.protocol.feeds import REPORT_EVERY as ROOM_REPORT_EVERY
from pacnet.protocol.models import CallCount, Direction, JoinReply, OkReply
from pacnet.protocol.outcome import Outcome
from pacnet.protocol.rooms import room_url

log = structlog.get_logger("pacnet.bots")

JOIN_PAUSE = 0.5
"""Seconds a bot waits before trying again when its first join did not succeed."""
REPORT_EVERY = 0.5
"""Seconds between a fleet's reports of its counts."""

Watch = Callable[["Bot", CallResult[OkReply]], None]
"""Called with every call a bot's loop makes, as it ends (benchmarks and tests)."""


@dataclass(frozen=True, kw_only=True)
class FleetPlan:
    """One run of bots, as every process of it needs to know it (picklable)."""

    url: str
    bots: int
    """Bots in the whole fleet, across processes."""
    strategy: str
    """What ``pacnet.bots.strategies.load_strategy`` loads: ``greedy``, ``module:name``..."""
    duration: float
    """Seconds from ``epoch`` to the end of the run, the ramp included."""
    seed: int
    """Every bot's randomness derives from it, so a run replays."""
    epoch: float = field(default_factory=time.time)
    """Wall-clock time the run began: the timeline's zero, the same in every process."""
    ramp: float = 0.0
    """Seconds over which the bots start, evenly, so a thousand do not join in one burst."""
    retries: RetryPolicy | None = DEFAULT_RETRIES
    """How calls are retried (None: each call is one attempt, its first outcome)."""
    timeouts: Timeouts = field(default_factory=Timeouts)
    tag: str = "bot"
    """User ids are ``{tag}-{index}``; give each run its own tag, so a server that kept an
    earlier run's sessions does not mistake these bots for those."""
    report: bool = False
    """Whether each bot reports its outcomes to the room (``pacnet bots`` does unless told
    not to; the benchmarks measure the game without them)."""
    rooms: tuple[str, ...] = ()
    """Rooms the bots are dealt into in turn: bot ``i`` plays in ``rooms[i % len(rooms)]``.
    Empty: every bot in the room ``url`` names."""

    def url_of(self, index: int) -> str:
        """The game URL bot ``index`` plays on: its room's on the server ``url`` addresses."""
        if not self.rooms:
            return self.url
        return room_url(self.url, self.rooms[index % len(self.rooms)])

    def start_of(self, index: int) -> float:
        """Seconds after ``epoch`` that bot ``index`` starts."""
        return self.ramp * index / self.bots

    def rng_of(self, index: int, purpose: str) -> random.Random:
        """Bot ``index``'s own random source for ``purpose``: the same on every replay."""
        return random.Random(f"pacnet-bots:{self.seed}:{index}:{purpose}")


class CountedReconnects(Reconnects):
    """The board's reconnection backoff, counting what it does: losses, tries, returns."""

    def __init__(self) -> None:
        super().__init__()
        self.losses = 0
        self.returns = 0
        self.try_times: list[float] = []
        """Loop time of every try to connect again after a loss."""

    def lost(self, now: float, rng: random.Random) -> None:
        if not self.recovering:
            self.losses += 1
        super().lost(now, rng)

    def check(self, now: float) -> None:
        super().check(now)
        if self.recovering:
            self.try_times.append(now)

    def succeeded(self) -> None:
        if self.recovering:
            self.returns += 1
        super().succeeded()


class Bot:
    """One headless player: a full client whose joystick is a strategy."""

    def __init__(
        self,
        index: int,
        plan: FleetPlan,
        strategy: Strategy,
        record: Callable[[CallResult[OkReply]], None],
        watch: Watch | None = None,
        faults: FaultWatch | None = None,
    ) -> None:
        self.index = index
        self.plan = plan
        self.board = RemoteBoard(
            plan.url_of(index), f"{plan.tag}-{index}", timeouts=plan.timeouts, policy=plan.retries,
            rng=plan.rng_of(index, "backoff"),
        )  # fmt: skip
        self.reconnects = self.board.reconnects = CountedReconnects()
        self.view = View()
        self.maze: Maze | None = None
        self.started = False
        self.clock = 0
        """The board clock of the latest reply."""
        self.playing = False
        self.score = 0
        self.lives: int | None = None
        self.deaths = 0
        self.games_over = 0
        self.scores = Scores()
        """Its finished games' (the one being played is added when counted)."""
        self.strategy_errors = 0
        self.first_strategy_error = ""
        self._strategy = strategy
        self._rng = plan.rng_of(index, "strategy")
        self._record = record
        self._watch = watch
        self._faults = faults
        """The /faults feed, which says which exercise the workshop is in (None: no reports)."""
        self._exercise: int | None = None
        """The room's exercise as this bot last saw it (None: not yet)."""
        self._before_exercise: Counter[tuple[str, Outcome]] = Counter()
        """The bot's counts when that exercise began: the room hears only what came after."""

    async def play(self) -> None:
        """Join, then play the article's loop until cancelled (and report to the room)."""
        self.started = True
        while True:
            joined = await self.board.join()
            self.report(joined)
            if joined.reply is not None:
                break
            await asyncio.sleep(JOIN_PAUSE)
        reply = joined.reply
        self.maze = Maze.from_rows(reply.maze)
        self.view = View(reply.width, reply.height, reply.name)
        # Our own pac-man alone (find), as the article's loop: a fleet of N bots each reading
        # all N pac-men would cost the server and every bot N squared entities a turn.
        loop = article_loop(self.board, self.view, self.steer, self.report, others=False)
        if self._faults is None:
            await loop
            return
        async with asyncio.TaskGroup() as tasks:  # cancelled together
            # Spread over the room's report period, so a fleet started at once reports evenly.
            offset = self.plan.rng_of(self.index, "report").uniform(0, ROOM_REPORT_EVERY)
            tasks.create_task(
                report_outcomes(
                    self.board, self.room_exercise, counts=self.room_counts, offset=offset
                )
            )
            await loop

    def room_exercise(self) -> int:
        """The exercise the room is in, as its /faults feed last said; a new one (not the
        first seen) starts the counts the room hears afresh, as a window's C key does."""
        seen = self._faults.exercise if self._faults is not None else None
        if seen is None:  # the feed is out of reach: keep to what we knew
            return self._exercise or 0
        if self._exercise is not None and seen.number != self._exercise:
            self._before_exercise = self.board.tally.counts.copy()
        self._exercise = seen.number
        return seen.number

    def room_counts(self) -> list[CallCount]:
        """The bot's counts since the room's exercise began, as a report carries them."""
        return OutcomeTally(self.board.tally.counts - self._before_exercise).as_counts()

    def steer(self) -> Direction | None:
        """The article loop's joystick: the strategy's answer to what the view shows. A game
        that is over is counted, and the loop asked to join again."""
        view = self.view
        me = view.mine()
        if me is not None:
            if me.lives is not None:
                if self.lives is not None and me.lives < self.lives:
                    self.deaths += self.lives - me.lives
                self.lives = me.lives
            self.score = me.score if me.score is not None else self.score
        elif view.game_over or view.missing(asyncio.get_running_loop().time()):
            if self.playing:
                self.playing = False
                self.deaths += 1
                self.games_over += 1
                self.scores.add_game(self.score)
            view.rejoin = True  # again, if the last join did not succeed
            return None
        assert self.maze is not None
        sight = Sight.from_view(self.maze, view, clock=self.clock, rng=self._rng)
        try:
            return self._strategy(sight)
        except Exception as exc:  # someone's strategy: count it, keep playing, do not crash
            self.strategy_errors += 1
            if not self.first_strategy_error:
                where = traceback.extract_tb(exc.__traceback__)[-1]
                self.first_strategy_error = (
                    f"{type(exc).__name__}: {exc} ({where.filename}:{where.lineno})"
                )
            return None

    def report(self, result: CallResult[OkReply]) -> None:
        """Every call the loop makes, as it ends: counted, and a join starts a new game."""
        self._record(result)
        reply = result.reply
        if reply is not None:
            self.clock = max(self.clock, reply.clock)
        if isinstance(reply, JoinReply):
            if self.playing:  # the server gave up on us: that game is lost
                self.scores.add_game(self.score)
            self.playing = True
            self.score = reply.score or 0
            self.lives = reply.lives
        if self._watch is not None:
            self._watch(self, result)

    def add_gauges(self, into: Gauges) -> None:
        """Add where this bot stands to ``into``."""
        into.bots += self.started
        if self.started:
            into.rooms[self.board.room] += 1
        into.connected += self.board.connected
        into.calls.counts.update(self.board.tally.counts)
        into.attempts.counts.update(self.board.attempts.counts)
        into.rejoins += self.view.rejoins
        into.connections_lost += self.reconnects.losses
        into.reconnections += self.reconnects.returns
        into.reconnect_tries += len(self.reconnects.try_times)
        into.deaths += self.deaths
        into.games_over += self.games_over
        into.strategy_errors += self.strategy_errors
        into.first_strategy_error = into.first_strategy_error or self.first_strategy_error
        into.scores.add(self.scores)
        if self.playing:
            into.scores.add_game(self.score)


class Fleet:
    """One process's share of a run: bots ``indices`` of ``plan`` on this event loop.

    ``publish`` gets a ``Progress`` every ``REPORT_EVERY`` seconds and a final one when the
    bots have stopped; ``watch``, if given, every call of every bot as it ends.
    """

    def __init__(
        self,
        plan: FleetPlan,
        indices: range,
        publish: Callable[[Progress], None],
        *,
        worker: int = 0,
        watch: Watch | None = None,
    ) -> None:
        self.plan = plan
        self.worker = worker
        self._publish = publish
        self._samples = Samples()
        factory = load_strategy(plan.strategy)
        self._faults = FaultWatch(plan.url) if plan.report else None
        """One watch of the workshop's exercise (the server's, in every room) for every bot of
        this process."""
        self.bots = [Bot(i, plan, factory(), self._record, watch, self._faults) for i in indices]

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Play until the plan's duration is over or ``stop`` is set; then close every
        connection and publish the final counts."""
        loop = asyncio.get_running_loop()
        began = loop.time() - (time.time() - self.plan.epoch)  # the epoch, in loop time
        stop = stop or asyncio.Event()
        try:
            async with asyncio.TaskGroup() as tasks:
                players = [
                    tasks.create_task(self._play(bot, began + self.plan.start_of(bot.index)))
                    for bot in self.bots
                ]
                reporter = tasks.create_task(self._report_every(REPORT_EVERY))
                if self._faults is not None:
                    players.append(tasks.create_task(self._faults.run()))
                    players.append(tasks.create_task(self._follow_exercise(self._faults)))
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout_at(began + self.plan.duration):
                        await stop.wait()
                for task in (*players, reporter):
                    task.cancel()
        finally:
            final = self.gauges()
            await asyncio.gather(*(bot.board.close() for bot in self.bots))
            self._publish(Progress(self.worker, final, self._take_samples(), final=True))

    def gauges(self) -> Gauges:
        """Where this process's bots stand now."""
        gauges = Gauges()
        for bot in self.bots:
            bot.add_gauges(gauges)
        return gauges

    async def _play(self, bot: Bot, start_at: float) -> None:
        await asyncio.sleep(max(0.0, start_at - asyncio.get_running_loop().time()))
        await bot.play()

    async def _follow_exercise(self, faults: FaultWatch) -> None:
        """Start every bot's room counts afresh as soon as a new exercise is announced, not
        only at its next report, so the room hears all of the exercise's calls."""
        while True:
            await faults.changed.wait()
            faults.changed.clear()
            for bot in self.bots:
                bot.room_exercise()

    async def _report_every(self, period: float) -> None:
        while True:
            await asyncio.sleep(period)
            self._publish(Progress(self.worker, self.gauges(), self._take_samples()))

    def _record(self, result: CallResult[Any]) -> None:
        second = int(time.time() - self.plan.epoch)
        self._samples.record(result.action, result.outcome, result.latency, second)

    def _take_samples(self) -> Samples:
        samples, self._samples = self._samples, Samples()
        return samples
