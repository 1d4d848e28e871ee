"""Per-user token buckets: a user may send ``rate`` requests per second, bursting to ``burst``."""

import math

from server.recency import RecencyTable


class Throttle:
    """A token bucket per user id.

    Buckets of users quiet long enough to have refilled are forgotten by ``prune``, so
    memory follows the number of active users, not the number of ids ever seen.
    """

    def __init__(self, rate: float, burst: int) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._buckets: RecencyTable[float] = RecencyTable()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, user_id: str, now: float) -> float:
        """Spend one of ``user_id``'s tokens.

        Returns:
            0.0 if a token was spent and the request may go on; otherwise the seconds
            until a token will be available (the request must be refused, unchanged).
        """
        entry = self._buckets.get(user_id)
        if entry is None:
            tokens = float(self.burst)
        else:
            last, tokens = entry
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._buckets.touch(user_id, now, tokens - 1.0)
            return 0.0
        self._buckets.touch(user_id, now, tokens)
        return (1.0 - tokens) / self.rate

    def prune(self, now: float) -> None:
        """Forget the buckets that would be full again by ``now``."""
        refill = math.ceil(self.burst / self.rate * 1000) / 1000
        for _ in self._buckets.pop_older_than(now - refill):
            pass
