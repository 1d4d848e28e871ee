"""How the room's calls ended, as its clients report them: what the projector shows.

Only a client knows how its calls ended (UNKNOWN is its verdict, not the server's), so each
client reports its counts every ``REPORT_EVERY`` seconds with a ``report`` request. The report
is itself a remote call and fails the same eight ways, so it is designed to be lost or late
without harm:

- the counts are cumulative since the exercise began: the next report makes good a lost one;
- each report is numbered (``seq``): one that arrives after a newer one is ignored, so a
  delayed report never rolls the room's counts back;
- a player whose reports stop arriving is shown ``late``, with the counts last received, never
  silently dropped from the totals: the room sees that its picture of that player is old.

The room's outcome rates over the last minutes come from the reports' growth: each report adds
what its article calls grew by since the player's previous report (of the same exercise) to the
bin of the second it arrived in. A call is thus charted when the report that first includes it
arrives, up to a report period late; a lost report's calls land in the next one's bin. Counts
that shrink (a player who pressed C, a reloaded page) add nothing.

Pure: reports and the time in, a ``RoomView`` out.
"""

from collections import Counter
from dataclasses import dataclass

from pacnet.protocol.actions import ARTICLE_CALLS
from pacnet.protocol.feeds import (
    RATE_BIN,
    RATE_BINS,
    REPORT_EVERY,
    PlayerReport,
    RateBin,
    RoomView,
)
from pacnet.protocol.models import CallCount, ReportedAction
from pacnet.protocol.outcome import Outcome

LATE_AFTER = 3 * REPORT_EVERY
"""Seconds without a report after which a player's counts are shown as late."""
_SLOT = {outcome: i for i, outcome in enumerate(Outcome)}


@dataclass
class _Bin:
    exercise: int
    calls: list[int]


@dataclass(frozen=True)
class Report:
    exercise: int
    seq: int
    counts: tuple[CallCount, ...]
    at: float


class Reports:
    """The latest report of each player in one room."""

    def __init__(self) -> None:
        self._latest: dict[str, Report] = {}
        self._bins: dict[int, _Bin] = {}
        self.charted: dict[str, int] = dict.fromkeys(_SLOT, 0)
        """Every article call charted since the start, by outcome: what ``/metrics`` counts
        as ``pacnet_room_calls_total``, the rates chart's figures for Prometheus."""
        """The outcome rates, by bin number (``now // RATE_BIN``): the last ``RATE_BINS``."""

    def record(
        self, user_id: str, exercise: int, seq: int, counts: list[CallCount], now: float
    ) -> bool:
        """Keep ``user_id``'s report unless a newer one is already kept; True if kept."""
        kept = self._latest.get(user_id)
        if kept is not None and seq <= kept.seq and exercise <= kept.exercise:
            return False
        self._latest[user_id] = Report(exercise, seq, tuple(counts), now)
        before = kept.counts if kept is not None and kept.exercise == exercise else ()
        self._chart(_growth(before, counts), exercise, now)
        return True

    def _chart(self, grown: list[int], exercise: int, now: float) -> None:
        number = int(now // RATE_BIN)
        rate = self._bins.get(number)
        if rate is None:
            for old in [n for n in self._bins if n <= number - RATE_BINS]:
                del self._bins[old]
            rate = self._bins[number] = _Bin(exercise, [0] * len(_SLOT))
        rate.exercise = max(rate.exercise, exercise)
        rate.calls = [a + b for a, b in zip(rate.calls, grown, strict=True)]
        for outcome, n in zip(_SLOT, grown, strict=True):
            self.charted[outcome] += n

    def rates(self, now: float, exercise: int) -> list[RateBin]:
        """The last ``RATE_BINS`` bins, oldest first, the current one last; a bin no report
        arrived in is zeros, of the exercise before it (``exercise`` before the first)."""
        last = int(now // RATE_BIN)
        numbers = range(last - RATE_BINS + 1, last + 1)
        known = [self._bins[n] for n in numbers if n in self._bins]
        exercise = known[0].exercise if known else exercise
        rates = []
        for number in numbers:
            rate = self._bins.get(number) or _Bin(exercise, [0] * len(_SLOT))
            exercise = rate.exercise
            rates.append(RateBin(exercise=rate.exercise, calls=rate.calls))
        return rates

    def forget(self, user_id: str) -> None:
        """The player left the board (or the server gave up on them)."""
        self._latest.pop(user_id, None)

    def exercise(self) -> int:
        """The newest exercise any player reported."""
        return max((r.exercise for r in self._latest.values()), default=0)

    def totals(self) -> list[CallCount]:
        """The sum of the reports of the players in the newest exercise (the projector's grid,
        and ``/metrics``' ``pacnet_room_exercise_calls``)."""
        exercise = self.exercise()
        totals: Counter[tuple[ReportedAction, Outcome]] = Counter()
        for report in self._latest.values():
            if report.exercise == exercise:
                for count in report.counts:
                    totals[count.action, count.outcome] += count.calls
        return [
            CallCount(action=action, outcome=outcome, calls=calls)
            for (action, outcome), calls in sorted(totals.items())
        ]

    def view(self, now: float) -> RoomView:
        """Every player's latest report, the totals of those in the newest exercise, and the
        outcome rates."""
        players = []
        for user_id, report in sorted(self._latest.items()):
            age = max(0.0, now - report.at)
            players.append(
                PlayerReport(
                    user_id=user_id, exercise=report.exercise, seq=report.seq,
                    counts=list(report.counts), age_s=round(age, 3), late=age > LATE_AFTER,
                )
            )  # fmt: skip
        exercise = self.exercise()
        return RoomView(
            exercise=exercise,
            report_every_s=REPORT_EVERY,
            rate_bin_s=RATE_BIN,
            rates=self.rates(now, exercise),
            players=players,
            totals=self.totals(),
        )


def _growth(before: tuple[CallCount, ...], after: list[CallCount]) -> list[int]:
    """How much each outcome's article calls grew from ``before`` to ``after``, by outcome."""
    was = {(c.action, c.outcome): c.calls for c in before}
    grown = [0] * len(_SLOT)
    for count in after:
        if count.action in ARTICLE_CALLS:
            earlier = was.get((count.action, count.outcome), 0)
            grown[_SLOT[count.outcome]] += max(0, count.calls - earlier)
    return grown
