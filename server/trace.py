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
from typing import Any

import structlog

from protocol.models import ErrorReply
from server.pipeline import Exchange, Stage

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
    fields.pop("stage", None)
    fields.pop("step", None)
    reply = exchange.reply
    if exchange.frame is None:
        outcome = "none"
    elif isinstance(reply, ErrorReply):
        outcome = f"error {reply.error.code.value}"
    else:
        outcome = "ok"
    log.info(
        "request_traced",
        domain="server",
        connection=exchange.connection.id,
        stages=stages,
        acted=Stage.REPLY.label in stages,
        reply=outcome,
        total_ms=round((now - start) * 1000, 3),
        **fields,
    )
