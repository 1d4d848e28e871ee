"""Counts of outcomes per call, as the demo's table, the HUD and the bots' report show them."""

from collections import Counter, deque
from dataclasses import dataclass, field

from pacnet.protocol.outcome import Outcome

ARTICLE_CALLS = ("find", "move", "findAll", "remove")
"""The four calls of the article's loop, in the order the loop makes them."""


@dataclass
class OutcomeTally:
    """How many calls of each action ended in each outcome."""

    counts: Counter[tuple[str, Outcome]] = field(default_factory=Counter)

    def record(self, action: str, outcome: Outcome) -> None:
        self.counts[action, outcome] += 1

    def count(self, action: str, outcome: Outcome) -> int:
        return self.counts[action, outcome]

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

    def record(self, outcome: Outcome, latency: float, description: str) -> None:
        self._latencies.append(latency)
        if outcome is not Outcome.SUCCESS:
            self.failures.append(description)

    def percentile(self, fraction: float) -> float | None:
        """The latency (seconds) below which ``fraction`` of the recent calls fell."""
        if not self._latencies:
            return None
        ordered = sorted(self._latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
