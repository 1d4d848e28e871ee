"""The protocol's actions, stated once: what each is called, its request and success reply,
and whether it changes the board.

Everything else is derived from this table: the decoder's map from ``action`` to request model
(``REQUEST_TYPES``), the client's map to the reply it validates against
(``SUCCESS_REPLY_TYPES``), the actions the server remembers replies of and ``pacnet trace``
holds to "applied at most once" (``MUTATIONS``), the JSON Schemas and ``docs/protocol.md``.
The ``Action`` literal and the ``Request`` union in ``models`` are spelled out for the type
checker and pydantic; ``tests/test_protocol_core.py`` proves they list exactly these actions,
as the server's handlers and the client's methods do.

Adding an action: its request and reply models in ``models``, a row here (and in ``Action``
and ``Request``), one handler in the server's pipeline, one method on ``RemoteBoard``.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeGuard

from pacnet.protocol.models import (
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
    ReportedAction,
    ReportRequest,
    RequestBase,
)


@dataclass(frozen=True)
class ActionSpec:
    """One action of the protocol."""

    request: type[RequestBase]
    reply: type[OkReply]
    """Its success reply: the client validates a reply against its request's."""
    mutates: bool
    """Whether it changes the board. The server remembers the reply of a mutation for its
    retries, so a repeat is answered without acting twice; ``pacnet trace`` flags a mutation
    the server applied twice as a bug. A read is answered afresh every time."""

    @property
    def name(self) -> str:
        """The ``action`` on the wire, from the request model itself."""
        name: str = self.request.model_fields["action"].default
        return name


ACTIONS: Mapping[str, ActionSpec] = {
    spec.name: spec
    for spec in (
        ActionSpec(JoinRequest, JoinReply, mutates=True),
        ActionSpec(FindRequest, FindReply, mutates=False),
        ActionSpec(MoveRequest, MoveReply, mutates=True),
        ActionSpec(FindAllRequest, FindAllReply, mutates=False),
        ActionSpec(RemoveRequest, RemoveReply, mutates=True),
        ActionSpec(PingRequest, OkReply, mutates=False),
        ActionSpec(LeaveRequest, OkReply, mutates=True),
        ActionSpec(ReportRequest, OkReply, mutates=False),
    )
}
"""Every action, by its name on the wire."""

REQUEST_TYPES: Mapping[str, type[RequestBase]] = {a: s.request for a, s in ACTIONS.items()}
SUCCESS_REPLY_TYPES: Mapping[str, type[OkReply]] = {a: s.reply for a, s in ACTIONS.items()}
MUTATIONS = frozenset(a for a, s in ACTIONS.items() if s.mutates)
"""Actions that change the board (``ActionSpec.mutates``)."""

REPORTED_ACTIONS = frozenset(ACTIONS) - {"report"}
"""The actions whose outcomes a client reports to the room (``CallCount.action``): every one
but ``report`` itself, which counts the others and is not counted."""


def is_reported(action: str) -> TypeGuard[ReportedAction]:
    """Whether a client reports the outcomes of ``action`` (``REPORTED_ACTIONS``)."""
    return action in REPORTED_ACTIONS


ARTICLE_CALLS = ("find", "move", "findAll", "remove")
"""The article's four calls, in its loop's order: what the outcome grids show."""
