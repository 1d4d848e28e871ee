"""Whether a board server can serve, and why not: what ``GET /healthz`` answers.

A load balancer (HAProxy's ``option httpchk``), a container's ``HEALTHCHECK`` and a person with
curl all ask the same question: should traffic come here? The answer is no when:

- the server is stopping (it has closed its doors: send players elsewhere);
- the board's clock is stalled: no tick for ``STALL_AFTER`` seconds (the process was stopped,
  or its loop is starved), so every move would wait;
- the game cannot be saved: the last snapshot write failed, so a crash now would lose more
  than ``--snapshot-interval`` of game (the state store failing).

Pure: the server reports what happens (``ticked``, ``saved``, ``save_failed``, ``stopping``)
with the time as an argument, and asks ``check(now)``.
"""

import json
from dataclasses import dataclass

STALL_AFTER = 2.0
"""Seconds without a tick after which the board counts as stalled: a hundred and twenty
ticks at 60 Hz, far beyond a garbage-collection pause, well within a load balancer's patience."""


@dataclass(frozen=True)
class Verdict:
    """One answer to ``/healthz``."""

    ready: bool
    reason: str
    """Why not, in words for an operator; "serving" when ready."""

    def body(self, **details: object) -> str:
        """The JSON body: ``{"status": "ok" | "unavailable", "reason": ..., **details}``."""
        status = "ok" if self.ready else "unavailable"
        return json.dumps({"status": status, "reason": self.reason, **details}) + "\n"


class Health:
    """What the server has told of itself, and the verdict it adds up to."""

    def __init__(self, now: float) -> None:
        self._last_tick = now
        self._save_error: str | None = None
        self._stopping = False

    def ticked(self, now: float) -> None:
        self._last_tick = now

    def saved(self) -> bool:
        """Note a snapshot written; returns whether it ends a failure (the last one had
        failed), so the caller logs the recovery once."""
        recovered = self._save_error is not None
        self._save_error = None
        return recovered

    def save_failed(self, reason: str) -> bool:
        """Note a failed snapshot; returns whether it is news (the last one had not failed),
        so the caller logs a failure once, not once a second."""
        news = self._save_error is None
        self._save_error = reason
        return news

    def stopping(self) -> None:
        self._stopping = True

    def check(self, now: float) -> Verdict:
        """The verdict at ``now``: the first reason not to serve, or ready."""
        if self._stopping:
            return Verdict(False, "stopping")
        stalled = now - self._last_tick
        if stalled > STALL_AFTER:
            return Verdict(False, f"the board's clock is stalled: no tick for {stalled:.1f} s")
        if self._save_error is not None:
            return Verdict(False, f"the game cannot be saved: {self._save_error}")
        return Verdict(True, "serving")
