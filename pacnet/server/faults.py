"""The server's fault domain: faults injected inside the request pipeline, at the stage
where each failure really happens.

    fault         stage (step)              what the server does
    -----------   -----------------------   ------------------------------------------------
    crash         RECEIVE (2)               exits (``exit``) or drops the connection
                                            (``abort``) before doing anything
    reject        THROTTLE (3)              refuses the request as INVALID_MESSAGE
    update_fails  UPDATE_STATE (4)          STATE_UPDATE_FAILED; the update never runs
    disk_full     UPDATE_STATE (4)          answers at once with an empty ``ok`` reply and
                                            does nothing (the article's catalog server);
                                            ``GET /lobby`` (``action: lobby``) answers at
                                            once with no rooms, and ``/healthz?store=1``
                                            says the store cannot be read
    no_reply      REPLY (5)                 the update is done; no reply is sent
    bad_version   REPLY (5)                 the update is done; the reply says ``"v": 2``

At one stage only one fault applies (each ends or rewrites the request): the first added
that fires. ``reject`` runs once the request is decoded (still step 3), so its error reply
echoes the requestId and the action and user filters can apply. Every fault that fires is logged as
``fault_injected`` with the requestId it hit.
"""

import structlog

from pacnet.faults.engine import FaultSet, Message
from pacnet.faults.spec import Fault, FaultKind
from pacnet.protocol.errors import ErrorCode
from pacnet.server.game import Refusal
from pacnet.server.pipeline import Answer, Crash, Exchange, NoReply, Stage

log = structlog.get_logger("pacnet.server")

_AT: dict[Stage, tuple[FaultKind, ...]] = {
    Stage.RECEIVE: (FaultKind.CRASH,),
    Stage.THROTTLE: (FaultKind.REJECT,),
    Stage.UPDATE_STATE: (FaultKind.UPDATE_FAILS, FaultKind.DISK_FULL),
    Stage.REPLY: (FaultKind.NO_REPLY, FaultKind.BAD_VERSION),
}


class ServerFaults:
    """A pipeline hook that injects the server's faults from ``faults``."""

    def __init__(self, faults: FaultSet, *, room: str | None = None) -> None:
        self.faults = faults
        self.room = room
        """The room whose requests it sees (a fault may name one)."""

    def __call__(self, stage: Stage, exchange: Exchange) -> None:
        if not self.faults:
            return
        kinds = _AT.get(stage)
        if kinds is None:
            return
        _, action, user = exchange.identity()
        message = Message(
            action=action, user=user, connection=exchange.connection.id, room=self.room
        )
        for fault in self.faults.fire(kinds, message, exchange.now, first=True):
            log.info(
                "fault_injected", domain="server", fault=fault.id, kind=fault.kind.value,
                step=fault.step.name, stage=stage.label, **exchange.log_context(),
            )  # fmt: skip
            _inject(fault, exchange)


def _inject(fault: Fault, exchange: Exchange) -> None:
    match fault.kind:
        case FaultKind.CRASH:
            raise Crash(fault.crash.value)
        case FaultKind.REJECT:
            raise Refusal(ErrorCode.INVALID_MESSAGE, f"rejected as invalid (fault {fault.id})")
        case FaultKind.UPDATE_FAILS:
            raise Refusal(
                ErrorCode.STATE_UPDATE_FAILED, f"the state update failed (fault {fault.id})"
            )
        case FaultKind.DISK_FULL:
            request = exchange.request
            assert request is not None  # UPDATE_STATE comes after VALIDATE
            raise Answer({"v": 1, "requestId": request["request_id"], "status": "ok"})
        case FaultKind.NO_REPLY:
            raise NoReply
        case FaultKind.BAD_VERSION:
            if isinstance(exchange.reply, dict):
                exchange.reply = {**exchange.reply, "v": 2}
