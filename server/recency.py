"""A table of keys ordered by when each was last touched, for O(1) expiry sweeps.

Both the keepalive table and the throttle forget keys that have been quiet for a while;
keeping keys in touch order means a sweep only looks at the keys it removes.
"""

from collections import OrderedDict
from collections.abc import Iterator
from typing import Generic, TypeVar

V = TypeVar("V")


class RecencyTable(Generic[V]):
    """Maps a key to a value and the time it was last touched, oldest first."""

    def __init__(self) -> None:
        self._entries: OrderedDict[str, tuple[float, V]] = OrderedDict()

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> tuple[float, V] | None:
        """``(last_touched, value)`` for ``key``, or None."""
        return self._entries.get(key)

    def touch(self, key: str, now: float, value: V) -> None:
        """Store ``value`` for ``key`` and mark it touched at ``now`` (now must not go back)."""
        self._entries[key] = (now, value)
        self._entries.move_to_end(key)

    def forget(self, key: str) -> None:
        """Drop ``key`` if present."""
        self._entries.pop(key, None)

    def pop_older_than(self, cutoff: float) -> Iterator[str]:
        """Remove and yield every key last touched before ``cutoff``, oldest first."""
        while self._entries:
            key, (touched, _) = next(iter(self._entries.items()))
            if touched >= cutoff:
                return
            del self._entries[key]
            yield key
