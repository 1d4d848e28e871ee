"""Request tracing (``pacnet serve --trace``): when each stage of each request began, logged
once the request is done, so ``pacnet trace`` can show where the time went and whether the
server really acted, beside what the client and the network saw.

    {"event": "request_traced", "domain": "server", "requestId": "c7-42", "action": "move",
     "stages": {"receive": 0.0, "validate": 0.011, ..., "reply": 0.052, "sent": 0.081},
     "acted": true, "reply": "ok", ...}

Stage times are milliseconds since the frame was received, from one process's monotonic
clock. ``acted`` is true when the request got past UPDATE_STATE: the board changed (for a
mutation) even if no reply was ever sent.
"""

import time
from collections import deque
from typing import Any

import structlog

from pacnet.protocol.feeds import TruthEntry, TruthView
from pacnet.protocol.models import ErrorReply
from pacnet.server.pipeline import Exchange, Stage

log = structlog.get_logger("pacnet.server")


def trace_stages(stage: Stage, exchange: Exchange) -> None:
    """A pipeline hook: note when ``stage`` begins."""
    if exchange.trace is None:
        exchange.trace = []
    exchange.trace.append((stage.label, time.perf_counter()))


def log_trace(exchange: Exchange, sent: bool) -> None:
    """Log the trace of a finished exchange (``sent``: its reply frame went out)."""
    marks = exchange.trace
    if not marks:
        return
    now = time.perf_counter()
    start = marks[0][1]
    stages: dict[str, float] = {label: round((t - start) * 1000, 3) for label, t in marks}
    if sent:
        stages["sent"] = round((now - start) * 1000, 3)
    fields: dict[str, Any] = exchange.log_fields()
    del fields["stage"], fields["step"]  # the stages it reached are in ``stages``
    outcome = reply_summary(exchange)
    log.info(
        "request_traced",
        domain="server",
        connection=exchange.connection.id,
        stages=stages,
        acted=Stage.REPLY.label in stages,
        repeated=exchange.repeated,
        reply=outcome,
        totalMs=round((now - start) * 1000, 3),
        **fields,
    )


def reply_summary(exchange: Exchange) -> str:
    """What the server sent back: ``ok``, ``error CODE``, or ``none``."""
    reply = exchange.reply
    if exchange.frame is None:
        return "none"
    if isinstance(reply, ErrorReply):
        return f"error {reply.error.code.value}"
    return "ok"


class Truth:
    """The latest requests of each user as the server really handled them, for the
    read-only ``/truth`` feed: the window holds its outcomes against it, live.

    Bounded: ``keep`` requests per user (four seconds of the window's loop), and only users
    the game still has (``prune``).
    """

    def __init__(self, *, tracing: bool, keep: int = 128) -> None:
        self.tracing = tracing
        self.keep = keep
        self._by_user: dict[str, deque[TruthEntry]] = {}

    def record(self, exchange: Exchange) -> None:
        request_id, action, _ = exchange.identity()
        marks = exchange.trace
        # Whose it is: the connection's user, never a userId an unread frame merely claims.
        request = exchange.request
        user_id = exchange.connection.user_id or (request["user_id"] if request else None)
        if request_id is None or not 0 < len(request_id) <= 64 or user_id is None or not marks:
            return  # nothing to tell, or no one to tell it to
        entry = TruthEntry(
            request_id=request_id,
            action=action or "?",
            acted=any(label == Stage.REPLY.label for label, _ in marks),
            reply=reply_summary(exchange),
        )
        entries = self._by_user.get(user_id)
        if entries is None:
            entries = self._by_user[user_id] = deque(maxlen=self.keep)
        entries.append(entry)

    def view(self, user_id: str) -> TruthView:
        entries = list(self._by_user.get(user_id, ()))
        return TruthView(user_id=user_id, tracing=self.tracing, entries=entries)

    def prune(self, users: set[str] | dict[str, Any]) -> None:
        """Forget users no longer in ``users``."""
        for user_id in [u for u in self._by_user if u not in users]:
            del self._by_user[user_id]
