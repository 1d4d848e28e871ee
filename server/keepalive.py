"""The keepalive table: which users the server still believes are there.

Any request from a user refreshes them; a user silent for longer than the timeout is
expired, and the game takes their pac-man off the board (the article's server step 4).
"""

from server.recency import RecencyTable


class KeepaliveTable:
    """Last-heard times of users, expiring those silent longer than ``timeout`` seconds."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._seen: RecencyTable[None] = RecencyTable()

    def __contains__(self, user_id: str) -> bool:
        return user_id in self._seen

    def __len__(self) -> int:
        return len(self._seen)

    def refresh(self, user_id: str, now: float) -> None:
        """Record that ``user_id`` was heard from at ``now``."""
        self._seen.touch(user_id, now, None)

    def forget(self, user_id: str) -> None:
        """Stop tracking ``user_id`` (they left)."""
        self._seen.forget(user_id)

    def expire(self, now: float) -> list[str]:
        """Remove and return the users not heard from within ``timeout`` of ``now``.

        The caller must drop everything it holds for these users.
        """
        return list(self._seen.pop_older_than(now - self.timeout))
