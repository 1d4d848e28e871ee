"""The request path, as named stages that follow the article's steps. No I/O.

    stage               article step              what it does
    -----------------   -----------------------   ----------------------------------------
    RECEIVE             2 DELIVER_REQUEST         the frame has arrived
    ADMIT               3 VALIDATE_REQUEST        did it wait too long to be read? then
                                                  OVERLOADED (the server is saturated)
    VALIDATE            3 VALIDATE_REQUEST        parse and validate it (one pass)
    THROTTLE            3 VALIDATE_REQUEST        spend a token of the user's bucket
    LOOKUP_USER         3 VALIDATE_REQUEST        is the user still here, and is it us?
    DEDUPE              3 VALIDATE_REQUEST        a repeat of a mutation already applied?
                                                  then its first reply, not a second go
    REFRESH_KEEPALIVE   3 VALIDATE_REQUEST        the user is alive (the article's step 4)
    UPDATE_STATE        4 UPDATE_SERVER_STATE     act on the board
    REPLY               5 POST_REPLY              encode the reply; the I/O shell sends it

Every stage may refuse with a definite error (nothing changed). A hook sees each stage
before it runs: the place where fault injection plugs in. A hook may refuse (``Refusal``),
swallow the reply (``NoReply``), answer in the stage's place (``Answer``), or crash
(``Crash``, which ``handle`` lets through to the I/O shell). An unexpected exception before
UPDATE_STATE becomes an INTERNAL error, one during or after it becomes no reply at all,
because the server can no longer promise that nothing changed (Maelstrom's rule: never a
definite error under indefinite conditions).
"""

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from pydantic_core import from_json

from pacnet.protocol.actions import MUTATIONS
from pacnet.protocol.codec import (
    DecodeFailure,
    encode,
    encode_trusted,
    read_request,
    read_request_id,
)
from pacnet.protocol.errors import ErrorCode
from pacnet.protocol.models import PROTOCOL_VERSION, ErrorBody, ErrorReply, RequestFields
from pacnet.protocol.outcome import Step
from pacnet.protocol.rooms import DEFAULT_ROOM
from pacnet.server.admission import Admission
from pacnet.server.entities import EntityCache, entity
from pacnet.server.game import Game, Refusal, Session
from pacnet.server.idempotency import action_of, answers


class Stage(Enum):
    """A named stage of the request path, tagged with the article's step."""

    RECEIVE = ("receive", Step.DELIVER_REQUEST)
    ADMIT = ("admit", Step.VALIDATE_REQUEST)
    VALIDATE = ("validate", Step.VALIDATE_REQUEST)
    THROTTLE = ("throttle", Step.VALIDATE_REQUEST)
    LOOKUP_USER = ("lookup_user", Step.VALIDATE_REQUEST)
    DEDUPE = ("dedupe", Step.VALIDATE_REQUEST)
    REFRESH_KEEPALIVE = ("refresh_keepalive", Step.VALIDATE_REQUEST)
    UPDATE_STATE = ("update_state", Step.UPDATE_SERVER_STATE)
    REPLY = ("reply", Step.POST_REPLY)

    @property
    def label(self) -> str:
        return self.value[0]

    @property
    def step(self) -> Step:
        return self.value[1]


# Read once: each read of an enum's member goes through its metaclass's ``__getattr__``, a
# tenth of a microsecond, twice on the path of every request.
_ADMIT, _VALIDATE, _REPLY = Stage.ADMIT, Stage.VALIDATE, Stage.REPLY


class _Shed(Exception):
    """Raised by ADMIT: the request waited too long to be read (``Pipeline._shed``)."""


SHED_MESSAGE = "the server is overloaded: the request waited too long to be read"
_SHED_ERROR = {"code": ErrorCode.OVERLOADED.value, "retryable": True, "message": SHED_MESSAGE}
SHED = ErrorReply(
    request_id=None, clock=0,
    error=ErrorBody(code=ErrorCode.OVERLOADED, retryable=True, message=SHED_MESSAGE),
)  # fmt: skip
"""The ``reply`` of every shed exchange: how it ended, for the logs and the metrics. The frame
sent has the request's own id, the clock and the retry hint."""


class NoReply(Exception):
    """Raised by a hook to end the exchange without any reply."""


class Answer(Exception):
    """Raised by a hook to reply with ``reply`` (wire form) instead of running the stage."""

    def __init__(self, reply: dict[str, Any]) -> None:
        super().__init__("answered by a hook")
        self.reply = reply


class Crash(Exception):
    """Raised by a hook: the server dies on the spot (``exit``) or drops only this
    connection (``abort``). It passes through ``handle``: the I/O shell does the dying."""

    def __init__(self, mode: str) -> None:
        super().__init__(f"crash ({mode})")
        self.mode = mode
        self.exchange: Exchange | None = None
        """The exchange it cut short (set by ``handle``), for the trace."""


@dataclass(slots=True)
class ConnectionState:
    """What the server knows of one connection: its id and the user it acts as."""

    id: int
    peer: str = "?"
    room: str = DEFAULT_ROOM
    """The room it plays in (chosen by the path it connected to)."""
    user_id: str | None = None
    throttle_key: str = ""
    """Whose token bucket this connection's requests spend: its user's once it joined, its
    own before. Never the userId a frame claims, or a connection could drain another user's
    bucket by naming them."""

    def __post_init__(self) -> None:
        self.act_as(self.user_id)

    def act_as(self, user_id: str | None) -> None:
        """Bind the connection to ``user_id`` (None: to no one)."""
        self.user_id = user_id
        self.throttle_key = f"user:{user_id}" if user_id is not None else f"connection:{self.id}"


@dataclass(slots=True)
class Exchange:
    """One request's trip through the stages, and how it ended."""

    connection: ConnectionState
    raw: str | bytes
    now: float
    waited: float = 0.0
    """Seconds the frame waited between arriving and being read (``ADMIT`` judges it)."""
    stage: Stage = Stage.RECEIVE
    request: RequestFields | None = None
    """The request's fields, once VALIDATE has read them."""
    session: Session | None = None
    reply: dict[str, Any] | ErrorReply | None = None
    """A success reply in wire form, or an error reply."""
    frame: bytes | None = None
    """The encoded reply (UTF-8 JSON) to send as a text frame, or None: send nothing."""
    crash: BaseException | None = None
    repeated: bool = False
    """Answered with the reply to an earlier identical request (nothing was done again)."""
    trace: list[tuple[str, float]] | None = None
    """(stage, perf_counter seconds) as each stage began, when a tracing hook keeps them."""

    def identity(self) -> tuple[str | None, str | None, str | None]:
        """(requestId, action, userId): from the decoded request once there is one, else
        from a lenient look at the raw frame (a crash fault strikes before decoding)."""
        request = self.request
        if request is not None:
            return request["request_id"], request["action"], request["user_id"]
        try:
            data: Any = from_json(self.raw)
        except ValueError:
            return None, None, self.connection.user_id
        if not isinstance(data, dict):
            return None, None, self.connection.user_id
        fields = (data.get("requestId"), data.get("action"), data.get("userId"))
        request_id, action, user = (value if isinstance(value, str) else None for value in fields)
        return request_id, action, user or self.connection.user_id

    @property
    def failed(self) -> bool:
        """Whether the request did not end in a success reply."""
        # (A success reply is a dict; isinstance of a pydantic model's class is an ABC's
        # __instancecheck__, four times as slow, and this runs for every request.)
        return self.frame is None or not isinstance(self.reply, dict)

    @property
    def code(self) -> str:
        """How the request ended, as the logs and the metrics name it: ``ok``, the error
        code of its reply, or ``NO_REPLY`` when nothing was sent (``failed`` unless ``ok``)."""
        reply = self.reply
        if self.frame is None:
            return "NO_REPLY"
        if isinstance(reply, dict):
            return "ok"
        assert isinstance(reply, ErrorReply)  # a frame is made from a reply
        return reply.error.code.value

    def log_context(self) -> dict[str, Any]:
        """Whose request this is, keyed as every domain's log lines key it (the wire's own
        names): ``requestId``, ``userId``, ``action``, and its ``room``. Made once per log
        line, and only when one is written: the calm path never pays for it."""
        request_id, action, user_id = self.identity()
        return {
            "requestId": request_id, "userId": user_id, "action": action,
            "room": self.connection.room,
        }  # fmt: skip

    def log_fields(self) -> dict[str, Any]:
        """``log_context``, and where the request ended: its stage, step and error code."""
        fields = self.log_context()
        fields["stage"] = self.stage.label
        fields["step"] = self.stage.step.name
        if (code := self.code) != "ok":
            fields["code"] = code
        return fields


StageRun = Callable[[Exchange], None]
StageHook = Callable[[Stage, Exchange], None]
"""Called before each stage runs; may raise Refusal, NoReply, Answer or Crash."""


class Pipeline:
    """Turns one received frame into at most one reply frame, acting on the game.

    Args:
        game: the game the requests act on.
        hooks: called before every stage, in order (fault injection, tracing).
        admission: which requests a saturated server still serves (None: every one).
    """

    def __init__(
        self, game: Game, hooks: Sequence[StageHook] = (), *, admission: Admission | None = None
    ) -> None:
        self.game = game
        if admission is None:
            admission = Admission(0.0, 0.0, 0.0, random.Random(0))
        self.admission = admission
        self.hooks = list(hooks)
        self._admit = admission.admit
        self._entities = EntityCache()
        # The per-request calls into the game's tables, bound once: these run for every request.
        self._take_token = game.throttle.take
        self._heard = game.keepalive.refresh
        self._session_for = game.session_for
        self._stages: tuple[tuple[Stage, StageRun], ...] = (
            (Stage.RECEIVE, _nothing),
            (Stage.ADMIT, self._admission),
            (Stage.VALIDATE, self._validate),
            (Stage.THROTTLE, self._throttle),
            (Stage.LOOKUP_USER, self._lookup_user),
            (Stage.DEDUPE, self._dedupe),
            (Stage.REFRESH_KEEPALIVE, self._refresh_keepalive),
            (Stage.UPDATE_STATE, self._update_state),
        )
        # Each action's handler, given the request's fields and the reply to fill in.
        self._actions: dict[str, Callable[[Exchange, RequestFields, dict[str, Any]], None]] = {
            "join": self._join,
            "find": self._find,
            "move": self._move,
            "findAll": self._find_all,
            "remove": self._remove,
            "ping": self._ping,
            "leave": self._leave,
            "report": self._report,
        }
        self._calm_stages: dict[str, tuple[tuple[Stage, StageRun], ...]] = {
            action: tuple(
                (stage, run) for stage, run in self._stages[3:]
                if stage is not Stage.DEDUPE or action in MUTATIONS
            )
            for action in self._actions
        }  # fmt: skip
        """Without hooks, the stages after VALIDATE that each action needs. The others would do
        nothing: RECEIVE is there for hooks to act on arrival, and DEDUPE passes a read by
        (only mutations are remembered). ADMIT runs first, inline."""

    def handle(
        self, connection: ConnectionState, raw: str | bytes, now: float, waited: float = 0.0
    ) -> Exchange:
        """Run one frame, read at ``now`` after ``waited`` seconds in the queue, through every
        stage.

        Returns the exchange; the caller must send ``exchange.frame`` on the connection as a
        text frame if it is not None, and should log the exchange if ``exchange.failed``.
        """
        exchange = Exchange(connection, raw, now, waited)
        hooks = self.hooks
        try:
            if not hooks:  # as usual: no fault on, no tracing
                if not self._admit(waited, now):
                    return self._shed(exchange)
                exchange.stage = _VALIDATE
                self._validate(exchange)
                assert exchange.request is not None
                calm = self._calm_stages[exchange.request["action"]]
                for exchange.stage, run in calm:  # (the stage noted as it runs)
                    run(exchange)
                exchange.stage = _REPLY
            else:
                for stage, run in self._stages:
                    exchange.stage = stage
                    for hook in hooks:
                        hook(stage, exchange)
                    run(exchange)
                exchange.stage = _REPLY
                for hook in hooks:
                    hook(_REPLY, exchange)
        except Refusal as refusal:
            exchange.reply = self._error(
                exchange, refusal.code, refusal.message, refusal.retry_after,
                read_request_id(exchange.raw) if exchange.request is None else None,
            )  # fmt: skip
        except DecodeFailure as failure:
            exchange.reply = self._error(
                exchange, failure.code, failure.message, None, failure.request_id
            )
        except NoReply:
            return exchange
        except _Shed:
            return self._shed(exchange)
        except Answer as answer:
            exchange.reply = answer.reply
        except Crash as crash:
            crash.exchange = exchange
            raise
        except Exception as exc:  # a server bug: answer only if nothing can have changed
            exchange.crash = exc
            if exchange.stage.step >= Step.UPDATE_SERVER_STATE:
                return exchange
            exchange.reply = self._error(
                exchange, ErrorCode.INTERNAL, "internal server error", None
            )
        reply = exchange.reply
        if isinstance(reply, dict):
            exchange.frame = encode_trusted(reply)
        elif reply is not None:
            exchange.frame = encode(reply).encode()
        return exchange

    # --- stages ---

    def _admission(self, exchange: Exchange) -> None:
        if not self._admit(exchange.waited, exchange.now):
            raise _Shed

    def _shed(self, exchange: Exchange) -> Exchange:
        """Refuse a request that waited too long to be read, before it is even validated:
        the reply is written straight from its fields, so that a refusal costs less than the
        request it saves (a third of a ``find``'s time in the pipeline, where an error reply
        through its model costs twice a ``find``'s)."""
        exchange.stage = _ADMIT
        exchange.reply = SHED
        exchange.frame = encode_trusted({
            "v": PROTOCOL_VERSION, "requestId": read_request_id(exchange.raw),
            "clock": self.game.board.clock, "status": "error", "error": _SHED_ERROR,
            "retryAfterMs": max(1, round(self.admission.retry_after() * 1000)),
        })  # fmt: skip
        return exchange

    def _validate(self, exchange: Exchange) -> None:
        exchange.request = read_request(exchange.raw)

    def _throttle(self, exchange: Exchange) -> None:
        wait = self._take_token(exchange.connection.throttle_key, exchange.now)
        if wait > 0.0:
            limits = self.game.limits
            raise Refusal(
                ErrorCode.THROTTLED,
                f"too many requests: at most {limits.rate:g}/s, bursts of {limits.burst}",
                retry_after=wait,
            )

    def _lookup_user(self, exchange: Exchange) -> None:
        request, connection = exchange.request, exchange.connection
        assert request is not None
        user_id, acting_as = request["user_id"], connection.user_id
        if acting_as is not None and acting_as != user_id:
            raise Refusal(
                ErrorCode.FORBIDDEN,
                f"this connection acts as user {acting_as!r}, not {user_id!r}",
            )
        if request["action"] != "join":  # join finds or makes its session itself
            exchange.session = self._session_for(user_id, connection.id)

    def _dedupe(self, exchange: Exchange) -> None:
        request, connection = exchange.request, exchange.connection
        assert request is not None
        if request["action"] not in MUTATIONS:
            return
        first = self.game.replies.get(request, exchange.now)
        if first is None:
            return
        if not answers(first, request):
            raise Refusal(
                ErrorCode.REQUEST_ID_REUSED,
                f"requestId {request['request_id']!r} was already used for a different "
                f"{action_of(first)}; use a new requestId for a new request",
            )
        user_id = request["user_id"]
        if connection.user_id != user_id:
            return  # a join from a connection not (yet) acting as them: not theirs to repeat
        if exchange.session is not None:
            self._heard(user_id, exchange.now)  # a repeat is a sign of life
        exchange.repeated = True
        _, first_reply, _ = first
        raise Answer(first_reply)

    def _refresh_keepalive(self, exchange: Exchange) -> None:
        session = exchange.session
        if session is not None:  # any request is a sign of life
            self._heard(session.user_id, exchange.now)

    def _update_state(self, exchange: Exchange) -> None:
        request = exchange.request
        assert request is not None
        reply = {
            "v": PROTOCOL_VERSION,
            "requestId": request["request_id"],
            "clock": self.game.board.clock,
            "status": "ok",
        }
        action = request["action"]
        self._actions[action](exchange, request, reply)
        exchange.reply = reply
        # The cache keeps mutations' replies only (MUTATIONS is its list): a read is not even
        # offered, which would cost a call a read. Nor is anything after a leave.
        if action in MUTATIONS and request["user_id"] in self.game.sessions:
            self.game.replies.put(request, reply, exchange.now)

    # --- actions: each adds its payload to the success reply, in wire form (the tests check
    # every kind against its model) ---

    def _join(self, exchange: Exchange, request: RequestFields, reply: dict[str, Any]) -> None:
        game, user_id = self.game, request["user_id"]
        admission = self.admission
        now = exchange.now
        crowded = admission.join_retry_after(now) if admission.crowded(now) else None
        session, pacman, resumed = game.join(
            user_id, request["token"], exchange.connection.id, exchange.now, crowded
        )
        exchange.session = session
        exchange.connection.act_as(user_id)
        layout = game.board.layout
        reply.update(
            name=session.pacman, sessionToken=session.token, width=layout.width,
            height=layout.height, maze=layout.rows(), resumed=resumed, score=pacman.score,
            lives=pacman.lives, tickRate=game.board.tick_rate,
            pacmanSpeed=game.board.pacman_speed,
        )  # fmt: skip

    def _find(self, exchange: Exchange, request: RequestFields, reply: dict[str, Any]) -> None:
        assert exchange.session is not None  # LOOKUP_USER found it
        piece = self.game.find(exchange.session, request["name"])
        entity(piece, self.game.board.flashing(), reply)

    def _move(self, exchange: Exchange, request: RequestFields, reply: dict[str, Any]) -> None:
        assert exchange.session is not None  # LOOKUP_USER found it
        piece = self.game.move(
            exchange.session, request["name"], request["direction"], request["seq"]
        )
        reply["xPos"] = piece.x
        reply["yPos"] = piece.y
        if piece.last_seq is not None:
            reply["lastSeq"] = piece.last_seq

    def _find_all(self, exchange: Exchange, request: RequestFields, reply: dict[str, Any]) -> None:
        kind = request["kind"]
        pieces = self.game.find_all(kind)
        reply["level"] = self.game.board.level
        reply["entities"] = self._entities.encode(kind, pieces, self.game.board.flashing())

    def _remove(self, exchange: Exchange, request: RequestFields, reply: dict[str, Any]) -> None:
        assert exchange.session is not None  # LOOKUP_USER found it
        reply["removed"] = self.game.remove(exchange.session, request["name"])

    def _leave(self, exchange: Exchange, request: RequestFields, reply: dict[str, Any]) -> None:
        assert exchange.session is not None
        self.game.leave(exchange.session)

    def _ping(self, exchange: Exchange, request: RequestFields, reply: dict[str, Any]) -> None:
        pass

    def _report(self, exchange: Exchange, request: RequestFields, reply: dict[str, Any]) -> None:
        assert exchange.session is not None
        seq = request["seq"]
        assert seq is not None  # required in a report (its model says so; move's is optional)
        self.game.reports.record(
            exchange.session.user_id, request["exercise"], seq, request["counts"], exchange.now
        )

    def _error(
        self,
        exchange: Exchange,
        code: ErrorCode,
        message: str,
        retry_after: float | None,
        request_id: str | None = None,
    ) -> ErrorReply:
        if exchange.request is not None:
            request_id = exchange.request["request_id"]
        return ErrorReply(
            request_id=request_id,
            clock=self.game.board.clock,
            error=ErrorBody(code=code, retryable=code.retryable, message=message),
            retry_after_ms=None if retry_after is None else max(1, round(retry_after * 1000)),
        )


def _nothing(exchange: Exchange) -> None:
    """RECEIVE: the frame is here; the stage exists so hooks can act on arrival."""
