"""What a fleet of bots counts, in pieces that add up across event loops and processes.

Pure: no I/O, no clock of its own. Each bot process keeps

- ``Gauges``: where its bots stand now (connected, calls and attempts by outcome, re-joins,
  reconnections, deaths, scores), cumulative, sent whole: the latest from each process wins;
- ``Samples``: what happened since it last sent (latency per call, outcomes and latency per
  second of the run), sent as a delta and added up by the receiver.

``FleetCounts`` is the receiver's sum of both: what the live display, the report, ``--json``
and ``--plot`` read.
"""

import math
from collections import Counter
from dataclasses import dataclass, field

from pacnet.client.tally import OutcomeTally, rank
from pacnet.protocol.outcome import Outcome

_STEPS_PER_E = 50
"""Latency buckets per factor e: each bucket is 2% wider than the one below, so a percentile
read from the histogram is within 2% of the exact one, whatever the number of calls."""


@dataclass
class Latencies:
    """A histogram of latencies (seconds) in logarithmic buckets: mergeable, and as small for
    a million calls as for a hundred. The maximum is kept exactly."""

    buckets: Counter[int] = field(default_factory=Counter)
    count: int = 0
    max: float = 0.0

    def record(self, seconds: float) -> None:
        micros = max(seconds * 1e6, 1.0)
        self.buckets[int(math.log(micros) * _STEPS_PER_E)] += 1
        self.count += 1
        self.max = max(self.max, seconds)

    def add(self, other: "Latencies") -> None:
        self.buckets.update(other.buckets)
        self.count += other.count
        self.max = max(self.max, other.max)

    def percentile(self, fraction: float) -> float | None:
        """Seconds below which ``fraction`` of the latencies fell (``pacnet.client.tally.rank``,
        read from the bucket that rank falls in); None if there are none."""
        if not self.count:
            return None
        wanted = rank(fraction, self.count)
        seen = 0
        for bucket in sorted(self.buckets):
            seen += self.buckets[bucket]
            if seen >= wanted:
                middle = math.exp((bucket + 0.5) / _STEPS_PER_E) / 1e6
                return min(middle, self.max)
        return self.max


@dataclass
class Second:
    """One second of the run: how the calls that ended in it ended, and how long they took."""

    outcomes: Counter[Outcome] = field(default_factory=Counter)
    latencies: Latencies = field(default_factory=Latencies)

    def add(self, other: "Second") -> None:
        self.outcomes.update(other.outcomes)
        self.latencies.add(other.latencies)


@dataclass
class Samples:
    """What a process's bots did since it last reported: a delta to add to the total."""

    latencies: dict[str, Latencies] = field(default_factory=dict)
    """Per action, every call's latency (all its attempts and waits included)."""
    timeline: dict[int, Second] = field(default_factory=dict)
    """Per whole second since the run began."""

    def record(self, action: str, outcome: Outcome, latency: float, second: int) -> None:
        # Every call of every bot comes here: no setdefault, which would build a Latencies
        # (and a Second, with two Counters) to throw away on all but the first call.
        latencies = self.latencies.get(action)
        if latencies is None:
            latencies = self.latencies[action] = Latencies()
        latencies.record(latency)
        bucket = self.timeline.get(second)
        if bucket is None:
            bucket = self.timeline[second] = Second()
        bucket.outcomes[outcome] += 1
        bucket.latencies.record(latency)

    def add(self, other: "Samples") -> None:
        for action, latencies in other.latencies.items():
            self.latencies.setdefault(action, Latencies()).add(latencies)
        for second, bucket in other.timeline.items():
            self.timeline.setdefault(second, Second()).add(bucket)


@dataclass
class Scores:
    """Scores of games: finished ones, and the ones being played (at their last known score)."""

    total: int = 0
    games: int = 0
    best: int = 0

    def add_game(self, score: int) -> None:
        self.total += score
        self.games += 1
        self.best = max(self.best, score)

    def add(self, other: "Scores") -> None:
        self.total += other.total
        self.games += other.games
        self.best = max(self.best, other.best)

    @property
    def mean(self) -> float:
        """Mean score per game (0 before any)."""
        return self.total / self.games if self.games else 0.0


@dataclass
class Gauges:
    """Where one process's bots stand: cumulative since the run began."""

    bots: int = 0
    """Bots started so far (the ramp staggers them)."""
    rooms: Counter[str] = field(default_factory=Counter)
    """Of them, how many in each room."""
    connected: int = 0
    """Bots whose connection is open now."""
    calls: OutcomeTally = field(default_factory=OutcomeTally)
    """Every call, by action and by how it ended (the boards' own ``tally``)."""
    attempts: OutcomeTally = field(default_factory=OutcomeTally)
    """Every attempt of those calls (more than the calls when some were retried)."""
    rejoins: int = 0
    """Times a bot joined again because the server had given up on it (USER_NOT_FOUND)."""
    connections_lost: int = 0
    """Times a bot's connection dropped and it set out to reconnect."""
    reconnections: int = 0
    """Times a bot got a connection back after losing one."""
    reconnect_tries: int = 0
    """Tries to connect again after a loss, successful or not."""
    deaths: int = 0
    """Lives lost (the last one included)."""
    games_over: int = 0
    """Games that ended with the last life; the bot joined again for a new one."""
    scores: Scores = field(default_factory=Scores)
    strategy_errors: int = 0
    """Turns on which the strategy raised instead of answering (the bot kept its heading)."""
    first_strategy_error: str = ""

    def add(self, other: "Gauges") -> None:
        for name in (
            "bots", "connected", "rejoins", "connections_lost", "reconnections",
            "reconnect_tries", "deaths", "games_over", "strategy_errors",
        ):  # fmt: skip
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.rooms.update(other.rooms)
        self.calls.counts.update(other.calls.counts)
        self.attempts.counts.update(other.attempts.counts)
        self.scores.add(other.scores)
        self.first_strategy_error = self.first_strategy_error or other.first_strategy_error


@dataclass(frozen=True)
class Progress:
    """One message from a bot process: its gauges now, its samples since the last message."""

    worker: int
    gauges: Gauges
    samples: Samples
    final: bool = False
    """The process's bots have stopped: nothing more will come from it."""


@dataclass
class FleetCounts:
    """The fleet as a whole: every process's latest gauges, and all samples added up."""

    gauges_by_worker: dict[int, Gauges] = field(default_factory=dict)
    samples: Samples = field(default_factory=Samples)
    finished: set[int] = field(default_factory=set)

    def receive(self, progress: Progress) -> None:
        self.gauges_by_worker[progress.worker] = progress.gauges
        self.samples.add(progress.samples)
        if progress.final:
            self.finished.add(progress.worker)

    def gauges(self) -> Gauges:
        """Every process's gauges added up."""
        total = Gauges()
        for gauges in self.gauges_by_worker.values():
            total.add(gauges)
        return total
