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

Without a retry policy each result is one attempt, visible as it happened; with one
(``pacnet.client.retry``), the result is the call's last attempt and lists every attempt.
"""

import asyncio
import contextlib
import itertools
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Generic, TypeVar

import structlog

from pacnet.client.errors import ApplyFailed, CallError, ConnectFailed, Offline
from pacnet.client.retry import Reconnects, RetryBudget, RetryPolicy, spends_budget, worth_retrying
from pacnet.client.tally import OutcomeTally
from pacnet.client.timeouts import Timeouts
from pacnet.client.transport import Connection
from pacnet.faults.engine import FaultSet, Message
from pacnet.faults.spec import Domain, FaultKind
from pacnet.protocol.classify import classify
from pacnet.protocol.errors import ErrorCode
from pacnet.protocol.models import (
    OWN_PACMAN,
    CallCount,
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
    ReportRequest,
    RequestBase,
)
from pacnet.protocol.outcome import Outcome, Step
from pacnet.protocol.rooms import room_of

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
    attempts: tuple["Attempt", ...] = ()
    """Every attempt of the call, in order, when a retry policy made them (else empty: the
    call was its one attempt)."""

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.SUCCESS

    def describe(self) -> str:
        """One line for logs and HUDs, e.g. ``move -> UNKNOWN: no reply in 500 ms``."""
        if self.ok:
            return f"{self.action} -> SUCCESS"
        what = f"{self.code.value}: {self.message}" if self.code else self.message
        return f"{self.action} -> {self.outcome.value}: {what}"


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt of a call: how it ended, how long it took, how long was waited before it."""

    outcome: Outcome
    latency: float
    wait: float
    code: ErrorCode | None = None


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
        policy: how calls are retried (``pacnet.client.retry``); None: every call is one attempt,
            its outcome as it happened (the demo, the tests of single outcomes).
        rng: the source of the backoff's jitter (seed it to make waits exact).
        sleep: how to wait between attempts (tests pass their own clock's).

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
        policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.url = url
        self.room = room_of(url)
        """The room it plays in: the one its URL names (``pacnet.protocol.rooms``)."""
        self.user_id = user_id
        self.timeouts = timeouts or Timeouts()
        self.tally = OutcomeTally()
        self.faults = faults if faults is not None else FaultSet(Domain.CLIENT)
        self.trace = trace
        self.policy = policy
        self.budget = RetryBudget(policy or RetryPolicy())
        """The retry budget this board's calls share."""
        self.rng = rng or random.Random()
        self.sleep = sleep
        self.last_call_at = float("-inf")
        """Loop time the latest call began (``keep_alive`` pings after a quiet spell)."""
        self.reconnects = Reconnects()
        """When this board may next try to connect, after failed tries."""
        self.attempts = OutcomeTally()
        """Every attempt, by action and outcome (``tally`` counts each call once, by how it
        ended)."""
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

        After a failed try, the next one waits a jittered, growing backoff (``Reconnects``):
        a call before then fails at once, as POST_FAILED, without touching the network, so a
        crowd of clients that lost one server comes back spread out, not as one wave.

        Raises:
            ConnectFailed: the server cannot be reached, or it is too soon to try again.
        """
        async with self._connecting:
            if self.connected:
                return
            now = asyncio.get_running_loop().time()
            self.reconnects.check(now)
            try:
                self._connection = await Connection.open(self.url, self.timeouts)
            except ConnectFailed as exc:
                self.reconnects.failed(now, str(exc), self.rng)
                raise
            self.reconnects.succeeded()

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

    async def move(
        self, name: str, direction: Direction, seq: int | None = None
    ) -> CallResult[MoveReply]:
        """Steer our pac-man toward ``direction``. ``seq`` numbers the move among this
        session's moves: the server acknowledges the highest it applied (``last_seq``) and
        ignores a late one it already overtook."""
        return await self._call(MoveRequest, name=name, direction=direction, seq=seq)

    async def find_all(self, kind: str) -> CallResult[FindAllReply]:
        """Every entity of ``kind`` (``:ghost``, ``:pacman``, ``:pellet``, ``:energizer``)."""
        return await self._call(FindAllRequest, kind=kind)

    async def remove(self, name: str = OWN_PACMAN) -> CallResult[RemoveReply]:
        """Take our pac-man off the board (already gone: SUCCESS with ``removed`` false)."""
        return await self._call(RemoveRequest, name=name)

    async def ping(self) -> CallResult[OkReply]:
        """Tell the server we are still here."""
        return await self._call(PingRequest)

    async def keep_alive(self, every: float) -> None:
        """Run until cancelled: ``ping`` whenever no call has been made for ``every`` seconds,
        so a quiet client is not taken for a gone one. Any call counts as a sign of life;
        pick ``every`` well inside the server's keepalive timeout (a third of it, say)."""
        loop = asyncio.get_running_loop()
        while True:
            idle = loop.time() - self.last_call_at
            if idle >= every:
                await self.ping()
                continue
            await self.sleep(every - idle)

    async def leave(self) -> CallResult[OkReply]:
        """Leave the board: our user and pac-man are removed."""
        return await self._call(LeaveRequest)

    async def report(self, exercise: int, seq: int, counts: list[CallCount]) -> CallResult[OkReply]:
        """Tell the server how our calls ended, for the room's view (``pacnet.server.reports``).

        One attempt, never retried and not counted among our calls: the counts are cumulative,
        so the next report makes good a lost one, and ``seq`` (counting up) lets the server
        ignore one that arrives late. The caller need not look at the result.
        """
        request = ReportRequest(
            request_id=f"{self._client_id}-{next(self._sequence)}", user_id=self.user_id,
            exercise=exercise, seq=seq, counts=counts,
        )  # fmt: skip
        self.last_call_at = asyncio.get_running_loop().time()
        result: CallResult[OkReply] = await self._attempt(request, None)
        return result

    async def _call(self, request_type: type[RequestBase], **fields: Any) -> CallResult[Any]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        sent_at = time.time() if self.trace else 0.0  # the wall clock other domains log by
        request = request_type(
            request_id=f"{self._client_id}-{next(self._sequence)}", user_id=self.user_id, **fields
        )
        self.last_call_at = start
        if self.policy is None:
            result = await self._attempt(request, None)
            self.attempts.record(request.action, result.outcome)
        else:
            result = await self._with_retries(request, self.policy, start)
        self.tally.record(request.action, result.outcome)
        if self.trace:
            _log_of(request, self.room).info(
                "call_traced", outcome=result.outcome.value,
                step=result.step.name if result.step else None,
                latencyMs=round(result.latency * 1000, 3), message=result.message,
                attempts=max(1, len(result.attempts)),
                sentAt=datetime.fromtimestamp(sent_at, UTC).isoformat(),
            )  # fmt: skip
        return result

    async def _with_retries(
        self, request: RequestBase, policy: RetryPolicy, start: float
    ) -> CallResult[Any]:
        """Attempt ``request`` until it succeeds, cannot succeed, or its deadline comes; every
        attempt has the same requestId, so the server answers a repeat from memory."""
        loop = asyncio.get_running_loop()
        deadline = start + policy.deadline_of(request.action)
        attempts: list[Attempt] = []
        wait = 0.0
        while True:
            if self._connection is not None and not self.connected:  # it dropped: reconnect
                self.reconnects.lost(loop.time(), self.rng)  # once per loss: jittered
                due = self.reconnects.not_before - loop.time()
                if due > 0 and loop.time() + due < deadline:  # no attempt before the try
                    await self.sleep(due)
                    wait += due
                await self._reconnect(request.action, deadline)
            attempt_deadline = min(deadline, loop.time() + policy.attempt_timeout)
            result = await self._attempt(request, attempt_deadline)
            self.attempts.record(request.action, result.outcome)
            attempts.append(Attempt(result.outcome, result.latency, wait, result.code))
            if result.outcome is Outcome.SUCCESS:
                self.budget.succeeded()
                break
            if spends_budget(result.outcome):
                self.budget.failed()
            if not worth_retrying(result.outcome) or len(attempts) >= policy.max_attempts:
                break
            if spends_budget(result.outcome) and not self.budget.allows:
                break  # a sick server: fail fast with what we know
            wait = policy.backoff(
                len(attempts), self.rng, throttled=result.code is ErrorCode.THROTTLED,
                retry_after=result.retry_after,
            )  # fmt: skip
            if not self.connected:  # an attempt before the next reconnection try is futile
                self.reconnects.lost(loop.time(), self.rng)
                wait = max(wait, self.reconnects.not_before - loop.time())
            if loop.time() + wait >= deadline:
                break
            await self.sleep(wait)
        return replace(result, latency=loop.time() - start, attempts=tuple(attempts))

    async def _reconnect(self, action: str, deadline: float) -> None:
        """A fresh connection, and our session resumed on it with its token (unless this
        call is the join itself). Failures are left for the next attempt to meet."""
        with contextlib.suppress(CallError):
            await self.connect()
        if action != "join" and self.session_token is not None and self.connected:
            request = JoinRequest(
                request_id=f"{self._client_id}-{next(self._sequence)}", user_id=self.user_id,
                token=self.session_token,
            )  # fmt: skip
            resumed = await self._attempt(request, deadline)
            self.tally.record("join", resumed.outcome)
            self.attempts.record("join", resumed.outcome)

    async def _attempt(self, request: RequestBase, deadline: float | None) -> CallResult[Any]:
        """One attempt: send ``request``, wait for its reply until ``deadline`` (loop time;
        None: ``timeouts.reply`` from when the connection is open, connecting aside)."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        action = request.action
        try:
            if self.faults:
                self._inject(FaultKind.OFFLINE, request)
            if self._connection is None:
                await self.connect()
            assert self._connection is not None
            if deadline is None:
                deadline = loop.time() + self.timeouts.reply
            reply = await self._connection.request(request, deadline)
            if self.faults and not isinstance(reply, ErrorReply):
                self._inject(FaultKind.APPLY_FAILS, request)
        except CallError as exc:
            return CallResult(
                action, classify(exc.observed), request.request_id, loop.time() - start,
                message=str(exc), step=exc.step,
            )  # fmt: skip
        return _result_of(action, reply, request.request_id, loop.time() - start)

    def _inject(self, kind: FaultKind, request: RequestBase) -> None:
        """Raise the client fault of ``kind`` if one fires for ``request``.

        Raises:
            Offline: OFFLINE fired (before anything is sent).
            ApplyFailed: APPLY_FAILS fired (after a valid reply came).
        """
        message = Message(action=request.action, user=request.user_id, room=self.room)
        loop = asyncio.get_running_loop()
        for fault in self.faults.fire((kind,), message, loop.time()):
            _log_of(request, self.room).info(
                "fault_injected", fault=fault.id, kind=kind.value, step=fault.step.name
            )
            if kind is FaultKind.OFFLINE:
                raise Offline(f"the client's network is down (fault {fault.id})")
            raise ApplyFailed(
                f"the reply came but the client failed to apply it (fault {fault.id})"
            )


def _log_of(request: RequestBase, room: str) -> Any:
    """The client's logger bound to whose call this is, keyed as every domain keys it."""
    return log.bind(
        domain="client", requestId=request.request_id, userId=request.user_id,
        action=request.action, room=room,
    )  # fmt: skip


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
