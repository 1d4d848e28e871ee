"""The shared core of pacnet: wire models, error codes, and the five outcomes of a call.

Nothing here does I/O. The server and every client (window, bots, a future browser
client) speak through these models; ``docs/protocol.md`` is checked against them.
"""

from pacnet.protocol.codec import (
    DecodeFailure,
    MalformedReply,
    decode_reply,
    decode_request,
    encode,
    read_request,
)
from pacnet.protocol.errors import ErrorCode
from pacnet.protocol.models import (
    PROTOCOL_VERSION,
    Direction,
    Entity,
    ErrorBody,
    ErrorReply,
    Request,
    RequestFields,
)
from pacnet.protocol.outcome import Outcome, Step

__all__ = [
    "PROTOCOL_VERSION",
    "DecodeFailure",
    "Direction",
    "Entity",
    "ErrorBody",
    "ErrorCode",
    "ErrorReply",
    "MalformedReply",
    "Outcome",
    "Request",
    "RequestFields",
    "Step",
    "decode_reply",
    "decode_request",
    "encode",
    "read_request",
]
