"""What to do after each outcome: the retry policy, its backoff and its budget.

    outcome       retried?                           how
    -----------   --------------------------------   -------------------------------------
    SUCCESS       -                                  -
    POST_FAILED   yes, every call                    nothing reached the server; free of
                                                     the budget (gRPC's transparent retry)
    RETRYABLE     yes                                capped exponential backoff with full
                                                     jitter, at least the server's
                                                     retryAfterMs; spends the budget
    FATAL         never                              (USER_NOT_FOUND: the caller re-joins)
    UNKNOWN       yes, with the same requestId       the server answers a repeat of a
                                                     mutation from memory; spends the budget

One deadline covers every attempt of a call, and retries happen in this one layer. Defaults
and their sources are in docs/resilience.md.
"""

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from pacnet.client.errors import ConnectFailed
from pacnet.protocol.outcome import Outcome

DEFAULT_DEADLINES: Mapping[str, float] = {"move": 1.0}
"""Seconds a whole call may take, by action: a `move` is stale after a second of play."""


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How a call is retried. Every field has a default with a reason (docs/resilience.md)."""

    max_attempts: int = 3
    """Attempts per call, the first included (AWS's standard mode: 3; gRPC caps at 5)."""
    attempt_timeout: float = 0.3
    """Seconds one attempt waits for its reply: a few hundred milliseconds, far above this
    server's p99.9 on a healthy network, short enough to leave room for two retries."""
    deadline: float = 2.5
    """Seconds a whole call may take, all attempts and waits included (``deadlines`` per
    action overrides it)."""
    deadlines: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_DEADLINES))
    base: float = 0.05
    """Seconds: the first backoff is up to this, doubling each retry (full jitter)."""
    throttled_base: float = 0.2
    """The base after a THROTTLED reply: the server said to slow down."""
    cap: float = 1.0
    """Seconds: no backoff is longer."""
    budget: float = 10.0
    """Retry tokens (gRPC's retryThrottling maxTokens)."""
    budget_refill: float = 0.1
    """Tokens a successful call gives back (gRPC's tokenRatio)."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("a call needs at least 1 attempt")
        for name in ("attempt_timeout", "deadline", "base", "throttled_base", "cap", "budget"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0")

    def deadline_of(self, action: str) -> float:
        return self.deadlines.get(action, self.deadline)

    def backoff(
        self, retry: int, rng: random.Random, *, throttled: bool, retry_after: float | None
    ) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first retry): full jitter,
        ``random(0, min(cap, base * 2**(retry - 1)))``, and never less than ``retry_after``."""
        base = self.throttled_base if throttled else self.base
        wait = rng.uniform(0.0, min(self.cap, base * 2 ** (retry - 1)))
        return max(wait, retry_after or 0.0)


DEFAULT_RETRIES = RetryPolicy()
"""How the window and the bots retry: one client, one policy. ``pacnet play --no-retries``
(and ``pacnet bots --no-retries``) show every call's first outcome instead (the workshop's
first exercises)."""


class RetryBudget:
    """A token bucket that stops retry storms: each retried failure spends a token, each
    success puts back a fraction; at half full or below, nothing is retried (gRPC A6)."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.capacity = policy.budget
        self.refill = policy.budget_refill
        self.tokens = policy.budget

    @property
    def allows(self) -> bool:
        return self.tokens > self.capacity / 2

    def failed(self) -> None:
        self.tokens = max(0.0, self.tokens - 1.0)

    def succeeded(self) -> None:
        self.tokens = min(self.capacity, self.tokens + self.refill)


def worth_retrying(outcome: Outcome) -> bool:
    """Whether another attempt may change the answer (FATAL will not; SUCCESS is done)."""
    return outcome in (Outcome.POST_FAILED, Outcome.RETRYABLE, Outcome.UNKNOWN)


def spends_budget(outcome: Outcome) -> bool:
    """POST_FAILED is free: the server never saw it, so retrying cannot load it."""
    return outcome in (Outcome.RETRYABLE, Outcome.UNKNOWN)


class Reconnects:
    """Jittered exponential backoff between tries to connect: after ``n`` failed tries in a
    row, the next waits ``random(0, min(cap, base * 2**(n - 1)))``. Full jitter spreads a
    crowd of clients that lost the same server over the whole window instead of letting them
    return together (the AWS Architecture Blog's "Exponential Backoff and Jitter"). 100 ms to
    2 s suits a game: quick after a blip, gentle on a server that is down, and back within
    two seconds of its return (bench/restart.py: a 5 s cap doubled the wait for no fewer
    tries).

    pacnet's own loop: websockets' built-in reconnection backs off over seconds to minutes.

    The first try after a loss waits ``random(0, first)``, 300 ms: three times ``base``,
    because a client's first three tries otherwise all fall within a few hundred milliseconds
    of the loss (the first, then ``random(0, 100 ms)``, then ``random(0, 200 ms)`` after each
    refusal), and a fleet's crowded into one wave there: 200 bots put a quarter of their tries
    into the busiest 10 ms (bench/restart.py, docs/performance.md). After a blip a client is
    back within 300 ms, 150 on average.
    """

    def __init__(self, *, base: float = 0.1, cap: float = 2.0, first: float = 0.3) -> None:
        self.base = base
        self.cap = cap
        self.first = first
        """Seconds: the first try after a loss waits up to this."""
        self.failures = 0
        self.tried = 0
        """Tries to connect, successful or not."""
        self.not_before = float("-inf")
        self.last_error = ""
        self.recovering = False
        """A connection was lost and no new one is open yet."""

    def check(self, now: float) -> None:
        """Raise ConnectFailed (POST_FAILED) if it is too soon to try again."""
        if now < self.not_before:
            wait_ms = (self.not_before - now) * 1000
            raise ConnectFailed(
                f"not reconnecting yet (next try in {wait_ms:.0f} ms); last try: {self.last_error}"
            )
        self.tried += 1

    def failed(self, now: float, error: str, rng: random.Random) -> float:
        """A try failed at ``now``; returns the backoff before the next one."""
        self.failures += 1
        self.last_error = error
        wait = rng.uniform(0.0, min(self.cap, self.base * 2 ** (self.failures - 1)))
        self.not_before = now + wait
        return wait

    def lost(self, now: float, rng: random.Random) -> None:
        """The connection dropped: the first try to reconnect waits ``random(0, first)`` too,
        or every client that lost the same server would make its first try at once. Once
        per loss: calls meanwhile do not push the try further away."""
        if not self.recovering:
            self.recovering = True
            self.not_before = max(self.not_before, now + rng.uniform(0.0, self.first))

    def succeeded(self) -> None:
        self.failures = 0
        self.recovering = False
        self.not_before = float("-inf")
