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

Pure: reports and the time in, a ``RoomView`` out.
"""

from collections import Counter
from dataclasses import dataclass

from pacnet.protocol.feeds import REPORT_EVERY, PlayerReport, RoomView
from pacnet.protocol.models import CallCount

LATE_AFTER = 3 * REPORT_EVERY
"""Seconds without a report after which a player's counts are shown as late."""


@dataclass(frozen=True)
class Report:
    exercise: int
    seq: int
    counts: tuple[CallCount, ...]
    at: float


class Room:
    """The latest report of each player."""

    def __init__(self) -> None:
        self._latest: dict[str, Report] = {}

    def record(
        self, user_id: str, exercise: int, seq: int, counts: list[CallCount], now: float
    ) -> bool:
        """Keep ``user_id``'s report unless a newer one is already kept; True if kept."""
        kept = self._latest.get(user_id)
        if kept is not None and seq <= kept.seq and exercise <= kept.exercise:
            return False
        self._latest[user_id] = Report(exercise, seq, tuple(counts), now)
        return True

    def forget(self, user_id: str) -> None:
        """The player left the board (or the server gave up on them)."""
        self._latest.pop(user_id, None)

    def view(self, now: float) -> RoomView:
        """Every player's latest report, and the totals of those in the newest exercise."""
        exercise = max((r.exercise for r in self._latest.values()), default=0)
        totals: Counter[tuple[str, str]] = Counter()
        players = []
        for user_id, report in sorted(self._latest.items()):
            age = max(0.0, now - report.at)
            players.append(
                PlayerReport(
                    user_id=user_id, exercise=report.exercise, seq=report.seq,
                    counts=list(report.counts), age_s=round(age, 3), late=age > LATE_AFTER,
                )
            )  # fmt: skip
            if report.exercise == exercise:
                for count in report.counts:
                    totals[count.action, count.outcome] += count.calls
        return RoomView(
            exercise=exercise,
            report_every_s=REPORT_EVERY,
            players=players,
            totals=[
                CallCount(action=action, outcome=outcome, calls=calls)  # type: ignore[arg-type]
                for (action, outcome), calls in sorted(totals.items())
            ],
        )
