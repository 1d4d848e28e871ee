"""The proxy's fault policy, pure: which network faults hit a message or a new connection,
and what becomes of the message. Frames and ``now`` in, a ``Plan`` out; every random choice
from the fault set's seeded ``random.Random``. No sockets, no tasks, no clock: the relay
(``pacnet.proxy.relay``) carries the plans out.

    fault       what the proxy does                                 the client sees
    ---------   -------------------------------------------------   --------------------
    drop        the message is lost                                 UNKNOWN (no reply)
    delay       held ``delayMs`` plus up to ``jitterMs``, alone:    UNKNOWN past its
                later messages are not held up and may overtake it  deadline, else SUCCESS
    duplicate   sent twice                                          SUCCESS (request: the
                                                                    server runs it twice)
    corrupt     flip: a few characters replaced, always breaking    request: FATAL
                the JSON; truncate: cut short; garbage: random      (INVALID_MESSAGE);
                bytes in a *binary* frame; schema: well-formed      reply: UNKNOWN
                JSON with one field renamed, ``requestId`` and      (step 7)
                ``v`` kept, so only the validators can tell
    reset       both connections aborted, no close frame; the       UNKNOWN, then
                message is lost                                     POST_FAILED
    refuse      a new connection gets HTTP 503 at the handshake     POST_FAILED
    blackhole   matching messages, both ways, vanish; the           UNKNOWN
                connection stays open

Faults that fire on one message stack in ``pacnet.faults.spec.ORDER`` (delay, duplicate,
corrupt, drop, reset); a blackhole counts as a drop there. A delayed reset cuts the
connection when the delay is over.

How the filters apply to the two connection faults, which have no direction:

- **refuse** is decided at the handshake, when nothing is known of the connection but the
  number it would get (every connection attempt takes one, refused or not). So only
  ``connection`` aims it (``skip``, ``count``, ``probability`` and ``durationS`` work as
  usual); a refuse fault with an ``action`` or ``user`` filter never fires.
- **blackhole** is checked on every message in both directions, as a drop without a
  direction: ``action``, ``user`` and ``connection`` filter each message, ``count`` counts
  swallowed messages and ``probability`` is per message. New connections are accepted.

A reply carries no action or user, so each connection remembers its latest requests'
``requestId -> (action, userId)`` (``RequestMemory``): a reply-direction fault can aim at
"20% of findAll replies" or one user's replies as well.
"""

import random
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic_core import from_json, to_json

from pacnet.faults.engine import FaultSet, Message
from pacnet.faults.spec import ORDER, Corruption, Direction, Fault, FaultKind

REMEMBERED_REQUESTS = 1024
"""Requests per connection whose action and user are kept for their replies' filters:
far more than a client has in flight, small enough to bound a flooding client."""


@dataclass(frozen=True, slots=True)
class Seen:
    """What a lenient look at one frame found (None: not there, or not readable)."""

    request_id: str | None = None
    action: str | None = None
    user: str | None = None

    def log_context(self) -> dict[str, str | None]:
        """Whose message this is, keyed as every domain's log lines key it."""
        return {"requestId": self.request_id, "userId": self.user, "action": self.action}


class RequestMemory:
    """One connection's recent requests, so that each reply is known by its request's
    action and user."""

    def __init__(self, capacity: int = REMEMBERED_REQUESTS) -> None:
        self._capacity = capacity
        self._requests: OrderedDict[str, tuple[str | None, str | None]] = OrderedDict()
        self._user: str | None = None
        """The latest userId on this connection: the user of a reply without a requestId."""

    def look(self, frame: str | bytes, direction: Direction) -> Seen:
        """What ``frame`` is about; a request is remembered for its reply. Never raises."""
        fields = _fields(frame, ("requestId", "action", "userId"))
        request_id, action, user = fields
        if direction is Direction.REQUEST:
            if user is not None:
                self._user = user
            if request_id is not None:
                self._requests[request_id] = (action, user)
                self._requests.move_to_end(request_id)
                if len(self._requests) > self._capacity:
                    self._requests.popitem(last=False)
            return Seen(request_id, action, user)
        action, user = self._requests.get(request_id or "", (None, self._user))
        return Seen(request_id, action, user)


def _fields(frame: str | bytes, names: Sequence[str]) -> list[str | None]:
    """The string values of ``names`` in a JSON object frame; anything else is None."""
    try:
        data: Any = from_json(frame)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return [None] * len(names)
    return [value if isinstance(value := data.get(name), str) else None for name in names]


@dataclass(frozen=True, slots=True)
class Plan:
    """What the relay must do with one message: after ``delay`` seconds, send ``frames``
    (``bytes`` as binary frames), then abort the connection if ``reset``."""

    frames: tuple[str | bytes, ...]
    delay: float = 0.0
    reset: bool = False
    faults: tuple[Fault, ...] = ()
    """The faults that fired on it, in the order they applied."""

    @property
    def delivers(self) -> bool:
        """Whether the message goes on at all (at once, or after ``delay``)."""
        return bool(self.frames) and not self.reset


_ON_MESSAGES = (*ORDER, FaultKind.BLACKHOLE)
_RANK = {kind: ORDER.index(kind) for kind in ORDER} | {
    FaultKind.BLACKHOLE: ORDER.index(FaultKind.DROP)
}


class NetworkFaults:
    """The proxy's fault policy: which faults hit a message or a new connection, and what
    becomes of it. Pure: the relay passes ``now``; randomness is the fault set's.

    Args:
        faults: the network's fault set.
    """

    def __init__(self, faults: FaultSet) -> None:
        self.faults = faults

    def refusal(self, connection: int, now: float) -> Fault | None:
        """The refuse fault that hits new connection number ``connection``, if one does;
        the caller must then refuse its handshake."""
        if not self.faults:
            return None
        hits = self.faults.fire((FaultKind.REFUSE,), Message(connection=connection), now)
        return hits[0] if hits else None

    def plan(self, frame: str | bytes, message: Message, now: float) -> Plan:
        """What becomes of ``frame``; the caller must carry the plan out (``Plan``)."""
        hits = self.faults.fire(_ON_MESSAGES, message, now) if self.faults else []
        if not hits:
            return Plan((frame,))
        hits.sort(key=lambda fault: _RANK[fault.kind])  # stable: in added order within a kind
        rng = self.faults.random
        copies, delay, lost, reset = [frame], 0.0, False, False
        for fault in hits:
            match fault.kind:
                case FaultKind.DELAY:
                    jitter = rng.uniform(0, fault.jitter_ms) if fault.jitter_ms else 0.0
                    delay += (fault.delay_ms + jitter) / 1000
                case FaultKind.DUPLICATE:
                    copies.append(frame)
                case FaultKind.CORRUPT:
                    copies = [damage(copy, fault.corruption, rng) for copy in copies]
                case FaultKind.DROP | FaultKind.BLACKHOLE:
                    lost = True
                case FaultKind.RESET:
                    reset = True
        frames = () if lost or reset else tuple(copies)
        return Plan(frames, delay, reset, tuple(hits))


# Printable ASCII but the quote and the backslash: a flip never makes or unmakes a string.
_PRINTABLE = [chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"\\']


def damage(frame: str | bytes, how: Corruption, rng: random.Random) -> str | bytes:
    """``frame`` damaged ``how``, every random choice from ``rng``."""
    match how:
        case Corruption.FLIP:
            return _flip(frame, rng)
        case Corruption.TRUNCATE:
            return frame[: rng.randrange(len(frame))] if frame else frame
        case Corruption.GARBAGE:
            return rng.randbytes(max(1, len(frame)))
        case Corruption.SCHEMA:
            return _break_schema(frame, rng)


def _flip(frame: str | bytes, rng: random.Random) -> str | bytes:
    """A few characters replaced by other printable ASCII: still UTF-8 text, no longer JSON.

    One of them is always a string's quote (one not escaped) and no replacement is a quote
    or a backslash, so the frame is left with an odd number of quotes: never JSON, whatever
    else the flips hit. A binary frame gets a few bytes XORed instead.
    """
    if not frame:
        return frame
    n = rng.randint(1, 3)
    if isinstance(frame, bytes):
        data = bytearray(frame)
        for i in rng.sample(range(len(data)), min(n, len(data))):
            data[i] ^= rng.randrange(1, 256)
        return bytes(data)
    chars = list(frame)
    quotes = [i for i, c in enumerate(chars) if c == '"' and (i == 0 or chars[i - 1] != "\\")]
    others = [i for i, c in enumerate(chars) if c not in '"\\']
    chosen = [rng.choice(quotes)] if quotes else []
    chosen += rng.sample(others, min(n - len(chosen), len(others)))
    for i in chosen:
        chars[i] = rng.choice([c for c in _PRINTABLE if c != chars[i]])
    return "".join(chars)


def _break_schema(frame: str | bytes, rng: random.Random) -> str | bytes:
    """Well-formed JSON that fails the models: one field renamed (``xPos`` to ``xpos``,
    ``name`` to ``Name``), ``v`` and ``requestId`` kept so the peer can match and refuse it.

    Renamed, not dropped: every model forbids unknown fields, so a rename always fails,
    while dropping an optional field would pass. A frame that is no JSON object becomes
    ``{}``.
    """
    try:
        data: Any = from_json(frame)
    except ValueError:
        data = None
    broken: dict[str, Any] = {}
    if isinstance(data, dict):
        names = [name for name in data if name not in ("v", "requestId")]
        if names:
            old = rng.choice(names)
            new = old.lower() if old != old.lower() else old[:1].upper() + old[1:]
            broken = {new if name == old else name: value for name, value in data.items()}
        else:
            broken = {**data, "corrupted": True}
    text = to_json(broken)
    return text.decode() if isinstance(frame, str) else text
