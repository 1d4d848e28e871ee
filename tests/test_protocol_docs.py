"""docs/protocol.md and docs/schema/ say what the models say, and the checks that guard
them can fail. Pure tests: no sockets, no event loop (one subprocess runs the CLIs)."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pacnet.protocol import docs, schema
from pacnet.protocol.actions import REQUEST_TYPES, SUCCESS_REPLY_TYPES
from pacnet.protocol.codec import (
    DecodeFailure,
    MalformedReply,
    decode_reply,
    decode_request,
    encode,
)
from pacnet.protocol.errors import ErrorCode
from pacnet.protocol.lobby import LobbyView

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "protocol.md"
SCHEMA_DIR = ROOT / "docs" / "schema"

# --- the committed files agree with the models -----------------------------------------


@pytest.mark.parametrize("name", sorted(docs.render_blocks()))
def test_generated_block_of_the_document_matches_the_models(name: str) -> None:
    assert docs.blocks_in(DOC.read_text(encoding="utf-8"))[name] == docs.render_blocks()[name]


@pytest.mark.parametrize("name", sorted(schema.schemas()))
def test_published_schema_matches_the_models(name: str) -> None:
    published = (SCHEMA_DIR / name).read_text(encoding="utf-8")
    assert published == schema.render(schema.schemas()[name])


def test_no_published_schema_is_left_over_from_a_removed_model() -> None:
    assert {path.name for path in SCHEMA_DIR.glob("*.json")} == set(schema.schemas())


@pytest.mark.parametrize(
    ("module", "target"),
    [("pacnet.protocol.docs", DOC), ("pacnet.protocol.schema", SCHEMA_DIR)],
    ids=["docs-check-passes", "schema-check-passes"],
)
def test_check_command_passes_on_the_committed_files(module: str, target: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", module, "--check", str(target)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")


def test_every_action_has_a_request_schema_and_a_reply_schema() -> None:
    published = schema.schemas()
    mapping = published["Request.json"]["discriminator"]["mapping"]
    assert set(mapping) == set(REQUEST_TYPES) == set(SUCCESS_REPLY_TYPES)
    for action, model in REQUEST_TYPES.items():
        assert f"{model.__name__}.json" in published
        assert f"{schema.reply_title(action)}.json" in published


# --- the checks can fail ---------------------------------------------------------------


def _drifted_copy(tmp_path: Path) -> Path:
    """A copy of the document whose `move` row lost a direction, as a hand edit would."""
    text = DOC.read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| `move` |"))
    copy = tmp_path / "protocol.md"
    copy.write_text(text.replace(row, row.replace(' \\| `"right"`', ""), 1), encoding="utf-8")
    return copy


def test_an_altered_row_of_the_actions_table_is_reported(tmp_path: Path) -> None:
    copy = _drifted_copy(tmp_path)
    problem = docs.check(copy)
    assert problem is not None
    assert "'actions'" in problem
    assert "stale" in problem


def test_write_restores_an_altered_table_and_leaves_the_prose(tmp_path: Path) -> None:
    copy = _drifted_copy(tmp_path)
    assert docs.write(copy) == ["actions"]
    assert copy.read_text(encoding="utf-8") == DOC.read_text(encoding="utf-8")
    assert docs.check(copy) is None


def test_check_command_fails_with_one_line_naming_the_stale_block(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = _drifted_copy(tmp_path)
    assert docs.main(["--check", str(copy)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "'actions'" in err


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda text: text.replace("<!-- END GENERATED: errors -->\n", ""), "no matching END"),
        (
            lambda text: re.sub(
                r"<!-- BEGIN GENERATED: steps -->.*?<!-- END GENERATED: steps -->\n",
                "",
                text,
                flags=re.DOTALL,
            ),
            "'steps' is missing",
        ),
        (
            lambda text: text + "<!-- BEGIN GENERATED: bogus -->\n<!-- END GENERATED: bogus -->\n",
            "unknown generated block 'bogus'",
        ),
    ],
    ids=["unclosed-block-is-reported", "missing-block-is-reported", "unknown-block-is-reported"],
)
def test_broken_markers_are_reported(tmp_path: Path, edit: Any, expected: str) -> None:
    copy = tmp_path / "protocol.md"
    copy.write_text(edit(DOC.read_text(encoding="utf-8")), encoding="utf-8")
    problem = docs.check(copy)
    assert problem is not None
    assert expected in problem


def test_a_hand_edited_schema_file_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "schema"
    shutil.copytree(SCHEMA_DIR, copy)
    move = copy / "MoveRequest.json"
    move.write_text(move.read_text(encoding="utf-8").replace('"right"', '"north"'))
    assert schema.main(["--check", str(copy)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "MoveRequest.json: stale" in err


def test_a_missing_or_left_over_schema_file_is_reported(tmp_path: Path) -> None:
    copy = tmp_path / "schema"
    shutil.copytree(SCHEMA_DIR, copy)
    (copy / "FindRequest.json").unlink()
    assert schema.check(copy) == f"{copy / 'FindRequest.json'}: missing"
    schema.write(copy)
    (copy / "TeleportRequest.json").write_text("{}\n")
    problem = schema.check(copy)
    assert problem is not None
    assert "TeleportRequest.json" in problem
    schema.write(copy)
    assert schema.check(copy) is None


# --- the schemas say what the decoders accept ------------------------------------------

_REQUEST_SAMPLES: dict[str, dict[str, Any]] = {
    "join": {"token": "Vq3x9T0bKc1mZp8sYw2HfA"},
    "find": {"name": "pacman"},
    "move": {"name": "pacman", "direction": "up", "seq": 7},
    "findAll": {"kind": ":ghost"},
    "remove": {"name": "pacman"},
    "ping": {},
    "leave": {},
    "report": {
        "exercise": 3,
        "seq": 17,
        "counts": [{"action": "move", "outcome": "UNKNOWN", "calls": 4}],
    },
}
_REPLY_SAMPLES: dict[str, dict[str, Any]] = {
    "join": {
        "name": "pacman-u",
        "sessionToken": "t",
        "width": 2,
        "height": 1,
        "maze": ["# "],
        "resumed": True,
        "score": 1250,
        "lives": 2,
        "tickRate": 60,
        "pacmanSpeed": 7.58,
    },
    "find": {
        "name": "blinky",
        "kind": ":ghost",
        "xPos": 1,
        "yPos": 2,
        "heading": "up",
        "state": "frightened",
        "score": 0,
        "lives": 0,
        "lastSeq": 7,
        "offset": -0.25,
        "moving": True,
    },
    "move": {"xPos": 1, "yPos": 2, "lastSeq": 7},
    "findAll": {
        "entities": [{"name": "blinky", "kind": ":ghost", "xPos": 1, "yPos": 2}],
        "level": 1,
    },
    "remove": {"removed": True},
    "ping": {},
    "leave": {},
    "report": {},
}
_ERROR_SAMPLE: dict[str, Any] = {
    "status": "error",
    "error": {"code": "THROTTLED", "retryable": True, "message": "slow down"},
    "retryAfterMs": 20,
}


def _request(action: str) -> dict[str, Any]:
    base = {"v": 1, "requestId": "r-1", "userId": "u", "action": action}
    return base | _REQUEST_SAMPLES[action]


def _accepts_request(message: dict[str, Any]) -> bool:
    try:
        decode_request(json.dumps(message))
    except DecodeFailure:
        return False
    return True


def _accepts_reply(action: str, message: dict[str, Any]) -> bool:
    try:
        decode_reply(action, json.dumps(message))
    except MalformedReply:
        return False
    return True


@pytest.mark.parametrize("action", list(REQUEST_TYPES))
def test_request_schema_requires_exactly_what_the_decoder_requires(action: str) -> None:
    published = schema.schemas()[f"{REQUEST_TYPES[action].__name__}.json"]
    sample = _request(action)
    assert _accepts_request(sample)
    assert set(sample) == set(published["properties"])
    for field in sample:
        without = {k: v for k, v in sample.items() if k != field}
        assert _accepts_request(without) is (field not in published["required"]), field
    assert published["additionalProperties"] is False
    assert not _accepts_request(sample | {"extra": 1})


@pytest.mark.parametrize("action", list(SUCCESS_REPLY_TYPES))
@pytest.mark.parametrize("status", ["ok", "error"])
def test_reply_schema_requires_exactly_what_the_decoder_requires(action: str, status: str) -> None:
    published = schema.schemas()[f"{schema.reply_title(action)}.json"]
    ok_title = SUCCESS_REPLY_TYPES[action].__name__
    member = published["$defs"][ok_title if status == "ok" else "ErrorReply"]
    body = {"status": "ok"} | _REPLY_SAMPLES[action] if status == "ok" else _ERROR_SAMPLE
    sample = {"v": 1, "requestId": "r-1", "clock": 5} | body
    assert _accepts_reply(action, sample)
    assert set(sample) == set(member["properties"])
    for field in sample:
        without = {k: v for k, v in sample.items() if k != field}
        assert _accepts_reply(action, without) is (field not in member["required"]), field
    assert not _accepts_reply(action, sample | {"extra": 1})


# --- every example in the document is a real message -----------------------------------

_EXAMPLE = re.compile(
    r"<!-- example: (?P<tag>[^>]*?) -->\n```(?P<lang>\w+)\n(?P<body>.*?)\n```", re.DOTALL
)


def _examples() -> list[tuple[str, str]]:
    return [(m["tag"], m["body"]) for m in _EXAMPLE.finditer(DOC.read_text(encoding="utf-8"))]


def test_every_json_example_in_the_document_is_tagged() -> None:
    text = DOC.read_text(encoding="utf-8")
    tagged = [m for m in _EXAMPLE.finditer(text) if m["lang"] == "json"]
    assert len(tagged) == text.count("```json")
    assert len(tagged) >= 10


@pytest.mark.parametrize(
    ("tag", "body"),
    _examples(),
    ids=[f"example-{i}-{tag.replace(' ', '-')}" for i, (tag, _) in enumerate(_examples(), 1)],
)
def test_document_example_is_a_valid_message(tag: str, body: str) -> None:
    kind, _, argument = tag.partition(" ")
    if kind == "request":
        request = decode_request(body)
        assert json.loads(body)["v"] == 1, "examples show the version a client must send"
        assert request.action in REQUEST_TYPES
    elif kind == "reply":
        reply = decode_reply(argument, body)
        assert json.loads(encode(reply)) == json.loads(body), "exactly what the server sends"
    elif kind == "refused":
        with pytest.raises(DecodeFailure) as refused:
            decode_request(body)
        assert refused.value.code is ErrorCode[argument]
    elif kind == "lobby":
        lobby = LobbyView.model_validate_json(body)
        assert json.loads(lobby.model_dump_json()) == json.loads(body), "as the server says it"
    else:
        pytest.fail(f"unknown example tag {tag!r}")
