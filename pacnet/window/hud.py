"""What the window's HUD knows and says: every call's outcome, the latest calls for the
inspector, each held against the server's truth feed, the faults switched on in every domain,
and the words for the server's keepalive table.

No pygame here: this is state the frames read (``panels.py`` draws it) and the loop updates.
"""

import asyncio
from collections import Counter, deque
from typing import Any

from pacnet.client.predict import Prediction
from pacnet.client.remote import CallResult, RemoteBoard
from pacnet.client.tally import OutcomeTally, RecentCalls
from pacnet.faults.feed import Exercise, FaultWatch
from pacnet.faults.spec import FaultStatus
from pacnet.feeds.reader import FeedWatch, keepalive_watch, truth_watch
from pacnet.protocol.feeds import KeepaliveView, TruthView
from pacnet.protocol.models import CallCount, OkReply
from pacnet.protocol.outcome import Outcome
from pacnet.trace.verdict import Coverage, Verdict, judge

INSPECTED = 8
"""Rows of the request inspector."""
PINNED = 4
"""Failed calls the inspector keeps on show until dismissed (U): the newest ones."""
"""Calls the request inspector shows, newest at the bottom."""
TRUTH_GRACE = 1.0
"""Seconds to wait for the server's word on a call before taking its silence as "never saw
it" (its feed updates five times a second)."""
SETTLE_EVERY = 0.1
"""Seconds between two holdings of the calls against the server's word (it comes five times
a second)."""

TRUTH_WORDS: dict[Verdict, str] = {
    Verdict.AGREE: "agrees",
    Verdict.UNKNOWN_APPLIED: "it acted",
    Verdict.UNKNOWN_NOT_APPLIED: "did nothing",
    Verdict.UNKNOWN_NEVER_SEEN: "never saw it",
    Verdict.NOT_TRACED: "",
    Verdict.CLIENT_NOT_TRACED: "",
    Verdict.VIOLATION: "VIOLATION",
    Verdict.FALSE_SUCCESS: "VIOLATION",
    Verdict.APPLIED_TWICE: "TWICE!",
    Verdict.PENDING: "",
    Verdict.BEFORE_SERVER_LOG: "before restart",
}
"""The server's side of a call, in the inspector's last column."""

Ended = tuple[CallResult[OkReply], float]
"""A call and the loop time it ended."""


class Hud:
    """What the HUD shows: every call's outcome, counted, the recent ones in detail, and the
    faults switched on in every domain.

    The network loop reports each call to ``record``; the frame loop calls ``settle`` every
    frame and runs the three feeds (``feeds()``) as tasks it owns.
    """

    def __init__(
        self,
        board: RemoteBoard,
        prediction: Prediction | None = None,
        *,
        shown: bool = False,
        inspecting: bool = False,
    ) -> None:
        self.board = board
        self.prediction = prediction
        """Our pac-man's prediction, for the calls panel (None: not predicting)."""
        self.shown = shown
        """The H key's calls panel is open."""
        self.inspecting = inspecting
        """The I key's request inspector is open."""
        self.recent = RecentCalls()
        self.inspected: deque[Ended] = deque(maxlen=INSPECTED)
        """The latest calls, with the loop time each ended."""
        self.pinned: deque[Ended] = deque(maxlen=PINNED)
        """Calls that did not end SUCCESS, kept on show until dismissed: a one-off UNKNOWN
        stays in view however many calls come after it."""
        self.frozen: list[Ended] | None = None
        """The inspector's rows as they were when it was paused (P); None: live."""
        self.watch = FaultWatch(board.url)
        self.keepalive = keepalive_watch(board.url)
        self.truth: FeedWatch[TruthView] = truth_watch(board.url, board.user_id)
        self.pending: deque[Ended] = deque(maxlen=512)
        """Calls waiting for the server's word (a few seconds' worth at the loop's pace)."""
        self.verdicts: dict[str, Verdict] = {}
        """The server's side of each recent call, once known."""
        self.alarms: dict[str, str] = {}
        """Calls whose outcome broke the protocol's promise: requestId -> what happened."""
        self.exercise: Exercise | None = None
        """The exercise the room is in, as the server last said (None: not known yet)."""
        self.carried: Counter[tuple[str, Outcome]] = Counter()
        """The exercise's calls a C cleared from the screen: still reported to the room."""
        self._settle_due = 0.0
        self._truth_since: float | None = None
        """When the server's truth feed was last (re)joined: calls made before are no
        evidence (a server restarted since remembers none of them)."""

    def reset_counts(self, *, new_exercise: bool = False) -> None:
        """Start the counts afresh: every call's outcome, its attempts, the recent latencies
        and failures (C, or a new exercise). Broken promises stay on show. C clears this
        screen only: the calls it cleared are carried into what the window reports, which counts
        from the exercise's start, so one player's C never takes calls from the room's totals."""
        self.carried = Counter() if new_exercise else self.carried + self.board.tally.counts
        self.board.tally.reset()
        self.board.attempts.reset()
        self.recent.reset()

    def follow_exercise(self) -> bool:
        """Reset the counts when the server says a new exercise began (a scenario's step,
        ``chaos clear``, ``chaos mark``); True if it did."""
        exercise = self.watch.exercise
        if exercise is None:
            return False
        began = self.exercise is not None and exercise.number != self.exercise.number
        self.exercise = exercise
        if began:
            self.reset_counts(new_exercise=True)
        return began

    def exercise_counts(self) -> list[CallCount]:
        """Every call of the exercise so far, C or no C: what the window reports to the room."""
        return OutcomeTally(self.board.tally.counts + self.carried).as_counts()

    def feeds(self) -> dict[str, FeedWatch[Any]]:
        """The feeds the HUD follows, by name; each runs (``run()``) as a task of the window."""
        return {"faults": self.watch, "keepalive": self.keepalive, "truth": self.truth}

    def record(self, result: CallResult[OkReply]) -> None:
        """Count a call the network loop made, and keep it for the inspector and the truth."""
        self.recent.record(result.outcome, result.latency, result.describe())
        ended = (result, asyncio.get_running_loop().time())
        self.inspected.append(ended)
        if result.outcome is not Outcome.SUCCESS:
            self.pinned.append(ended)
        self.pending.append(ended)

    def inspector_rows(self) -> list[tuple[Ended, bool]]:
        """What the inspector shows: the pinned failures first (True), then the latest calls
        (False), ``INSPECTED`` rows in all; as they were when paused, if it is."""
        if self.frozen is not None:
            latest = self.frozen
        else:
            latest = [e for e in self.inspected if all(e is not p for p in self.pinned)]
        rows = [(ended, True) for ended in self.pinned]
        room = INSPECTED - len(rows)
        return rows + [(ended, False) for ended in (latest[-room:] if room > 0 else [])]

    def pause(self) -> None:
        """P: freeze the inspector's rows (again: live)."""
        self.frozen = None if self.frozen is not None else list(self.inspected)

    def dismiss(self) -> None:
        """U: unpin every failed call."""
        self.pinned.clear()

    def settle(self, now: float, tally: Counter[Verdict]) -> None:
        """Hold each recent call's outcome against what the server says it did, once the
        server's word is in (its feed takes a moment); count each verdict once in ``tally``.
        Called every frame; does its work ``SETTLE_EVERY`` apart."""
        if now < self._settle_due:
            return
        self._settle_due = now + SETTLE_EVERY
        view = self.truth.latest
        if view is None:
            self._truth_since = None  # lost: the server may come back with no memory
            return
        if self._truth_since is None:
            self._truth_since = now
        if not view.tracing:
            return
        acted: dict[str, list[bool]] = {}
        for entry in view.entries:
            acted.setdefault(entry.request_id, []).append(entry.acted)
        waiting: deque[Ended] = deque(maxlen=self.pending.maxlen)
        for result, ended in self.pending:
            request_id = result.request_id
            served = acted.get(request_id, [])
            if not served and now - ended < TRUTH_GRACE:
                waiting.append((result, ended))
                continue
            began = ended - result.latency
            coverage = Coverage.BEFORE if began < self._truth_since else Coverage.COVERED
            verdict = judge(result.outcome, result.action, served, True, coverage)
            self.verdicts[request_id] = verdict
            tally[verdict] += 1
            if verdict.alarm:
                self.alarms[request_id] = f"{result.describe()} - {verdict.value}"
        self.pending = waiting
        if len(self.verdicts) > 4 * INSPECTED:  # keep only those still on show
            shown = {result.request_id for (result, _), _ in self.inspector_rows()}
            self.verdicts = {r: v for r, v in self.verdicts.items() if r in shown}

    def faults(self, now: float) -> list[FaultStatus]:
        """Every fault on: the client's own, then those behind the server's address."""
        return self.board.faults.status(now) + self.watch.faults

    def calls_line(self) -> str:
        """The calls panel's line on latency, the room and the connection, and retries."""
        p50, p99 = self.recent.percentile(0.50), self.recent.percentile(0.99)
        latency = "-" if p50 is None or p99 is None else f"{p50 * 1000:.1f} / {p99 * 1000:.1f} ms"
        state = f"room {self.board.room}, " + (
            "connected" if self.board.connected else "not connected"
        )
        calls, attempts = self.board.tally.total(), self.board.attempts.total()
        tried = f"{attempts} attempts for {calls} calls" if self.board.policy else "no retries"
        if self.board.policy and not self.board.budget.allows:
            tried += "   retry budget spent: retries paused"
        return f"latency p50 / p99: {latency}   {state}   {tried}"

    def keepalive_words(self) -> list[str]:
        """What the server's keepalive table says of us and of its suspects."""
        return keepalive_lines(self.keepalive.latest, self.board.user_id)


def keepalive_lines(view: KeepaliveView | None, me: str, *, others: int = 3) -> list[str]:
    """What the server's keepalive table says, in words, for the user ``me`` (who knows one
    thing the server does not: that they are here)."""
    if view is None:
        return ["keepalive: the server's table is out of reach"]
    lines = []
    mine = next((entry for entry in view.shown if entry.user_id == me), None)
    if mine is None:
        lines.append("the server hears from you (you are not among its most silent users)")
    elif mine.suspected:
        lines.append(
            f"the server suspects you after {mine.silent_s:.1f} s of silence, yet you are "
            f"here: your messages are not reaching it (it gives up in {mine.expires_in_s:.1f} s)"
        )
    else:
        lines.append(
            f"the server heard from you {mine.silent_s:.1f} s ago "
            f"(it gives up after {view.timeout_s:g} s of silence)"
        )
    suspects = [e for e in view.shown if e.suspected and e.user_id != me]
    if suspects:
        named = ", ".join(
            f"{e.user_id} {e.silent_s:.1f} s{'' if e.connected else ' (no connection)'}"
            for e in suspects[:others]
        )
        more = (
            view.suspected
            - (1 if mine is not None and mine.suspected else 0)
            - len(suspects[:others])
        )
        lines.append(f"it suspects: {named}" + (f" and {more} more" if more > 0 else ""))
    return lines
