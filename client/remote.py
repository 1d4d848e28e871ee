"""The remote board: the article's ``board.find / move / findAll / remove`` over a network.

Every call returns a ``CallResult`` carrying exactly one of the five outcomes; none raises
for a network or server failure, because all five are expected and the caller must
handle each. The article's ``switch error`` reads as::

    result = await board.move("pacman", "left")
    match result.outcome:
        case Outcome.SUCCESS: ...
        case Outcome.POST_FAILED | Outcome.RETRYABLE: ...  # not applied
        case Outcome.FATAL: ...                            # not applied, never will be
        case Outcome.UNKNOWN: ...                          # maybe applied

No call is retried here: each result is one attempt, visible as it happened.
"""

import asyncio
import itertools
import secrets
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, TypeVar

import structlog

from client.errors import ApplyFailed, CallError, Offline
from client.tally import OutcomeTally
from client.timeouts import Timeouts
from client.transport import Connection
from faults.engine import FaultSet, Message
from faults.spec import Domain, FaultKind
from protocol.classify import classify
from protocol.errors import ErrorCode
from protocol.models import (
    OWN_PACMAN,
    Direction,
    ErrorReply,
    FindAllReply,
    FindAllRequest,
    FindReply,
    FindRequest,
    JoinReply,
    JoinRequest,
    LeaveRequest,
    MoveReply,
    MoveRequest,
    OkReply,
    PingRequest,
    RemoveReply,
    RemoveRequest,
    RequestBase,
)
from protocol.outcome import Outcome, Step

R = TypeVar("R", bound=OkReply, covariant=True)

log = structlog.get_logger("pacnet.client")


@dataclass(frozen=True, slots=True)
class CallResult(Generic[R]):
    """How one remote call ended."""

    action: str
    outcome: Outcome
    request_id: str
    latency: float
    """Seconds from the call's start to its end (connecting included, if it had to)."""
    reply: R | None = None
    """The validated reply, on SUCCESS only."""
    code: ErrorCode | None = None
    """The server's error code, on RETRYABLE and FATAL."""
    message: str = ""
    """What went wrong, in words; empty on SUCCESS."""
    step: Step | None = None
    """The step of the round trip it failed at, when the client can tell."""
    retry_after: float | None = None
    """Seconds the server asked us to wait (THROTTLED)."""

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.SUCCESS

    def describe(self) -> str:
        """One line for logs and HUDs, e.g. ``move -> UNKNOWN: no reply in 500 ms``."""
        if self.ok:
            return f"{self.action} -> SUCCESS"
        what = f"{self.code.value}: {self.message}" if self.code else self.message
        return f"{self.action} -> {self.outcome.value}: {what}"


class RemoteBoard:
    """A board that lives on a server, seen by one user.

    Args:
        url: the server's ``ws://`` URL.
        user_id: the user every request acts as.
        timeouts: how long each phase of a call may take.
        client_id: prefix of this client's request ids (random by default).
        faults: the client's own faults (offline, apply_fails); the window's keys and the
            tests switch them. Empty by default.
        trace: log every call as ``call_traced`` (for ``pacnet trace``).

    The connection opens on the first call; if it is lost, later calls end POST_FAILED
    until ``connect()`` opens a new one (which must then ``join`` with the session token).
    """

    def __init__(
        self,
        url: str,
        user_id: str,
        *,
        timeouts: Timeouts | None = None,
        client_id: str | None = None,
        faults: FaultSet | None = None,
        trace: bool = False,
    ) -> None:
        self.url = url
        self.user_id = user_id
        self.timeouts = timeouts or Timeouts()
        self.tally = OutcomeTally()
        self.faults = faults if faults is not None else FaultSet(Domain.CLIENT)
        self.trace = trace
        self.session_token: str | None = None
        self.pacman: str | None = None
        """The name of our pac-man, once joined."""
        self._client_id = client_id or secrets.token_hex(3)
        self._sequence = itertools.count(1)
        self._connection: Connection | None = None
        self._connecting = asyncio.Lock()

    async def __aenter__(self) -> "RemoteBoard":
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def connected(self) -> bool:
        return self._connection is not None and self._connection.is_open

    def statistics(self) -> dict[str, Any]:
        """A snapshot: calls by action and outcome, and the connection's frame counters."""
        transport = self._connection.statistics if self._connection is not None else None
        return {
            "connected": self.connected,
            "calls": {f"{a} {o.value}": n for (a, o), n in sorted(self.tally.counts.items())},
            "transport": vars(transport).copy() if transport is not None else None,
        }

    async def connect(self) -> None:
        """Open a connection now (else the first call opens it).

        Raises:
            ConnectFailed: the server cannot be reached.
        """
        async with self._connecting:
            if not self.connected:
                self._connection = await Connection.open(self.url, self.timeouts)

    async def close(self) -> None:
        """Close the connection; calls still in flight end UNKNOWN."""
        if self._connection is not None:
            await self._connection.close()

    # --- the calls ---

    async def join(self, token: str | None = None) -> CallResult[JoinReply]:
        """Join the board (or resume our user on this connection with ``token``)."""
        result: CallResult[JoinReply] = await self._call(JoinRequest, token=token)
        if result.reply is not None:
            self.session_token, self.pacman = result.reply.session_token, result.reply.name
        return result

    async def find(self, name: str = OWN_PACMAN) -> CallResult[FindReply]:
        """Where is ``name``? (``pacman`` is our own.)"""
        return await self._call(FindRequest, name=name)

    async def move(self, name: str, direction: Direction) -> CallResult[MoveReply]:
        """Move our pac-man one step toward ``direction``."""
        return await self._call(MoveRequest, name=name, direction=direction)

    async def find_all(self, kind: str) -> CallResult[FindAllReply]:
        """Every entity of ``kind`` (``:ghost``, ``:pacman``, ``:pellet``, ``:energizer``)."""
        return await self._call(FindAllRequest, kind=kind)

    async def remove(self, name: str = OWN_PACMAN) -> CallResult[RemoveReply]:
        """Take our pac-man off the board (already gone: SUCCESS with ``removed`` false)."""
        return await self._call(RemoveRequest, name=name)

    async def ping(self) -> CallResult[OkReply]:
        """Tell the server we are still here."""
        return await self._call(PingRequest)

    async def leave(self) -> CallResult[OkReply]:
        """Leave the board: our user and pac-man are removed."""
        return await self._call(LeaveRequest)

    async def _call(self, request_type: type[RequestBase], **fields: Any) -> CallResult[Any]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        request = request_type(
            request_id=f"{self._client_id}-{next(self._sequence)}", user_id=self.user_id, **fields
        )
        action = request.action
        try:
            if self.faults:
                self._inject(FaultKind.OFFLINE, request)
            if self._connection is None:
                await self.connect()
            assert self._connection is not None
            reply = await self._connection.request(request, loop.time() + self.timeouts.reply)
            if self.faults and not isinstance(reply, ErrorReply):
                self._inject(FaultKind.APPLY_FAILS, request)
        except CallError as exc:
            result: CallResult[Any] = CallResult(
                action, classify(exc.observed), request.request_id, loop.time() - start,
                message=str(exc), step=exc.step,
            )  # fmt: skip
        else:
            result = _result_of(action, reply, request.request_id, loop.time() - start)
        self.tally.record(action, result.outcome)
        if self.trace:
            log.info(
                "call_traced", domain="client", requestId=request.request_id,
                userId=self.user_id, action=action, outcome=result.outcome.value,
                step=result.step.name if result.step else None,
                latency_ms=round(result.latency * 1000, 3), message=result.message,
            )  # fmt: skip
        return result

    def _inject(self, kind: FaultKind, request: RequestBase) -> None:
        """Raise the client fault of ``kind`` if one fires for ``request``.

        Raises:
            Offline: OFFLINE fired (before anything is sent).
            ApplyFailed: APPLY_FAILS fired (after a valid reply came).
        """
        message = Message(action=request.action, user=request.user_id)
        loop = asyncio.get_running_loop()
        for fault in self.faults.fire((kind,), message, loop.time()):
            log.info(
                "fault_injected", domain="client", fault=fault.id, kind=kind.value,
                step=fault.step.name, requestId=request.request_id, userId=request.user_id,
                action=request.action,
            )  # fmt: skip
            if kind is FaultKind.OFFLINE:
                raise Offline(f"the client's network is down (fault {fault.id})")
            raise ApplyFailed(
                f"the reply came but the client failed to apply it (fault {fault.id})"
            )


def _result_of(
    action: str, reply: OkReply | ErrorReply, request_id: str, latency: float
) -> CallResult[Any]:
    outcome = classify(reply)
    if isinstance(reply, ErrorReply):
        error = reply.error
        retry_after = reply.retry_after_ms / 1000 if reply.retry_after_ms is not None else None
        return CallResult(
            action, outcome, request_id, latency, code=error.code, message=error.message,
            step=error.code.step, retry_after=retry_after,
        )  # fmt: skip
    return CallResult(action, outcome, request_id, latency, reply=reply)
