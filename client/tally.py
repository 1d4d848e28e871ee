"""Counts of outcomes per call, as the demo's table, the HUD and the bots' report show them."""

from collections import Counter
from dataclasses import dataclass, field

from protocol.outcome import Outcome

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
