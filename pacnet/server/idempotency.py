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
- **What the request asked for, not the request**: the values of its fields, enough to tell
  a repeat from a requestId reused for something else. The decoded
  request model was two thirds of the memory of a playing user (docs/performance.md).
- **Bounded**: the latest ``per_user`` requests of each user, none older than ``max_age``
  seconds. A client retries within its call's deadline (about a second, docs/resilience.md),
  so 60 s covers retries and a reconnection with room to spare.

The pipeline is synchronous, so a repeat can never arrive while its first is half done: it
is handled either before the first arrived (then it is the first) or after its update
finished (then it is answered from here), on any connection.
"""

from typing import Any

from pacnet.protocol.actions import MUTATIONS
from pacnet.protocol.models import RequestFields

Remembered = tuple[tuple[Any, ...], dict[str, Any], float]
"""What was asked (``asked``), the reply, and when. A plain tuple: one is made for every
move, and a NamedTuple costs six times as much to make (its ``__new__`` is Python)."""


def asked(request: RequestFields) -> tuple[Any, ...]:
    """What ``request`` asks for: the values of all its fields (action and requestId among
    them), in the order its model declares them. Two requests found under the same user and
    requestId ask for the same thing exactly when these are equal."""
    return tuple(request.values())


def answers(first: Remembered, request: RequestFields) -> bool:
    """Whether ``request`` asks for the same thing as the one ``first`` remembers (then it is
    a repeat, and ``first``'s reply is its answer); if not, its requestId was reused."""
    return first[0] == asked(request)


def action_of(first: Remembered) -> str:
    """The action of the request ``first`` remembers (every request model declares ``v``,
    then ``action``: the second of the values ``asked`` holds)."""
    action: str = first[0][1]
    return action


class IdempotencyCache:
    """Recent replies to mutations, per user and requestId."""

    def __init__(self, *, per_user: int = 64, max_age: float = 60.0) -> None:
        self.per_user = per_user
        self.max_age = max_age
        self._users: dict[str, dict[str, Remembered]] = {}
        """userId -> requestId -> what was replied, oldest first (dicts keep their order)."""

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._users.values())

    def get(self, request: RequestFields, now: float) -> Remembered | None:
        """What the server replied to this user's earlier request with this requestId, if it
        still remembers (None: a new request, or one too old to remember)."""
        entries = self._users.get(request["user_id"])
        if entries is None:
            return None
        found = entries.get(request["request_id"])
        if found is None or now - found[2] > self.max_age:
            return None
        return found

    def put(self, request: RequestFields, reply: dict[str, Any], now: float) -> None:
        """Remember the reply to an applied mutation (a read's is not kept)."""
        if request["action"] not in MUTATIONS:
            return
        user_id, request_id = request["user_id"], request["request_id"]
        entries = self._users.get(user_id)
        if entries is None:
            entries = self._users[user_id] = {}
        else:
            entries.pop(request_id, None)  # one too old to answer: the new goes last
        entries[request_id] = (asked(request), reply, now)
        if len(entries) > self.per_user:  # one in, one out
            del entries[next(iter(entries))]
        while now - next(iter(entries.values()))[2] > self.max_age:
            del entries[next(iter(entries))]

    def forget(self, user_id: str) -> None:
        """The user is gone (expired, left): their replies go too."""
        self._users.pop(user_id, None)
