"""The request path paired in memory: frames in, replies out, no socket and no loop.

Also the promise the whole protocol rests on: whatever arrives, an error reply means the
board did not change.
"""

import itertools
import json
import random
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from pacnet.protocol.codec import decode_reply
from pacnet.protocol.errors import ErrorCode
from pacnet.protocol.models import ErrorReply, OkReply
from pacnet.server.board import Board
from pacnet.server.config import ServerLimits
from pacnet.server.game import Game
from pacnet.server.layout import load_layout
from pacnet.server.pipeline import ConnectionState, Exchange, NoReply, Pipeline, Stage


def make_pipeline(**limits: Any) -> Pipeline:
    game = Game(Board(load_layout("small"), random.Random(1)), ServerLimits(**limits))
    return Pipeline(game)


_request_ids = itertools.count(1)


def send(
    pipeline: Pipeline, conn: ConnectionState, action: str, now: float = 0.0, **fields: Any
) -> dict[str, Any]:
    """One request, with a requestId of its own (as every client makes them)."""
    request_id = f"r{next(_request_ids)}"
    raw = json.dumps(
        {"v": 1, "requestId": request_id, "userId": conn.user_id or "u", "action": action, **fields}
    )
    exchange = pipeline.handle(conn, raw, now)
    assert exchange.frame is not None
    reply: dict[str, Any] = json.loads(exchange.frame)
    return reply


def state(pipeline: Pipeline) -> Any:
    board = pipeline.game.board
    return (
        sorted((p.name, p.x, p.y) for p in board._pieces.values()),
        sorted(pipeline.game.sessions),
        board.clock,
    )


def test_a_request_passes_every_stage_in_the_articles_order() -> None:
    seen: list[Stage] = []
    pipeline = make_pipeline()
    pipeline.hooks.append(lambda stage, exchange: seen.append(stage))
    send(pipeline, ConnectionState(1, user_id="u"), "join")
    assert seen == list(Stage)
    assert [stage.step.value for stage in seen] == [2, 3, 3, 3, 3, 3, 3, 4, 5]


def _noting(name: str) -> Any:
    def run(self: "_NotingPipeline", exchange: Exchange) -> None:
        self.ran.append(exchange.stage)
        getattr(Pipeline, name)(self, exchange)

    return run


class _NotingPipeline(Pipeline):
    """A pipeline whose every stage notes, as it runs, the stage the exchange says it is in."""

    ran: list[Stage]
    _validate = _noting("_validate")
    _throttle = _noting("_throttle")
    _lookup_user = _noting("_lookup_user")
    _dedupe = _noting("_dedupe")
    _refresh_keepalive = _noting("_refresh_keepalive")
    _update_state = _noting("_update_state")


def _stages_run(hooked: bool) -> list[tuple[str, list[Stage]]]:
    """The stages that ran for each request of a short game, with a hook (the loop over every
    stage) or without (the calm path)."""
    game = make_pipeline().game
    pipeline = _NotingPipeline(game, [lambda stage, exchange: None] if hooked else [])
    pipeline.ran = []
    conn = ConnectionState(1, user_id="u")
    runs = []
    for action, fields in [("join", {}), ("move", {"name": "pacman", "direction": "up"}),
                           ("find", {"name": "pacman"}), ("findAll", {"kind": ":ghost"}),
                           ("remove", {"name": "pacman"}), ("ping", {}), ("leave", {})]:  # fmt: skip
        pipeline.ran.clear()
        assert send(pipeline, conn, action, **fields)["status"] == "ok"
        runs.append((action, list(pipeline.ran)))
    return runs


def test_without_hooks_each_request_runs_the_same_stages_in_the_same_order() -> None:
    hooked, calm = _stages_run(hooked=True), _stages_run(hooked=False)
    # (DEDUPE has nothing to do for a read: the calm path skips it.)
    reads = {"find", "findAll", "ping"}
    expected = [
        (action, [s for s in stages if not (s is Stage.DEDUPE and action in reads)])
        for action, stages in hooked
    ]
    assert calm == expected
    # A join runs every stage but RECEIVE, REPLY and ADMIT (run inline, and tested below).
    assert calm[0][1] == list(Stage)[2:-1]


def test_a_refused_request_stops_at_the_stage_that_refused_it() -> None:
    pipeline = make_pipeline()
    exchange: Exchange = pipeline.handle(ConnectionState(1), '{"v": 1}', 0.0)
    assert exchange.stage is Stage.VALIDATE
    assert exchange.failed
    assert exchange.log_fields()["code"] == "INVALID_MESSAGE"


def test_a_hook_can_swallow_the_reply() -> None:
    pipeline = make_pipeline()
    conn = ConnectionState(1, user_id="u")
    send(pipeline, conn, "join")

    def drop_move_replies(stage: Stage, exchange: Exchange) -> None:
        if stage is Stage.REPLY and exchange.request and exchange.request["action"] == "move":
            raise NoReply

    pipeline.hooks.append(drop_move_replies)
    start = pipeline.game.board.layout.pacman_start
    raw = '{"v": 1, "requestId": "m", "userId": "u", "action": "move", "name": "pacman", "direction": "left"}'
    exchange = pipeline.handle(conn, raw, 0.0)
    assert exchange.frame is None
    assert exchange.failed
    assert exchange.log_fields()["code"] == "NO_REPLY"
    pacman = pipeline.game.board.get("pacman-u")  # the move was applied all the same:
    assert pacman is not None
    assert pacman.heading == "left"
    assert pacman.moving  # it is steering left, and will move on the next ticks
    assert pacman.tile == start


def test_replies_carry_the_board_clock() -> None:
    pipeline = make_pipeline()
    conn = ConnectionState(1, user_id="u")
    send(pipeline, conn, "join")
    for _ in range(7):
        pipeline.game.tick(now=0.0)
    assert send(pipeline, conn, "ping")["clock"] == 7


def test_every_success_reply_validates_against_its_actions_model() -> None:
    pipeline = make_pipeline()
    conn = ConnectionState(1, user_id="u")
    calls = [
        ("join", {}),
        ("find", {"name": "pacman"}),
        ("move", {"name": "pacman", "direction": "left"}),
        ("findAll", {"kind": ":pellet"}),
        ("remove", {"name": "pacman"}),
        ("ping", {}),
        ("leave", {}),
    ]
    for action, fields in calls:
        reply = send(pipeline, conn, action, **fields)
        assert isinstance(decode_reply(action, json.dumps(reply)), OkReply), reply


def test_removing_your_own_pacman_twice_is_safe_and_it_comes_back() -> None:
    pipeline = make_pipeline()
    conn = ConnectionState(1, user_id="u")
    send(pipeline, conn, "join")
    assert send(pipeline, conn, "remove", name="pacman")["removed"] is True
    assert send(pipeline, conn, "remove", name="pacman")["removed"] is False
    assert send(pipeline, conn, "remove", name="pacman-u")["removed"] is False
    caught = send(pipeline, conn, "find", name="pacman")
    assert caught["error"]["code"] == "NOT_FOUND"
    assert "caught" in caught["error"]["message"]
    for _ in range(90):  # the death pause: 1.5 s of ticks
        pipeline.game.tick(now=0.0)
    back = send(pipeline, conn, "find", name="pacman")
    assert (back["xPos"], back["yPos"]) == pipeline.game.board.layout.pacman_start
    pacman = pipeline.game.board.get("pacman-u")
    assert pacman is not None
    assert pacman.lives == 2


def test_a_move_into_a_wall_succeeds_and_the_pacman_stays() -> None:
    pipeline = make_pipeline()
    conn = ConnectionState(1, user_id="u")
    send(pipeline, conn, "join")
    start = pipeline.game.board.layout.pacman_start
    reply = send(pipeline, conn, "move", name="pacman", direction="up")  # the ghost house wall
    assert (reply["xPos"], reply["yPos"]) == start


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
request_like = st.fixed_dictionaries(
    {},
    optional={
        "v": st.sampled_from([1, 2, 0, "1", True, None]),
        "requestId": st.sampled_from(["r", "", None, 7]),
        "userId": st.sampled_from(["u", "someone-else", "", 3]),
        "action": st.sampled_from(
            ["join", "find", "move", "findAll", "remove", "ping", "leave", "fly"]
        ),
        "name": st.sampled_from(["pacman", "pacman-u", "blinky", "pellet-1-1", "", 5]),
        "direction": st.sampled_from(["up", "left", "north", None]),
        "kind": st.sampled_from([":ghost", ":pellet", "ghost", ":x"]),
        "token": st.sampled_from(["t", None, ""]),
        "extra": json_values,
    },
)
frames = st.one_of(
    request_like.map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=40),
    st.binary(max_size=20),
)


@settings(max_examples=400, deadline=None)
@given(frame=frames)
# Successes too, every run: random frames seldom make one.
@example(frame='{"v": 1, "requestId": "r", "userId": "u", "action": "join"}')
@example(
    frame='{"v": 1, "requestId": "r", "userId": "u", "action": "move", "name": "pacman", "direction": "up"}'
)
def test_any_frame_gets_exactly_one_reply_and_an_error_changes_nothing(frame: str | bytes) -> None:
    pipeline = make_pipeline()
    conn = ConnectionState(1, user_id="u")
    send(pipeline, conn, "join")
    before = state(pipeline)
    exchange = pipeline.handle(conn, frame, 1.0)
    assert exchange.crash is None
    assert exchange.frame is not None
    reply = exchange.reply
    if isinstance(reply, ErrorReply):
        assert reply.error.code is not ErrorCode.INTERNAL
        assert state(pipeline) == before, reply
    else:  # a success the server built without a model: it must still match the model
        assert exchange.request is not None
        # (A client reads the text frame's text: the server sends its UTF-8 as it is.)
        text = exchange.frame.decode()
        assert isinstance(decode_reply(exchange.request["action"], text), OkReply)
    # The connection goes on: the next request is answered (ok, or USER_NOT_FOUND after a leave).
    assert send(pipeline, conn, "ping", now=1.0)["requestId"].startswith("r")


def test_moving_pieces_say_where_they_head_ghosts_their_state_pacmen_their_score() -> None:
    pipeline = make_pipeline()
    conn = ConnectionState(1, user_id="u")
    send(pipeline, conn, "join")
    found = send(pipeline, conn, "findAll", kind=":ghost")
    assert found["level"] == 1
    ghosts = found["entities"]
    assert {g["state"] for g in ghosts} == {"normal"}
    assert all(g["heading"] in ("up", "down", "left", "right") for g in ghosts)
    (me,) = send(pipeline, conn, "findAll", kind=":pacman")["entities"]
    assert (me["score"], me["lives"]) == (0, 3)
    pellets = send(pipeline, conn, "findAll", kind=":pellet")["entities"]
    assert set(pellets[0]) == {"name", "kind", "xPos", "yPos"}  # food carries no extras
    pipeline.game.board._frighten()
    states = {g["state"] for g in send(pipeline, conn, "findAll", kind=":ghost")["entities"]}
    assert states == {"frightened"}
    for _ in range(60 * 5):
        pipeline.game.tick(now=0.0)
    states = {g["state"] for g in send(pipeline, conn, "findAll", kind=":ghost")["entities"]}
    assert states == {"flashing"}
    mine = send(pipeline, conn, "find", name="pacman")
    assert mine["lives"] == 3
