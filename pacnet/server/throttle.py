"""Per-key token buckets: ``rate`` requests per second, bursting to ``burst``."""

_PRUNE_EVERY = 1.0
"""Seconds between looks at every bucket: often enough that idle ones do not pile up."""


class Throttle:
    """A token bucket per key (a user, or a connection that has not joined yet).

    ``prune`` forgets buckets quiet long enough to have refilled (a full bucket is the same
    as a fresh one), so memory follows the active keys, not every key ever seen.
    """

    def __init__(self, rate: float, burst: int) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._full = float(burst)
        self._refill_time = burst / rate
        self._buckets: dict[str, list[float]] = {}
        """key -> [tokens, when they were counted]: a list, changed in place, because every
        request spends from one."""
        self._next_prune = float("-inf")

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str, now: float) -> float:
        """Spend one of ``key``'s tokens.

        Returns:
            0.0 if a token was spent and the request may go on; otherwise the seconds
            until a token will be available (the request must be refused, unchanged).
        """
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = [self._full, now]
        # (min() and float() are calls: this runs for every request)
        tokens = bucket[0] + (now - bucket[1]) * self.rate
        if tokens > self._full:
            tokens = self._full
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return 0.0
        bucket[0] = tokens
        return (1.0 - tokens) / self.rate

    def prune(self, now: float) -> None:
        """Forget the buckets that are full again by ``now``.

        Cheap to call on every tick: it looks at the buckets at most once a second.
        """
        if now < self._next_prune:
            return
        self._next_prune = now + _PRUNE_EVERY
        cutoff = now - self._refill_time
        for key in [key for key, (_, then) in self._buckets.items() if then <= cutoff]:
            del self._buckets[key]
