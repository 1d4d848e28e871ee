"""Requests the server remembers, so a retry is answered, not acted on again.

The client's answer to UNKNOWN is to send the same request again with the same requestId.
The server keeps, per user, the replies it made to recent mutations (join, move, remove,
leave), keyed by requestId: a repeat gets the very same reply (its ``clock`` included) and
the board is not touched twice. A requestId reused for a different request is refused
(REQUEST_ID_REUSED), as Stripe refuses an idempotency key reused with other parameters.

What is remembered, and for how long:

- **Mutations only.** A ``find`` or ``findAll`` is safe to run again, and a fresh answer to
  a read is the better one; its replies (``findAll`` of the pellets is ~20 KB) would be most
  of the memory.
- **Replies of applied requests only.** An error reply promises nothing changed, so running
  the request again is safe and may now succeed (a THROTTLED move, a moment later).
- **The reply the update produced**, stored as the update finishes: a reply that was then
  lost (a fault, a crash of the connection) is the one a retry most needs.
- **Bounded**: the latest ``per_user`` requests of each user, none older than ``max_age``
  seconds. A client retries within its call's deadline (about a second, docs/resilience.md),
  so 60 s covers retries and a reconnection with room to spare.

The pipeline is synchronous, so a repeat can never arrive while its first is half done: it
is handled either before the first arrived (then it is the first) or after its update
finished (then it is answered from here), on any connection.
"""

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from protocol.models import Request

MUTATIONS = frozenset({"join", "move", "remove", "leave"})


@dataclass(frozen=True, slots=True)
class Remembered:
    request: Request
    reply: dict[str, Any]
    at: float


class IdempotencyCache:
    """Recent replies to mutations, per user and requestId."""

    def __init__(self, *, per_user: int = 64, max_age: float = 60.0) -> None:
        self.per_user = per_user
        self.max_age = max_age
        self._users: dict[str, OrderedDict[str, Remembered]] = {}

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._users.values())

    def get(self, request: Request, now: float) -> Remembered | None:
        """What the server replied to this user's earlier request with this requestId, if it
        still remembers (None: a new request, or one too old to remember)."""
        entries = self._users.get(request.user_id)
        if entries is None:
            return None
        found = entries.get(request.request_id)
        if found is None or now - found.at > self.max_age:
            return None
        return found

    def put(self, request: Request, reply: dict[str, Any], now: float) -> None:
        """Remember the reply to an applied mutation."""
        if request.action not in MUTATIONS:
            return
        entries = self._users.get(request.user_id)
        if entries is None:
            entries = self._users[request.user_id] = OrderedDict()
        entries[request.request_id] = Remembered(request, reply, now)
        entries.move_to_end(request.request_id)
        while len(entries) > self.per_user:
            entries.popitem(last=False)
        while entries and now - next(iter(entries.values())).at > self.max_age:
            entries.popitem(last=False)

    def forget(self, user_id: str) -> None:
        """The user is gone (expired, left): their replies go too."""
        self._users.pop(user_id, None)


def same_request(a: Request, b: Request) -> bool:
    """Whether two requests ask for the same thing (their requestIds aside)."""
    return type(a) is type(b) and a.model_dump(exclude={"request_id"}) == b.model_dump(
        exclude={"request_id"}
    )
