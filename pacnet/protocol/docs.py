"""The tables of docs/protocol.md, rendered from the models so the contract cannot drift.

    python -m pacnet.protocol.docs --write docs/protocol.md   # re-render every generated block
    python -m pacnet.protocol.docs --check docs/protocol.md   # exit 1 naming the first stale block

A generated block sits between two markers; the prose around it is written by hand and
left alone::

    <!-- BEGIN GENERATED: actions -->
    | action | request fields | success reply fields |
    ...
    <!-- END GENERATED: actions -->

Field types and whether a field is required are read from the published JSON Schemas
(``pacnet.protocol.schema``), so the document and the schemas cannot disagree either.
"""

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pacnet.protocol.actions import REQUEST_TYPES, SUCCESS_REPLY_TYPES
from pacnet.protocol.classify import Observed, classify
from pacnet.protocol.errors import ErrorCode
from pacnet.protocol.models import (
    Entity,
    ErrorBody,
    ErrorReply,
    OkReply,
    ReplyBase,
    RequestBase,
)
from pacnet.protocol.outcome import Step
from pacnet.protocol.schema import Schema, generator_cli, schemas

BEGIN = "<!-- BEGIN GENERATED: {name} -->"
END = "<!-- END GENERATED: {name} -->"
_BLOCK = re.compile(
    r"^<!-- BEGIN GENERATED: (?P<name>[a-z-]+) -->\n"
    r"(?P<body>.*?)"
    r"^<!-- END GENERATED: (?P=name) -->$",
    re.MULTILINE | re.DOTALL,
)
_ANY_BEGIN = re.compile(r"<!-- BEGIN GENERATED:")


class DocError(ValueError):
    """The document's markers are broken: a block is missing, unknown, repeated or unclosed."""


@dataclass(frozen=True, slots=True)
class Row:
    """One field of a message, as a table shows it."""

    name: str
    type: str
    required: bool
    default: Any
    description: str


# --- the blocks ------------------------------------------------------------------------


def render_blocks() -> dict[str, str]:
    """Every generated block of docs/protocol.md, by name; each ends with a newline."""
    published = schemas()
    renderers: dict[str, Callable[[dict[str, Schema]], str]] = {
        "request-fields": _request_fields,
        "actions": _actions,
        "reply-fields": _reply_fields,
        "entity": _entity,
        "error-fields": _error_fields,
        "errors": lambda _: _errors(),
        "outcomes": lambda _: _outcomes(),
        "steps": lambda _: _steps(),
    }
    return {name: render(published) for name, render in renderers.items()}


def _request_fields(published: dict[str, Schema]) -> str:
    schema = published["FindRequest.json"]
    actions = " \\| ".join(f'`"{action}"`' for action in REQUEST_TYPES)
    rows = [
        replace(row, type=actions) if row.name == "action" else row
        for row in _rows(schema, _aliases(RequestBase))
    ]
    return _field_table(rows, RequestBase.__doc__)


def _actions(published: dict[str, Schema]) -> str:
    request_common = set(_aliases(RequestBase))
    reply_common = set(_aliases(OkReply))
    lines = _table_head("action", "request fields", "success reply fields")
    for action, request_model in REQUEST_TYPES.items():
        request = published[f"{request_model.__name__}.json"]
        reply = published[f"{SUCCESS_REPLY_TYPES[action].__name__}.json"]
        asks = [r for r in _rows(request) if r.name not in request_common]
        answers = [r for r in _rows(reply) if r.name not in reply_common]
        lines.append(
            _cells(
                f"`{action}`",
                "<br>".join(_request_cell(r) for r in asks) or "(none)",
                "<br>".join(_reply_cell(r) for r in answers) or "(none)",
            )
        )
    return _lines(lines)


_REPLIES: tuple[type[OkReply] | type[ErrorReply], ...] = (OkReply, ErrorReply)


def _reply_fields(published: dict[str, Schema]) -> str:
    schema = published["ErrorReply.json"]
    statuses = " \\| ".join(f'`"{model.model_fields["status"].default}"`' for model in _REPLIES)
    rows = [
        replace(row, type=statuses) if row.name == "status" else row
        for row in _rows(schema, [*_aliases(ReplyBase), "status"])
    ]
    return _field_table(rows, ReplyBase.__doc__)


def _entity(published: dict[str, Schema]) -> str:
    schema = published["FindAllReply.json"]["$defs"]["Entity"]
    return _field_table(_rows(schema, defs={}), Entity.__doc__)


def _error_fields(published: dict[str, Schema]) -> str:
    schema = published["ErrorReply.json"]
    body = schema["$defs"]["ErrorBody"]
    own = [r for r in _rows(schema) if r.name not in _aliases(OkReply)]
    nested = [replace(r, name=f"error.{r.name}") for r in _rows(body, defs=schema["$defs"])]
    return _field_table([*own, *nested], ErrorReply.__doc__)


def _errors() -> str:
    lines = _table_head("code", "retryable", "step", "when")
    for code in ErrorCode:
        lines.append(
            _cells(
                f"`{code.value}`",
                "yes" if code.retryable else "no",
                _step(code.step),
                code.when,
            )
        )
    return _lines(lines)


_OBSERVED: dict[Observed, str] = {
    Observed.NOT_SENT: (
        "the request frame was never written: connection refused or unreachable, handshake "
        "rejected, or the connection was already known to be closed"
    ),
    Observed.NO_REPLY: (
        "the frame was written, then no reply came before the deadline, or the connection "
        "closed before the reply came"
    ),
    Observed.BAD_REPLY: (
        "a reply came but is not JSON, not version 1, or not the shape of this action's reply "
        "(validate it against `ReplyTo<Action>.json`)"
    ),
}


def _outcomes() -> str:
    lines = _table_head("the client observed", "outcome", "may the board have changed?")
    observations: list[tuple[str, Observed | OkReply | ErrorReply]] = [
        (text, observed) for observed, text in _OBSERVED.items()
    ]
    for retryable in (True, False):
        codes = ", ".join(f"`{c.value}`" for c in ErrorCode if c.retryable is retryable)
        text = f"an error reply with `retryable: {str(retryable).lower()}` ({codes})"
        observations.append((text, _sample_error(retryable)))
    observations.append(('a valid reply with `status: "ok"`', OkReply(request_id="r", clock=0)))
    for text, observed in observations:
        outcome = classify(observed)
        changed = "yes" if outcome.may_have_changed_state else "no"
        lines.append(_cells(text, f"`{outcome.value}`", changed))
    return _lines(lines)


_STEPS: dict[Step, tuple[str, str]] = {
    Step.POST_REQUEST: (
        "the client puts the request on the network",
        "the network cannot deliver it, or the server refuses the connection",
    ),
    Step.DELIVER_REQUEST: (
        "the network delivers it to the server",
        "the server crashes right after receiving it",
    ),
    Step.VALIDATE_REQUEST: (
        "the server validates it",
        "a corrupt message, an incompatible version, a bug",
    ),
    Step.UPDATE_SERVER_STATE: ("the server updates its state", "the update does not work"),
    Step.POST_REPLY: (
        "the server puts the reply on the network",
        "the server's network card dies",
    ),
    Step.DELIVER_REPLY: (
        "the network delivers the reply",
        "the network fails, even if it worked a moment ago",
    ),
    Step.VALIDATE_REPLY: ("the client validates the reply", "the reply is corrupt or incompatible"),
    Step.UPDATE_CLIENT_STATE: (
        "the client updates its own state",
        "the client cannot understand or apply the reply",
    ),
}


def _steps() -> str:
    lines = _table_head("step", "what happens", "what can go wrong", "error codes refused here")
    for step in Step:
        happens, fails = _STEPS[step]
        codes = ", ".join(f"`{c.value}`" for c in ErrorCode if c.step is step) or "-"
        lines.append(_cells(_step(step), happens, fails, codes))
    return _lines(lines)


# --- fields, read from the JSON Schemas -----------------------------------------------


def _aliases(model: type[RequestBase] | type[ReplyBase]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


def _rows(
    schema: Schema, names: Iterable[str] | None = None, defs: Mapping[str, Schema] | None = None
) -> list[Row]:
    """The fields of an object schema, in declaration order (or the order of ``names``)."""
    properties: dict[str, Schema] = schema["properties"]
    required = set(schema.get("required", ()))
    refs = schema.get("$defs", {}) if defs is None else defs
    return [
        Row(
            name=name,
            type=_type(properties[name], refs),
            required=name in required,
            default=properties[name].get("default"),
            description=properties[name].get("description", ""),
        )
        for name in (properties if names is None else names)
    ]


def _type(node: Schema, defs: Mapping[str, Schema]) -> str:
    """A language-neutral reading of one JSON Schema type: ``string of 1-64 characters``."""
    if "$ref" in node:
        title = node["$ref"].rsplit("/", 1)[-1]
        target = defs[title]
        if "enum" in target:
            return f"string, one of the {len(target['enum'])} `{title}` values below"
        return f"`{title}` object (below)"
    if node.get("type") == "array" and "$ref" in node["items"]:
        return f"list of `{node['items']['$ref'].rsplit('/', 1)[-1]}` objects (below)"
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    if "enum" in node:
        return " \\| ".join(f"`{json.dumps(value)}`" for value in node["enum"])
    if "anyOf" in node:
        return " or ".join(_type(option, defs) for option in node["anyOf"])
    kind = node.get("type")
    if kind == "array":
        return f"list of {_type(node['items'], defs)}"
    if kind == "string":
        return _string(node)
    if kind == "integer":
        return _integer(node)
    return str(kind)


def _string(node: Schema) -> str:
    if "pattern" in node:
        return f"string matching `{node['pattern']}`"
    if "minLength" in node and "maxLength" in node:
        return f"string of {node['minLength']}-{node['maxLength']} characters"
    return "string"


def _integer(node: Schema) -> str:
    low, high = node.get("minimum"), node.get("maximum")
    if low is not None and high is not None:
        return f"integer {low}-{high}"
    if low is not None:
        return f"integer >= {low}"
    return "integer"


def _presence(row: Row) -> str:
    if row.required:
        return "required"
    if row.default is None:
        return "optional"
    return f"optional, default `{json.dumps(row.default)}`"


def _request_cell(row: Row) -> str:
    return f"`{row.name}`: {row.type}, {_presence(row)}"


def _reply_cell(row: Row) -> str:
    return f"`{row.name}`: {row.type}" + ("" if row.required else ", optional")


def _field_table(rows: Sequence[Row], caption: str | None) -> str:
    explained = any(row.description for row in rows)
    lines = [" ".join((caption or "").split()), ""]
    lines += _table_head("field", "type", "presence", *(["meaning"] if explained else []))
    for row in rows:
        meaning = [row.description or "-"] if explained else []
        lines.append(_cells(f"`{row.name}`", row.type, _presence(row), *meaning))
    return _lines(lines)


def _sample_error(retryable: bool) -> ErrorReply:
    code = next(c for c in ErrorCode if c.retryable is retryable)
    body = ErrorBody(code=code, retryable=retryable, message="sample")
    return ErrorReply(request_id="r", clock=0, error=body)


def _step(step: Step) -> str:
    return f"{step.value} `{step.name}`"


def _table_head(*titles: str) -> list[str]:
    return [_cells(*titles), _cells(*("---" for _ in titles))]


def _cells(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def _lines(lines: Iterable[str]) -> str:
    return "\n".join(lines) + "\n"


# --- reading and rewriting the document -----------------------------------------------


def blocks_in(text: str) -> dict[str, str]:
    """The generated blocks of a document, by name.

    Raises:
        DocError: a block is unclosed, repeated, or mismatched.
    """
    found: dict[str, str] = {}
    for match in _BLOCK.finditer(text):
        name = match["name"]
        if name in found:
            raise DocError(f"generated block {name!r} appears twice")
        found[name] = match["body"]
    if len(_ANY_BEGIN.findall(text)) != len(found):
        raise DocError("a BEGIN GENERATED marker has no matching END marker on its own line")
    return found


def update(text: str, blocks: Mapping[str, str]) -> str:
    """``text`` with every generated block replaced by its rendering in ``blocks``.

    Raises:
        DocError: a block of ``blocks`` is missing from the text, or the text has a block
            that ``blocks`` does not know; the caller must fix the markers by hand.
    """
    present = blocks_in(text)
    unknown = [name for name in present if name not in blocks]
    if unknown:
        raise DocError(f"unknown generated block {unknown[0]!r}")
    missing = [name for name in blocks if name not in present]
    if missing:
        raise DocError(f"generated block {missing[0]!r} is missing (add its BEGIN/END markers)")

    def fill(match: re.Match[str]) -> str:
        name = match["name"]
        return f"{BEGIN.format(name=name)}\n{blocks[name]}{END.format(name=name)}"

    return _BLOCK.sub(fill, text)


def stale(text: str, blocks: Mapping[str, str]) -> list[str]:
    """The names of the blocks whose text differs from ``blocks``, in document order.

    Raises:
        DocError: as ``update``.
    """
    update(text, blocks)  # checks the markers
    return [name for name, body in blocks_in(text).items() if body != blocks[name]]


def check(path: Path) -> str | None:
    """The first way the document at ``path`` differs from the models, as one line; else None."""
    try:
        names = stale(path.read_text(encoding="utf-8"), render_blocks())
    except (OSError, DocError) as exc:
        return f"{path}: {exc}"
    if names:
        return f"{path}: generated block {names[0]!r} is stale (differs from the models)"
    return None


def write(path: Path) -> list[str]:
    """Re-render every generated block of the document at ``path``; returns those changed.

    Raises:
        OSError: the document cannot be read or written.
        DocError: its markers are broken; nothing was written.
    """
    text = path.read_text(encoding="utf-8")
    blocks = render_blocks()
    changed = stale(text, blocks)
    if changed:
        path.write_text(update(text, blocks), encoding="utf-8")
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pacnet.protocol.docs --write FILE | --check FILE``; returns the exit status."""

    def write_blocks(path: Path) -> str:
        return f"{path}: re-rendered {', '.join(write(path)) or 'nothing (up to date)'}"

    return generator_cli(
        argv,
        prog="python -m pacnet.protocol.docs",
        description="Re-render or check the generated tables of the protocol document.",
        metavar="FILE",
        write=write_blocks,
        check=check,
    )


if __name__ == "__main__":
    raise SystemExit(main())
