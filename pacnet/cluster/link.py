"""The board server's own remote calls, to Redis: the article's recursion, one level down.

In a cluster a board server is itself a client: it keeps its rooms' leases and snapshots in
Redis, and every call it makes there can fail in the same eight places as a player's call to
it, and ends in one of the same five outcomes. One place decides which (``_outcome_of``):

    step                    what goes wrong on a call to Redis                 outcome
    1 POST_REQUEST          no connection: refused, unreachable, connect       POST_FAILED
                            timeout (nothing was sent)
    2 DELIVER_REQUEST       the connection dies once the command is written    UNKNOWN
    3 VALIDATE_REQUEST      Redis refuses it for now: LOADING, BUSY,           RETRYABLE
                            TRYAGAIN, MASTERDOWN
                            Redis refuses it: any other error reply            FATAL
    4 UPDATE_SERVER_STATE   (a script runs whole, or fails with an error
                            reply: one of the two above)
    5/6 POST/DELIVER_REPLY  no reply before the deadline (a stalled Redis, a   UNKNOWN
                            lost reply)
    7 VALIDATE_REPLY        a reply of a shape the caller cannot read          UNKNOWN
    8 UPDATE_CLIENT_STATE   the caller's own business: it gets the result

An UNKNOWN call may have been carried out: the caller decides what it means (a lease renewal
that ended UNKNOWN may have kept the room, or not: the owner stops changing it until it
knows). A timed-out connection is dropped, never reused: a late reply would otherwise be read
as the answer to the next command.

Every call that does not succeed is logged (``store_call``, with the keys every domain's call
lines have: ``outcome``, ``step``, ``latencyMs``, and ``link``, ``call``, ``room``); with
``trace`` every call is.

The link can be broken on purpose, from the server's own fault set (``pacnet chaos add
store_drop --direction reply --action lease.renew``): ``store_refuse`` fails the connection
(nothing sent), ``store_drop`` loses the command on its way (never run) or the reply (run),
``store_delay`` holds either for ``delayMs``. A fault's ``action`` names the call, its ``room``
the room; each that fires is logged ``fault_injected`` with ``link``.
"""

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import structlog
from redis.asyncio.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from pacnet.faults.engine import FaultSet, Message
from pacnet.faults.spec import Direction, Fault, FaultKind
from pacnet.protocol.outcome import Outcome, Step

log = structlog.get_logger("pacnet.server")

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

DEADLINE = 0.5
"""Seconds a call to Redis has, connecting included. Redis answers in a fraction of a
millisecond when it is well; half a second is a hundred ticks of waiting, past which the
caller would rather know it does not know."""

RETRYABLE_ERRORS = ("LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN")
"""Error replies that say "not now": Redis is loading its data, running a long script, moving
a slot, or its primary is away. Any other error reply is definite."""


class BadReply(Exception):
    """A reply the caller cannot read (step 7): raised by a call's ``read``."""


@dataclass(frozen=True)
class StoreResult(Generic[T_co]):
    """How one call to the store ended; ``value`` is its answer when it succeeded."""

    call: str
    outcome: Outcome
    value: T_co | None = None
    step: Step | None = None
    message: str = ""
    latency: float = 0.0

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.SUCCESS


class StoreLink:
    """One connection to a Redis, through which every call is made in turn.

    Args:
        host, port: where Redis listens.
        deadline: seconds each call has, unless the call names its own.
        trace: log every call, not only those that fail.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        deadline: float = DEADLINE,
        trace: bool = False,
        faults: FaultSet | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.deadline = deadline
        self.trace = trace
        self.faults = faults
        """The faults that may break this link (the server's own set), if any."""
        self.calls: dict[tuple[str, str], int] = {}
        """(call, outcome) -> calls made, since the start."""
        self._connection: Connection | None = None
        self._turn = asyncio.Lock()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def call(
        self,
        name: str,
        *command: str | int | float | bytes,
        read: Callable[[Any], T],
        room: str | None = None,
        deadline: float | None = None,
    ) -> StoreResult[T]:
        """Send ``command`` and read its reply through ``read`` (which raises ``BadReply`` for
        a reply it cannot read), within ``deadline`` seconds; never raises for a failure of
        the link or of Redis: the result carries the outcome."""
        start = time.monotonic()
        seconds = self.deadline if deadline is None else deadline
        sent = False
        broken = self._broken(name, room) if self.faults else None
        try:
            async with asyncio.timeout(seconds):
                async with self._turn:
                    if broken is not None:
                        await broken.before(Direction.REQUEST)
                    connection = await self._connected()
                    sent = True
                    if broken is not None:
                        await broken.before(Direction.REQUEST, sent=True)
                    await connection.send_command(*command)
                    reply = await connection.read_response()
                    if broken is not None:
                        await broken.before(Direction.REPLY, sent=True)
            result = StoreResult(name, Outcome.SUCCESS, read(reply))
        except (TimeoutError, RedisTimeoutError, RedisConnectionError, OSError) as exc:
            self._drop()  # a reply may still come: it must never answer the next command
            result = _unreached(name, exc, sent=sent, seconds=seconds)
        except ResponseError as exc:
            retryable = str(exc).startswith(RETRYABLE_ERRORS)
            outcome = Outcome.RETRYABLE if retryable else Outcome.FATAL
            result = StoreResult(name, outcome, step=Step.VALIDATE_REQUEST, message=str(exc))
        except (BadReply, RedisError, ValueError, TypeError) as exc:
            result = StoreResult(
                name, Outcome.UNKNOWN, step=Step.VALIDATE_REPLY, message=f"unreadable: {exc}"
            )
        result = StoreResult(
            name, result.outcome, result.value, result.step, result.message,
            time.monotonic() - start,
        )  # fmt: skip
        self._note(result, room)
        return result

    def _broken(self, name: str, room: str | None) -> "_Broken | None":
        """The faults that hit this call, if any fires."""
        assert self.faults is not None
        now = time.monotonic()
        hits = [
            (direction, fault)
            for direction, kinds in _LINK_KINDS
            for fault in self.faults.fire(
                kinds, Message(action=name, room=room, direction=direction), now
            )
        ]
        if not hits:
            return None
        for _, fault in hits:
            log.info(
                "fault_injected", domain="server", link="redis", fault=fault.id,
                kind=fault.kind.value, direction=fault.direction, step=fault.step.name,
                call=name, room=room,
            )  # fmt: skip
        return _Broken(hits, self.faults.random)

    async def _connected(self) -> Connection:
        """The connection, opened if it is not (a failure here: nothing was sent)."""
        if self._connection is None:
            self._connection = Connection(host=self.host, port=self.port, socket_timeout=None)
            await self._connection.connect()  # type: ignore[no-untyped-call]
        return self._connection

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and connection._writer is not None:
            connection._writer.transport.abort()

    def twin(self) -> "StoreLink":
        """Another link to the same Redis, with the same deadline, tracing and faults, on a
        connection of its own: calls on one never wait behind calls on the other."""
        return StoreLink(
            self.host, self.port, deadline=self.deadline, trace=self.trace, faults=self.faults
        )

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await _quietly_closed(connection)

    def _note(self, result: StoreResult[Any], room: str | None) -> None:
        key = (result.call, result.outcome.value)
        self.calls[key] = self.calls.get(key, 0) + 1
        if result.ok and not self.trace:
            return
        (log.info if result.ok else log.warning)(
            "store_call", domain="server", link="redis", address=self.address,
            call=result.call, room=room, outcome=result.outcome.value,
            step=result.step.name if result.step else None,
            latencyMs=round(result.latency * 1000, 3), message=result.message or None,
        )  # fmt: skip


_LINK_KINDS = (
    (Direction.REQUEST, (FaultKind.STORE_REFUSE, FaultKind.STORE_DROP, FaultKind.STORE_DELAY)),
    (Direction.REPLY, (FaultKind.STORE_DROP, FaultKind.STORE_DELAY)),
)
"""The faults that can hit a call on its way to Redis, and on the reply's way back."""


class _Broken:
    """What the faults that fired do to one call, at each point of its way."""

    def __init__(self, hits: list[tuple[Direction, Fault]], rng: random.Random) -> None:
        self.hits = hits
        self.rng = rng

    async def before(self, direction: Direction, *, sent: bool = False) -> None:
        """Act where the call is: before connecting (``sent`` False, request: a refusal),
        before the command is written (request), or once the reply is read (reply)."""
        for fault_direction, fault in self.hits:
            if fault_direction is not direction:
                continue
            if fault.kind is FaultKind.STORE_REFUSE and not sent:
                raise ConnectionRefusedError(f"Redis refused the connection (fault {fault.id})")
            if not sent:
                continue
            if fault.kind is FaultKind.STORE_DELAY:
                await asyncio.sleep((fault.delay_ms + self.rng.random() * fault.jitter_ms) / 1000)
            elif fault.kind is FaultKind.STORE_DROP:
                await asyncio.Event().wait()  # lost: nothing more comes, until the deadline


def _unreached(name: str, exc: BaseException, *, sent: bool, seconds: float) -> StoreResult[Any]:
    """The result of a call whose connection failed or whose deadline came."""
    if not sent:
        return StoreResult(
            name, Outcome.POST_FAILED, step=Step.POST_REQUEST,
            message="cannot connect to Redis: nothing was sent",
        )  # fmt: skip
    if isinstance(exc, TimeoutError | RedisTimeoutError):
        return StoreResult(
            name, Outcome.UNKNOWN, step=None,
            message=f"no reply within {seconds:g} s: it may have been carried out",
        )  # fmt: skip
    return StoreResult(
        name, Outcome.UNKNOWN, step=None,
        message=f"the connection broke after sending ({exc}): it may have been carried out",
    )  # fmt: skip


async def _quietly_closed(connection: Connection) -> None:
    with contextlib.suppress(RedisError, OSError):
        await connection.disconnect(nowait=True)
