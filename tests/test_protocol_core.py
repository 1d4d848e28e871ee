"""The wire models, the codec and the classifier, with no socket."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from pacnet.protocol.actions import REQUEST_TYPES
from pacnet.protocol.classify import Observed, classify
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
    Entity,
    ErrorBody,
    ErrorReply,
    FindAllReply,
    FindReply,
    MoveRequest,
    OkReply,
    Request,
    RequestFields,
)
from pacnet.protocol.outcome import Outcome, Step
from tests.test_pipeline import frames

ARTICLE = '{"v": 1, "requestId": "c7-42", "userId": "8765309", "action": "find", "name": "pacman"}'


def test_the_articles_message_decodes() -> None:
    request = decode_request(ARTICLE)
    assert request.action == "find"
    assert (request.user_id, request.name) == ("8765309", "pacman")


def test_wire_names_are_camel_case() -> None:
    reply = FindReply(
        request_id="c7-42", clock=9, name="pacman-1", kind=":pacman", x_pos=23, y_pos=92
    )
    assert json.loads(encode(reply)) == {
        "v": 1, "requestId": "c7-42", "clock": 9, "status": "ok",
        "name": "pacman-1", "kind": ":pacman", "xPos": 23, "yPos": 92,
    }  # fmt: skip


def test_retry_after_is_on_the_wire_only_when_set() -> None:
    body = ErrorBody(code=ErrorCode.THROTTLED, retryable=True, message="slow down")
    assert "retryAfterMs" not in encode(ErrorReply(request_id=None, clock=0, error=body))
    throttled = ErrorReply(request_id="r", clock=0, error=body, retry_after_ms=40)
    assert json.loads(encode(throttled))["retryAfterMs"] == 40


@given(
    request_id=st.text(min_size=1, max_size=64),
    user_id=st.text(min_size=1, max_size=64),
    direction=st.sampled_from(["up", "down", "left", "right"]),
)
def test_requests_survive_a_round_trip(request_id: str, user_id: str, direction: str) -> None:
    request = MoveRequest(
        request_id=request_id, user_id=user_id, name="pacman", direction=direction
    )  # type: ignore[arg-type]
    assert decode_request(encode(request)) == request


_ONE_OF_EACH = {
    "join": {"token": st.sampled_from(["t", None])},
    "find": {"name": st.sampled_from(["pacman", "blinky"])},
    "move": {"name": st.just("pacman"), "direction": st.sampled_from(["up", "left"]),
             "seq": st.sampled_from([None, 0, 7])},
    "findAll": {"kind": st.sampled_from([":ghost", ":pellet"])},
    "remove": {"name": st.just("pacman")},
    "ping": {},
    "leave": {},
}  # fmt: skip
near_frames = st.sampled_from(sorted(_ONE_OF_EACH)).flatmap(
    lambda action: st.fixed_dictionaries(
        {"v": st.sampled_from([1, 1, 1, "1", True, 1.0]), "requestId": st.just("r"),
         "userId": st.just("u"), "action": st.just(action)},
        optional={**_ONE_OF_EACH[action], "request_id": st.just("r"), "flavour": st.just(1)},
    ).map(json.dumps)
)  # fmt: skip
"""Requests of every action, right or one step from right: a version of the wrong type, a
snake_case name, a field no request has."""
_MODELS: TypeAdapter[Request] = TypeAdapter(Request)


@settings(max_examples=400, deadline=None)
@given(frame=st.one_of(frames, near_frames))
def test_the_server_reads_a_frame_exactly_as_the_request_models_would(frame: str | bytes) -> None:
    """``read_request`` (the server's, which makes no model) accepts the frames the models
    accept, with the ``v`` a frame must carry, refuses the others, and reads the same fields."""
    model: Request | None
    try:
        model = _MODELS.validate_json(frame, by_name=False)
    except ValidationError:
        model = None
    if isinstance(frame, bytes) or (model is not None and "v" not in model.model_fields_set):
        model = None  # binary frames, and frames without a version, are refused
    try:
        fields: RequestFields | None = read_request(frame)
    except DecodeFailure:
        fields = None
    assert (fields is None) == (model is None)
    if model is not None:
        assert fields == model.__dict__
        assert decode_request(frame) == model


def test_request_fields_name_every_field_of_every_request_model() -> None:
    models = [set(model.model_fields) for model in REQUEST_TYPES.values()]
    assert RequestFields.__required_keys__ == set.intersection(*models)
    assert RequestFields.__optional_keys__ == set.union(*models) - set.intersection(*models)


@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), max_size=20))
def test_find_all_replies_survive_a_round_trip(tiles: list[tuple[int, int]]) -> None:
    entities = tuple(
        Entity(name=f"p{i}", kind=":pellet", x_pos=x, y_pos=y) for i, (x, y) in enumerate(tiles)
    )
    reply = FindAllReply(request_id="r", clock=1, entities=entities)
    assert decode_reply("findAll", encode(reply)) == reply


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (ARTICLE.replace('"v": 1', '"v": 2'), ErrorCode.UNSUPPORTED_VERSION),
        (ARTICLE.replace('"v": 1', '"v": 1.0'), ErrorCode.INVALID_MESSAGE),
        (ARTICLE.replace('"v": 1', '"v": true'), ErrorCode.INVALID_MESSAGE),
        (ARTICLE.replace('"find"', '"FIND"'), ErrorCode.INVALID_MESSAGE),
        (ARTICLE.replace('"pacman"', '""'), ErrorCode.INVALID_MESSAGE),
        (ARTICLE.replace('"8765309"', "8765309"), ErrorCode.INVALID_MESSAGE),
        (ARTICLE.replace("}", ', "direction": "up"}'), ErrorCode.INVALID_MESSAGE),
        ('{"v": 1, "requestId": "r", "userId": "u", "action": "findAll", "kind": "ghost"}', ErrorCode.INVALID_MESSAGE),
        (b"\x00\x01", ErrorCode.INVALID_MESSAGE),
        ('{"v": 1, "request_id": "r", "user_id": "u", "action": "ping"}', ErrorCode.INVALID_MESSAGE),
    ],
    ids=["v2", "v-float", "v-bool", "action-case", "empty-name", "numeric-user", "extra", "kind-without-colon", "binary", "snake-case"],
)  # fmt: skip
def test_decode_refuses_what_it_does_not_understand(raw: str | bytes, code: ErrorCode) -> None:
    with pytest.raises(DecodeFailure) as refused:
        decode_request(raw)
    assert refused.value.code is code


def test_a_refusal_names_the_field_at_fault() -> None:
    with pytest.raises(DecodeFailure, match="direction"):
        decode_request(
            '{"v": 1, "requestId": "r", "userId": "u", "action": "move", "name": "pacman", "direction": "north"}'
        )


@pytest.mark.parametrize(
    "raw",
    ["", "nope", "[]", '{"v": 1}', '{"v": 1, "requestId": "r", "clock": -1, "status": "ok", "xPos": 1, "yPos": 1}',
     '{"v": 1, "requestId": "r", "clock": 1, "status": "ok"}'],
    ids=["empty", "text", "array", "bare", "negative-clock", "missing-payload"],
)  # fmt: skip
def test_decode_reply_refuses_a_corrupt_reply(raw: str) -> None:
    with pytest.raises(MalformedReply):
        decode_reply("move", raw)


@pytest.mark.parametrize(
    ("observed", "outcome"),
    [
        (Observed.NOT_SENT, Outcome.POST_FAILED),
        (Observed.NO_REPLY, Outcome.UNKNOWN),
        (Observed.BAD_REPLY, Outcome.UNKNOWN),
        (OkReply(request_id="r", clock=0), Outcome.SUCCESS),
        (ErrorReply(request_id="r", clock=0, error=ErrorBody(code=ErrorCode.THROTTLED, retryable=True, message="")), Outcome.RETRYABLE),
        (ErrorReply(request_id="r", clock=0, error=ErrorBody(code=ErrorCode.NOT_FOUND, retryable=False, message="")), Outcome.FATAL),
    ],
    ids=["not-sent", "no-reply", "bad-reply", "ok", "retryable-error", "fatal-error"],
)  # fmt: skip
def test_classify(observed: object, outcome: Outcome) -> None:
    assert classify(observed) is outcome  # type: ignore[arg-type]


def test_only_success_and_unknown_may_have_changed_state() -> None:
    assert {o for o in Outcome if o.may_have_changed_state} == {Outcome.SUCCESS, Outcome.UNKNOWN}


def test_every_outcome_has_its_own_colour() -> None:
    assert len({o.colour for o in Outcome}) == len(Outcome)


def test_steps_are_numbered_as_in_the_article() -> None:
    assert [s.value for s in Step] == list(range(1, 9))
    assert str(Step.VALIDATE_REPLY) == "7:VALIDATE_REPLY"


def test_only_throttling_overload_and_failed_updates_are_retryable() -> None:
    retryable = {c for c in ErrorCode if c.retryable}
    assert retryable == {ErrorCode.THROTTLED, ErrorCode.OVERLOADED, ErrorCode.STATE_UPDATE_FAILED}


def test_a_reply_in_another_version_says_which_in_its_first_words() -> None:
    """The workshop's step 7: the room must see the "v": 2 that made the call UNKNOWN, before
    a window cuts the line short."""
    reply = '{"v": 2, "requestId": "r", "clock": 1, "status": "ok", "name": "pacman-1", "kind": ":pacman", "xPos": 1, "yPos": 1}'
    with pytest.raises(MalformedReply) as refused:
        decode_reply("find", reply)
    assert str(refused.value).startswith(
        'unreadable reply: "v": 2, a version this client does not speak'
    )
