"""Admission: which requests a saturated server still serves. No I/O.

A server past its capacity cannot serve everything; what it can choose is what to refuse.
Serving in arrival order, it would answer every request late, later as the queue grows,
until each answer comes after the client's deadline: all work done, none of it useful, and
every mutation an UNKNOWN. So it refuses the requests that waited too long, at once and
definitely (``OVERLOADED``, retryable, with ``retryAfterMs``: nothing was done), and serves
the rest on time.

The rule is CoDel's (Nichols and Jacobson, "Controlling Queue Delay", 2012) as Facebook's
servers apply it to requests (Maurer, "Fail at Scale", ACM Queue 2015), with two measures of
waiting. A request's own wait, from its arrival to its being read, decides whether it is
served. Whether the server is saturated is decided by the event loop's lag (how late its
timer fires), which every connection shares: a request's own wait also counts the requests
its own connection sent before it, a queue only that client fills, and a client that sends a
thousand at once must not make the server refuse everyone else:

- while the loop's lag falls within ``overload_wait`` at least once every ``max_wait``, the
  server keeps up: what queues is a burst, and a request is refused only if it waited longer
  than ``max_wait``;
- when it has not for a whole ``max_wait``, the queue stands: the server is overloaded, and
  a request that waited longer than ``overload_wait`` is refused, until the lag falls again.

A burst is served whole; a standing queue is cut down to ``overload_wait`` at once, by cheap
refusals, and whatever is served then waits little. A new player's join is refused while the
server has refused anything within ``JOIN_RETRY`` times ``max_wait`` (``crowded``): one more
player is more load for as long as they play, the last thing a saturated server should take
on.
"""

import random
from math import inf

RETRY_HINT = (0.2, 1.0)
"""A refused client is told to come back after ``max_wait`` times a number between these, at
random: within the longest the server lets its queue grow, so it finds the queue drained,
and spread, so the clients refused together do not return together. Told to wait longer (1
to 2 or 4 times ``max_wait``), the clients a saturated server refused left it idle a fifth of
the time, then came back as a wave that was shed in its turn (docs/limits.md)."""

JOIN_RETRY = 4.0
"""How many ``max_wait`` a server takes no new player after it refused a request: a new
player is more load for as long as they play, so they come back once the queue has had time
to drain for good."""


class Admission:
    """Decides, from how long it waited, whether a request is served.

    Args:
        max_wait: seconds a request may wait to be read in a burst; 0 admits every request
            however late (no shedding).
        overload_wait: seconds it may wait while the queue stands.
        now: the time the server starts (its queue is empty then).
        rng: where retry hints get their jitter.
    """

    def __init__(
        self, max_wait: float, overload_wait: float, now: float, rng: random.Random
    ) -> None:
        if max_wait < 0 or overload_wait < 0:
            raise ValueError("waits must be >= 0 seconds")
        if max_wait and overload_wait > max_wait:
            raise ValueError("the overload wait must not exceed the longest wait")
        self.max_wait = max_wait
        self.overload_wait = overload_wait
        self._drained = now
        """When the loop's lag was last within ``overload_wait``."""
        self._rng = rng
        self.lag = 0.0
        """Seconds the server's loop is behind: its last timer fired this late (``note_lag``)."""
        self._refused = -inf
        """When a request was last refused."""
        self.shed = 0
        """Requests refused so far."""

    def note_lag(self, lag: float, now: float) -> None:
        """The loop's timer due a moment ago fired ``lag`` seconds late, at ``now``."""
        self.lag = lag
        if lag <= self.overload_wait:
            self._drained = now

    def overloaded(self, now: float) -> bool:
        """Whether the queue stands: the loop's lag above ``overload_wait`` for a whole
        ``max_wait``."""
        return bool(self.max_wait) and now - self._drained > self.max_wait

    def crowded(self, now: float) -> bool:
        """Whether a new player is turned away: a request was refused a moment ago."""
        return now - self._refused < self.max_wait * JOIN_RETRY

    def admit(self, waited: float, now: float) -> bool:
        """Whether a request read at ``now``, ``waited`` seconds after it was received, is
        served; a refused one is counted in ``shed``."""
        if waited <= self.overload_wait or not self.max_wait:
            return True
        limit = self.overload_wait if now - self._drained > self.max_wait else self.max_wait
        if waited <= limit:
            return True
        self.shed += 1
        self._refused = now
        return False

    def retry_after(self) -> float:
        """Seconds a refused client should wait before it tries again."""
        return self.max_wait * self._rng.uniform(*RETRY_HINT)

    def join_retry_after(self, now: float) -> float:
        """Seconds a new player turned away at ``now`` should wait: until the server takes new
        players again, and a ``retry_after`` more, so those turned away come back spread."""
        return self._refused + self.max_wait * JOIN_RETRY - now + self.retry_after()
