"""Counts of outcomes per call, as the demo's table, the HUD and the bots' report show them."""

import math
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from pacnet.protocol.actions import ARTICLE_CALLS, is_reported
from pacnet.protocol.models import CallCount
from pacnet.protocol.outcome import Outcome


def rank(fraction: float, count: int) -> int:
    """The 1-based rank of the ``fraction`` percentile among ``count`` values, by the
    nearest-rank definition: the smallest value with at least that fraction of the values at
    or below it. The one definition pacnet uses (the window's HUD, the bots' report, the
    benchmarks), so the same latencies give the same p99 wherever they are shown."""
    return min(count, max(1, math.ceil(fraction * count)))


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The ``fraction`` percentile of ``values`` (nearest rank, see ``rank``); None if empty."""
    if not values:
        return None
    return sorted(values)[rank(fraction, len(values)) - 1]


@dataclass
class OutcomeTally:
    """How many calls of each action ended in each outcome."""

    counts: Counter[tuple[str, Outcome]] = field(default_factory=Counter)

    def record(self, action: str, outcome: Outcome) -> None:
        self.counts[action, outcome] += 1

    def count(self, action: str, outcome: Outcome) -> int:
        return self.counts[action, outcome]

    def reset(self) -> None:
        """Forget every count: a new exercise starts from zero."""
        self.counts.clear()

    def as_counts(self) -> list[CallCount]:
        """The counts as a ``report`` request carries them: of the actions a report counts
        (``REPORTED_ACTIONS``), and only those that happened."""
        return [
            CallCount(action=action, outcome=outcome, calls=n)
            for (action, outcome), n in sorted(self.counts.items())
            if is_reported(action) and n
        ]

    def total(self, action: str | None = None, outcome: Outcome | None = None) -> int:
        """Calls matching ``action`` and ``outcome`` (None matches any)."""
        return sum(
            n
            for (a, o), n in self.counts.items()
            if (action is None or a == action) and (outcome is None or o == outcome)
        )

    def grid(self, actions: tuple[str, ...] = ARTICLE_CALLS) -> list[list[int]]:
        """One row per action, one column per outcome in ``Outcome`` order."""
        return [[self.counts[action, outcome] for outcome in Outcome] for action in actions]


class RecentCalls:
    """The latest calls' latencies, and the latest failures in words, for HUDs and reports."""

    def __init__(self, keep: int = 200, failures: int = 6) -> None:
        self._latencies: deque[float] = deque(maxlen=keep)
        self.failures: deque[str] = deque(maxlen=failures)
        """Newest last: ``move -> UNKNOWN: no reply in 500 ms``."""

    def reset(self) -> None:
        """Forget the recent calls: a new exercise starts afresh."""
        self._latencies.clear()
        self.failures.clear()

    def record(self, outcome: Outcome, latency: float, description: str) -> None:
        self._latencies.append(latency)
        if outcome is not Outcome.SUCCESS:
            self.failures.append(description)

    def percentile(self, fraction: float) -> float | None:
        """The latency (seconds) below which ``fraction`` of the recent calls fell."""
        return percentile(self._latencies, fraction)
