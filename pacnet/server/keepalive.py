"""The keepalive table: which users the server still believes are there.

Any request from a user refreshes them; a user silent for longer than the timeout is
expired, and the game takes their pac-man off the board (the article's server step 4).
"""

import heapq
from collections.abc import Callable


def suspect_after_s(timeout: float) -> float:
    """Silence after which a user is suspected: a fifth of the timeout (2 s of 10), twenty
    turns of the window's loop without a word, long before the server gives up."""
    return timeout / 5


class KeepaliveTable:
    """Last-heard times of users, expiring those silent longer than ``timeout`` seconds.

    A refresh is one dict store, because every request makes one. Expiry looks at every
    user, so it runs at most every ``timeout / 8`` (and at least once a second): a user is
    dropped between ``timeout`` and ``timeout * 1.125`` after they fell silent.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._seen: dict[str, float] = {}
        self.refresh: Callable[[str, float], None] = self._seen.__setitem__
        """``refresh(user_id, now)``: record that ``user_id`` was heard from at ``now``. The
        table's own dict store, with no Python call around it: every request makes one."""
        self._sweep_every = min(1.0, timeout / 8)
        self._next_sweep = float("-inf")

    def __contains__(self, user_id: str) -> bool:
        return user_id in self._seen

    def __len__(self) -> int:
        return len(self._seen)

    def silences(self, now: float, limit: int) -> list[tuple[str, float]]:
        """The ``limit`` users silent the longest: (userId, seconds since last heard)."""
        oldest = heapq.nsmallest(limit, self._seen.items(), key=lambda item: item[1])
        return [(user_id, now - seen) for user_id, seen in oldest]

    def count_silent(self, now: float, at_least: float) -> int:
        """How many users have been silent for ``at_least`` seconds."""
        cutoff = now - at_least
        return sum(1 for seen in self._seen.values() if seen <= cutoff)

    def silence(self, user_id: str, now: float) -> float | None:
        """Seconds since ``user_id`` was last heard from (None: not in the table)."""
        seen = self._seen.get(user_id)
        return None if seen is None else now - seen

    def forget(self, user_id: str) -> None:
        """Stop tracking ``user_id`` (they left)."""
        self._seen.pop(user_id, None)

    def expire(self, now: float) -> list[str]:
        """Remove and return the users not heard from within ``timeout`` of ``now``.

        Cheap to call on every tick. The caller must drop everything it holds for them.
        """
        if now < self._next_sweep:
            return []
        self._next_sweep = now + self._sweep_every
        cutoff = now - self.timeout
        expired = [user_id for user_id, seen in self._seen.items() if seen < cutoff]
        for user_id in expired:
            del self._seen[user_id]
        return expired
