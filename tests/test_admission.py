"""Shedding load: which requests a saturated server still serves (``pacnet.server.admission``),
in memory and then over real sockets."""

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from pacnet.protocol.codec import decode_reply
from pacnet.protocol.errors import ErrorCode
from pacnet.protocol.models import ErrorReply
from pacnet.server.admission import JOIN_RETRY, RETRY_HINT, Admission
from pacnet.server.board import Board
from pacnet.server.config import ServerLimits
from pacnet.server.game import Game
from pacnet.server.layout import load_layout
from pacnet.server.pipeline import ConnectionState, Exchange, Pipeline, Stage
from tests.conftest import RawClient, StartServer

MAX, TARGET = 0.1, 0.005


def admission(now: float = 0.0) -> Admission:
    return Admission(MAX, TARGET, now, random.Random(1))


def test_a_burst_is_served_whole_and_only_the_very_late_are_refused() -> None:
    gate = admission()
    gate.note_lag(0.001, now=1.0)  # the loop keeps up
    assert gate.admit(0.001, now=1.00)
    assert gate.admit(0.09, now=1.05), "queued behind a burst: served"
    assert not gate.overloaded(1.05)
    assert not gate.admit(0.15, now=1.06), "past max_wait: its client has nearly given up"
    assert gate.shed == 1


def test_a_moment_of_lag_is_a_burst_not_a_standing_queue() -> None:
    gate = admission()
    gate.note_lag(0.001, now=1.0)
    gate.note_lag(0.06, now=1.02)  # the loop stalled once (a collection, a snapshot)
    assert not gate.overloaded(1.03)
    assert gate.admit(0.05, now=1.03), "within max_wait: served"


def test_a_standing_queue_is_cut_to_the_overload_wait_until_the_loop_catches_up() -> None:
    gate = admission()
    gate.note_lag(0.001, now=1.0)
    # For a whole max_wait, the loop is behind by more than the overload wait: it is saturated.
    for now in (1.02, 1.05, 1.09, 1.11):
        gate.note_lag(0.01, now=now)
    assert gate.overloaded(1.11)
    assert not gate.admit(0.006, now=1.11), "now 5 ms is the most a request may wait"
    assert gate.admit(0.004, now=1.11)
    gate.note_lag(0.003, now=1.12)
    assert not gate.overloaded(1.12), "the loop caught up"
    assert gate.admit(0.05, now=1.12), "a burst again: up to max_wait is served"
    assert gate.shed == 1


def test_with_no_max_wait_every_request_is_served_however_late() -> None:
    gate = Admission(0.0, 0.0, 0.0, random.Random(1))
    assert all(gate.admit(waited, now=float(t)) for t, waited in enumerate((0.0, 5.0, 60.0)))
    assert not gate.overloaded(100.0)
    assert not gate.crowded(100.0)
    assert gate.shed == 0


def test_retry_hints_are_spread_and_a_join_waits_longer() -> None:
    gate = admission()
    hints = [gate.retry_after() for _ in range(200)]
    assert min(hints) >= MAX * RETRY_HINT[0]
    assert max(hints) <= MAX * RETRY_HINT[1]
    assert max(hints) - min(hints) > MAX / 2, (
        "spread, so those refused together do not return together"
    )
    assert not gate.admit(1.0, now=5.0)
    assert gate.crowded(5.0)
    join_after = gate.join_retry_after(5.1)
    assert not gate.crowded(5.1 + join_after), "a new player told to wait finds room"


@pytest.mark.parametrize("waits", [(-0.1, 0.0), (0.1, 0.2)])
def test_impossible_waits_are_refused(waits: tuple[float, float]) -> None:
    with pytest.raises(ValueError, match="wait"):
        Admission(*waits, 0.0, random.Random(1))
    with pytest.raises(ValueError, match="wait"):
        ServerLimits(max_wait=waits[0], overload_wait=waits[1])


def pipeline(hooked: bool) -> Pipeline:
    game = Game(Board(load_layout("small"), random.Random(1)), ServerLimits())
    hooks = [lambda stage, exchange: None] if hooked else []
    return Pipeline(game, hooks, admission=admission())


def frame(user: str, action: str, request_id: str, **fields: Any) -> str:
    return json.dumps({"v": 1, "requestId": request_id, "userId": user, "action": action, **fields})


@pytest.mark.parametrize("hooked", [False, True], ids=["calm", "hooked"])
def test_a_shed_request_gets_overloaded_with_its_id_and_changes_nothing(hooked: bool) -> None:
    path = pipeline(hooked)
    ann = ConnectionState(1)
    assert path.handle(ann, frame("ann", "join", "j1"), 0.0).failed is False
    move = frame("ann", "move", "m1", name="pacman", direction="left", seq=1)
    shed = path.handle(ann, move, now=1.0, waited=0.5)
    assert shed.stage is Stage.ADMIT
    assert shed.frame is not None
    reply = json.loads(shed.frame)
    assert reply["requestId"] == "m1", "the client can tell which call was refused"
    assert reply["error"]["code"] == ErrorCode.OVERLOADED
    assert reply["error"]["retryable"]
    assert MAX * RETRY_HINT[0] * 1000 <= reply["retryAfterMs"] <= MAX * RETRY_HINT[1] * 1000
    assert "waited too long" in reply["error"]["message"]
    assert isinstance(decode_reply("move", shed.frame.decode()), ErrorReply), "the contract's shape"
    (pacman,) = path.game.board.all_of(":pacman")
    assert pacman.last_seq is None, "nothing changed: the move was never read"
    # Sent again, on time, it is served.
    assert json.loads(path.handle(ann, move, now=1.01).frame or "")["status"] == "ok"
    assert pacman.last_seq == 1


def test_after_a_refusal_a_new_player_is_turned_away_but_a_player_here_resumes() -> None:
    path = pipeline(hooked=False)
    ann, ben = ConnectionState(1), ConnectionState(2)
    joined = json.loads(path.handle(ann, frame("ann", "join", "j1"), 0.0).frame or "")
    shed = path.handle(ann, frame("ann", "find", "f1", name="pacman"), 1.0, waited=0.5)
    assert shed.stage is Stage.ADMIT
    # Read on time a moment later (the queue drained), ben's join is still turned away.
    soon, later = 1.0 + MAX * JOIN_RETRY / 2, 1.0 + MAX * JOIN_RETRY + 0.01
    refused = json.loads(path.handle(ben, frame("ben", "join", "j2"), soon).frame or "")
    assert refused["error"]["code"] == ErrorCode.OVERLOADED
    assert "no new players" in refused["error"]["message"]
    assert soon + refused["retryAfterMs"] / 1000 >= later - 0.01
    assert "ben" not in path.game.sessions
    again = frame("ann", "join", "j3", token=joined["sessionToken"])
    assert json.loads(path.handle(ConnectionState(3), again, soon).frame or "")["resumed"]
    # JOIN_RETRY max_waits after the last refusal, new players are welcome again.
    welcome = json.loads(path.handle(ben, frame("ben", "join", "j4"), later).frame or "")
    assert welcome["status"] == "ok"


CROWD, BURST = 50, 16
"""Connections, and requests each sends at once (websockets queues 16 frames a connection)."""


def costly(stage: Stage, exchange: Exchange) -> None:
    """Each request it admits costs the server a millisecond: 800 of them are more than it can
    read within ``--max-wait`` (0.25 s), on any machine."""
    if stage is Stage.VALIDATE:
        time.sleep(0.001)


async def burst(url: str) -> list[dict[str, Any]]:
    """Every connection joins, then sends BURST finds at once; returns every reply."""
    async with AsyncExitStack() as stack:
        crowd = [
            await stack.enter_async_context(connect(url, compression=None)) for _ in range(CROWD)
        ]
        for n, ws in enumerate(crowd):
            await ws.send(frame(f"u{n}", "join", f"j{n}"))
            assert json.loads(await ws.recv())["status"] == "ok"

        async def one(n: int, ws: ClientConnection) -> list[dict[str, Any]]:
            for i in range(BURST):
                await ws.send(frame(f"u{n}", "find", f"u{n}-{i}", name="pacman"))
            return [json.loads(await ws.recv()) for _ in range(BURST)]

        async with asyncio.TaskGroup() as tasks:
            runs = [tasks.create_task(one(n, ws)) for n, ws in enumerate(crowd)]
        return [reply for run in runs for reply in run.result()]


async def test_a_saturated_server_sheds_what_waited_too_long_and_serves_the_rest(
    start_server: StartServer, raw_client: Callable[[str], Awaitable[RawClient]]
) -> None:
    server = await start_server(hooks=(costly,), calm=True)  # the default waits
    replies = await burst(server.url or "")
    assert len(replies) == CROWD * BURST, "every request answered, once"
    assert len({reply["requestId"] for reply in replies}) == CROWD * BURST
    shed = [reply for reply in replies if reply["status"] == "error"]
    assert shed, "800 requests of a millisecond each, at once: most waited past 0.25 s"
    assert len(shed) < len(replies), "and the first were served"
    for reply in shed:
        assert reply["error"]["code"] == ErrorCode.OVERLOADED, reply
        assert reply["error"]["retryable"]
        assert reply["retryAfterMs"] >= 50  # a fifth of --max-wait at least
    assert server.admission.shed == len(shed)
    assert server.statistics()["requestsShed"] == len(shed)
    # The game goes on; a new player waits a quiet second (the burst ended a moment ago).
    newcomer = await raw_client(server.url or "")
    turned = await newcomer.call("ann", "join")
    assert turned["error"]["code"] == ErrorCode.OVERLOADED
    await asyncio.sleep(turned["retryAfterMs"] / 1000)
    assert (await newcomer.call("ann", "join"))["status"] == "ok"


async def test_with_no_max_wait_the_same_burst_is_served_whole_however_late(
    start_server: StartServer,
) -> None:
    server = await start_server(hooks=(costly,), calm=True, max_wait=0.0)
    replies = await burst(server.url or "")
    assert [reply["status"] for reply in replies] == ["ok"] * (CROWD * BURST)
    assert server.admission.shed == 0
