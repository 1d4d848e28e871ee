"""The JSON Schema of every wire message, generated from the models, for other languages.

    python -m pacnet.protocol.schema --write docs/schema   # regenerate the published files
    python -m pacnet.protocol.schema --check docs/schema   # exit 1 naming the first stale file

One file per message, named by the schema's title::

    Request.json          any request, discriminated on ``action``
    JoinRequest.json      one per request type (Find, Move, FindAll, Remove, Ping, Leave)
    ReplyToJoin.json      what the reply to one action may be: its success or an error,
                          discriminated on ``status`` (one per action)
    JoinReply.json        one per success reply type (OkReply is ping's and leave's)
    ErrorReply.json       the refusal of any request
    LobbyView.json        what ``GET /lobby`` answers: the rooms a server holds

The schemas say what pacnet's decoders accept (pydantic's validation mode), with one
adjustment: the union tag (a request's ``action``, a reply's ``status``) is required. The
models give it a default so Python code can build a message without naming it, but the
decoders refuse a message that lacks it.
"""

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import CoreSchema

from pacnet.protocol.actions import REQUEST_TYPES, SUCCESS_REPLY_TYPES
from pacnet.protocol.lobby import LobbyView
from pacnet.protocol.models import (
    ErrorReply,
    OkReply,
    Request,
    WireModel,
)

DIALECT = "https://json-schema.org/draft/2020-12/schema"
"""The JSON Schema dialect pydantic emits."""

UNION_TAGS = ("action", "status", "v")
"""Fields that pick the member of a union: present in every message that has them."""

Schema = dict[str, Any]


class _Generator(GenerateJsonSchema):
    """pydantic's generator without per-field titles ("Requestid", "Xpos": noise to a reader)."""

    def field_title_should_be_set(self, schema: CoreSchema) -> bool:
        return False


def schemas() -> dict[str, Schema]:
    """Every published schema, by file name (``Request.json``, ``ReplyToFind.json``, ...)."""
    found: dict[str, Schema] = {"Request.json": request_schema()}
    for model in REQUEST_TYPES.values():
        found[f"{model.__name__}.json"] = _model_schema(model)
    for action in SUCCESS_REPLY_TYPES:
        found[f"{reply_title(action)}.json"] = reply_schema(action)
    reply_models: list[type[OkReply] | type[ErrorReply]] = [
        *dict.fromkeys(SUCCESS_REPLY_TYPES.values()),
        ErrorReply,
    ]
    for reply_model in reply_models:
        found[f"{reply_model.__name__}.json"] = _model_schema(reply_model)
    found["LobbyView.json"] = _model_schema(LobbyView)
    return found


def request_schema() -> Schema:
    """The schema of any request: the union of every request type, tagged by ``action``."""
    schema = TypeAdapter(Request).json_schema(by_alias=True, schema_generator=_Generator)
    return _finish(
        schema,
        title="Request",
        description="Any request of wire version 1; `action` names its type.",
    )


def reply_title(action: str) -> str:
    """The title (and file stem) of the schema of the reply to ``action``: ``ReplyToFindAll``."""
    return f"ReplyTo{action[0].upper()}{action[1:]}"


def reply_schema(action: str) -> Schema:
    """The schema of the reply to ``action``: its success reply or an ErrorReply, by ``status``."""
    ok = SUCCESS_REPLY_TYPES[action]
    # The union is built at run time from the table, which mypy cannot type.
    union = Annotated[ok | ErrorReply, Field(discriminator="status")]  # type: ignore[valid-type]
    schema = TypeAdapter[Any](union).json_schema(by_alias=True, schema_generator=_Generator)
    return _finish(
        schema,
        title=reply_title(action),
        description=f"The reply to `{action}`: `status` is `ok` or `error`.",
    )


def render(schema: Schema) -> str:
    """The text of a published schema file: pretty, sorted keys, one trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(directory: Path) -> list[Path]:
    """Write every schema into ``directory`` (created if needed); returns the files written.

    Stale ``*.json`` files that no model produces any more are deleted.
    """
    directory.mkdir(parents=True, exist_ok=True)
    wanted = schemas()
    for stale in sorted(directory.glob("*.json")):
        if stale.name not in wanted:
            stale.unlink()
    written = []
    for name, schema in wanted.items():
        path = directory / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


def check(directory: Path) -> str | None:
    """The first way ``directory`` differs from the models, as one line; None if it does not."""
    wanted = schemas()
    for name, schema in sorted(wanted.items()):
        path = directory / name
        if not path.is_file():
            return f"{path}: missing"
        if path.read_text(encoding="utf-8") != render(schema):
            return f"{path}: stale (differs from the models)"
    for path in sorted(directory.glob("*.json")):
        if path.name not in wanted:
            return f"{path}: no model produces this schema any more"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pacnet.protocol.schema --write DIR | --check DIR``; returns the exit status."""

    def write_all(directory: Path) -> str:
        return f"wrote {len(write(directory))} schemas to {directory}"

    return generator_cli(
        argv,
        prog="python -m pacnet.protocol.schema",
        description="Write or check the JSON Schema of every wire message.",
        metavar="DIR",
        write=write_all,
        check=check,
    )


def generator_cli(
    argv: Sequence[str] | None,
    *,
    prog: str,
    description: str,
    metavar: str,
    write: Callable[[Path], str],
    check: Callable[[Path], str | None],
) -> int:
    """The command line of a generated artifact: ``--write PATH`` or ``--check PATH``.

    ``write`` returns what it did; ``check`` returns what is stale, or None. A failure is one
    line on stderr naming the command that fixes it, and exit status 1.
    """
    parser = argparse.ArgumentParser(prog=prog, description=description)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", metavar=metavar, type=Path, help="write it from the models")
    mode.add_argument("--check", metavar=metavar, type=Path, help="exit 1 if it is stale")
    args = parser.parse_args(argv)
    if args.write is not None:
        try:
            print(write(args.write))
        except (OSError, ValueError) as exc:
            print(f"{args.write}: {exc}", file=sys.stderr)
            return 1
        return 0
    problem = check(args.check)
    if problem is not None:
        print(f"{problem}; run: {prog} --write {args.check}", file=sys.stderr)
        return 1
    return 0


def _model_schema(model: type[WireModel]) -> Schema:
    schema = model.model_json_schema(by_alias=True, schema_generator=_Generator)
    return _finish(schema, title=model.__name__, description=None)


def _finish(schema: Schema, *, title: str, description: str | None) -> Schema:
    _require_union_tags(schema)
    schema["title"] = title
    if description is not None:
        schema["description"] = description
    return {"$schema": DIALECT, **schema}


def _require_union_tags(node: Any) -> None:
    """Mark a union tag required in every object schema that has one, wherever it is."""
    if isinstance(node, dict):
        properties = node.get("properties", {})
        if any(tag in properties for tag in UNION_TAGS):
            required = set(node.get("required", ())) | set(UNION_TAGS).intersection(properties)
            node["required"] = [name for name in properties if name in required]
        for value in node.values():
            _require_union_tags(value)
    elif isinstance(node, list):
        for value in node:
            _require_union_tags(value)


if __name__ == "__main__":
    raise SystemExit(main())
