"""The only entry points that turn wire text into models and back.

Requests are parsed and validated in one pass (pydantic's JSON validation); the slower
path that works out *why* a message was refused runs only for refused messages.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, cast

import orjson
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from pydantic_core import CoreSchema, SchemaValidator, core_schema

from pacnet.protocol.actions import REQUEST_TYPES, SUCCESS_REPLY_TYPES
from pacnet.protocol.errors import ErrorCode
from pacnet.protocol.models import (
    PROTOCOL_VERSION,
    ErrorReply,
    OkReply,
    Request,
    RequestFields,
)

_MISSING_VERSION = "v: Field required (every message names its version)"


def _fields_of(model: CoreSchema) -> CoreSchema:
    """A request model's schema as that of a dict of its fields: the same fields, wire names
    and checks, and the same refusal of any other, but a plain dict comes out, keyed by the
    fields' Python names. ``v``, which code may leave out, is required: a frame must carry it.
    """
    assert model["type"] == "model"
    assert model["schema"]["type"] == "model-fields"
    fields = {}
    for name, field in model["schema"]["fields"].items():
        schema = field["schema"]
        required = schema["type"] != "default"
        if name == "v" and not required:  # code may leave it out; a frame may not
            schema, required = schema["schema"], True
        fields[name] = core_schema.typed_dict_field(
            schema, required=required, validation_alias=field["validation_alias"]
        )
    # The model's own config (strict types, no extra fields), but on the wire only the
    # camelCase names count; code may use both for a model, not for this.
    config = core_schema.CoreConfig(**model.get("config", {}))  # type: ignore[typeddict-item]
    config["validate_by_name"] = False
    return core_schema.typed_dict_schema(fields, config=config)


def _request_validator() -> SchemaValidator:
    """Every request model's fields, one union discriminated on ``action``, made from the
    models' own schema, so the models stay the one statement of what a request may hold."""
    union = TypeAdapter(Request).core_schema
    assert union["type"] == "tagged-union"
    assert set(union["choices"]) == set(REQUEST_TYPES)
    choices = {tag: _fields_of(model) for tag, model in union["choices"].items()}
    return SchemaValidator({**union, "choices": choices})


_REQUEST_FIELDS = _request_validator()

_REPLY_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    # The union is built at run time from the table, which mypy cannot type.
    action: TypeAdapter(Annotated[ok | ErrorReply, Field(discriminator="status")])  # type: ignore[arg-type]
    for action, ok in SUCCESS_REPLY_TYPES.items()
}


@dataclass(frozen=True, slots=True)
class DecodeFailure(Exception):
    """A message that could not be accepted, with what the reply to it must say."""

    code: ErrorCode
    message: str
    request_id: str | None
    """The message's ``requestId`` if one could be read, else None."""

    def __str__(self) -> str:
        return f"{self.code.value}: {self.message}"


class MalformedReply(ValueError):
    """A frame that is not a reply to the request it answers: not JSON, not a version-1 reply,
    or not the shape that action's reply must have. The message names what is wrong. Unlike a
    ``DecodeFailure`` there is no one to answer: the caller cannot tell what the server meant."""


def encode(message: BaseModel) -> str:
    """Serialize any wire model to the JSON text of one frame."""
    # model_dump_json(by_alias=True) with its Python wrapper skipped: the same call with the
    # same defaults, and one layer fewer on the path every reply takes.
    return message.__pydantic_serializer__.to_json(message, by_alias=True).decode()


Encoded = orjson.Fragment
"""A value of a reply that is JSON already (``Encoded(b"[...]")``): ``encode_trusted`` puts
it in as it is, at any depth. orjson's own type, so that splicing costs nothing."""


encode_trusted: Callable[[dict[str, Any]], bytes] = orjson.dumps
"""``encode_trusted(reply)``: serialize a reply the server built from its own values, in wire
(camelCase) form, to the UTF-8 bytes of one text frame; ``Encoded`` values go in as they are.
Raises TypeError if a value is not JSON-serializable.

No validation: the values are the server's, not a peer's, and building a model for each
reply was a measurable share of the request path. orjson, not pydantic-core's ``to_json``: a
third of the instructions for a ``find`` reply (docs/performance.md). orjson's own function,
not a Python one around it: every reply takes this call. The tests check every kind of reply
built this way against its model."""


def read_request(raw: str | bytes) -> RequestFields:
    """Parse and validate one request frame into its fields: what the server acts on.

    The same checks as the request models make (the validator is made from their schema),
    without making a model: that was a quarter of the server's own work for a request.

    Raises:
        DecodeFailure: the frame is not a valid version-1 request. Its ``code`` is
            UNSUPPORTED_VERSION when the frame names another version, else INVALID_MESSAGE;
            the caller must answer with that code and must not touch the game.
    """
    if isinstance(raw, bytes):
        raise DecodeFailure(ErrorCode.INVALID_MESSAGE, "binary frames are not accepted", None)
    try:
        fields: RequestFields = _REQUEST_FIELDS.validate_json(raw)
    except ValidationError as exc:
        raise _explain(raw, exc) from None
    return fields


def decode_request(raw: str | bytes) -> Request:
    """Parse and validate one request frame into its model.

    Raises:
        DecodeFailure: as ``read_request``.
    """
    fields = read_request(raw)
    # Valid already: made without validating again (model_construct takes Python names).
    request: Any = REQUEST_TYPES[fields["action"]].model_construct(**cast(dict[str, Any], fields))
    return cast(Request, request)


def decode_reply(action: str, raw: str | bytes) -> OkReply | ErrorReply:
    """Parse and validate the reply to a request of ``action``.

    Raises:
        MalformedReply: the reply is not valid JSON, not a version-1 reply, or not the shape
            this action's reply must have. The caller cannot tell what the server meant: the
            call's outcome is UNKNOWN.
    """
    if isinstance(raw, bytes):
        raise MalformedReply("a binary frame is not a reply")
    try:
        reply: OkReply | ErrorReply = _REPLY_ADAPTERS[action].validate_json(raw, by_name=False)
    except ValidationError as exc:
        raise MalformedReply(f"unreadable reply: {_summarize(exc)}") from None
    if "v" not in reply.model_fields_set:
        raise MalformedReply(_MISSING_VERSION)
    return reply


def read_request_id(raw: str | bytes) -> str | None:
    """Best-effort ``requestId`` of a frame that may be invalid; None if there is none."""
    data = _loads_object(raw)
    request_id = data.get("requestId") if data is not None else None
    return request_id if isinstance(request_id, str) and 0 < len(request_id) <= 64 else None


def _loads_object(raw: str | bytes) -> dict[str, Any] | None:
    """The frame's top-level object, if it is one. orjson, not ``json``: it refuses what the
    validator refuses too, text that is not Unicode (a lone surrogate such as ``"\\udfff"``,
    which no reply could echo) and nesting past 1,024 levels (``json`` recurses until Python's
    stack limit, a RecursionError), as a ValueError."""
    try:
        data = orjson.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _explain(raw: str, exc: ValidationError) -> DecodeFailure:
    data = _loads_object(raw)
    if data is None:
        what = _not_json(raw) or "not a JSON object"
        return DecodeFailure(ErrorCode.INVALID_MESSAGE, f"the message is {what}", None)
    request_id = read_request_id(raw)
    version = data.get("v")
    if isinstance(version, int) and not isinstance(version, bool) and version != PROTOCOL_VERSION:
        return DecodeFailure(
            ErrorCode.UNSUPPORTED_VERSION,
            f"version {version} is not supported; this server speaks v{PROTOCOL_VERSION}",
            request_id,
        )
    return DecodeFailure(ErrorCode.INVALID_MESSAGE, _summarize(exc), request_id)


def _not_json(raw: str) -> str:
    """What the frame is instead of a JSON object: "" if it is JSON (of another kind)."""
    try:
        orjson.loads(raw)
    except ValueError as exc:
        if "depth limit" in str(exc):
            return "nested too deeply (at most 1,024 levels)"
        return "not valid JSON (or not valid Unicode)"
    return ""


def _summarize(exc: ValidationError) -> str:
    """One line naming the fields at fault, e.g. ``direction: Input should be 'up', ...``."""
    parts = []
    for error in exc.errors(include_url=False)[:3]:
        # The first element of a union error's location is the union member's tag.
        loc = [str(p) for p in error["loc"]]
        if loc and (loc[0] in SUCCESS_REPLY_TYPES or loc[0] in ("ok", "error")):
            loc = loc[1:]
        message = error["msg"].removeprefix("Value error, ")
        if loc == ["v"] and error["type"] == "missing":
            parts.append(_MISSING_VERSION)
            continue
        if loc == ["v"] and isinstance(error.get("input"), int):
            parts.append(
                f'"v": {error["input"]}, a version this client does not speak (v{PROTOCOL_VERSION})'
            )
            continue
        parts.append(f"{'.'.join(loc)}: {message}" if loc else message)
    more = len(exc.errors()) - 3
    suffix = f" (and {more} more)" if more > 0 else ""
    return "; ".join(parts) + suffix
