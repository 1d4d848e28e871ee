"""The network's fault domain: the proxy's pure fault policy, then the relay between real
clients and a real board server, each fault in each direction as a client meets it."""

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from pacnet.client.remote import CallResult, RemoteBoard
from pacnet.client.timeouts import Timeouts
from pacnet.faults.admin import AdminClient
from pacnet.faults.engine import FaultSet, Message
from pacnet.faults.feed import FEED_PATH, FaultFeed
from pacnet.faults.spec import Corruption, Direction, Domain, Fault, FaultKind
from pacnet.feeds.addresses import endpoint_url
from pacnet.main import main
from pacnet.protocol.codec import DecodeFailure, decode_reply, decode_request
from pacnet.protocol.errors import ErrorCode
from pacnet.protocol.models import OkReply
from pacnet.protocol.outcome import Outcome, Step
from pacnet.proxy.config import ProxyConfig
from pacnet.proxy.policy import NetworkFaults, RequestMemory, damage
from pacnet.proxy.relay import Proxy, running_proxy
from pacnet.server.net import BoardServer
from pacnet.server.pipeline import Exchange, Stage
from tests.conftest import MS, ROOT, StartServer

USER = "8765309"
FAST = Timeouts(connect=2.0, reply=300 * MS)

REQUEST = '{"v":1,"requestId":"c7-42","userId":"8765309","action":"move","name":"pacman","direction":"left"}'
REPLY = '{"v":1,"requestId":"c7-42","clock":1500,"status":"ok","xPos":8,"yPos":7}'
FIND_REPLY = '{"v":1,"requestId":"c7-43","clock":1500,"status":"ok","name":"pacman-8765309","kind":":pacman","xPos":8,"yPos":7,"heading":"left","score":10,"lives":3}'
ERROR_REPLY = '{"v":1,"requestId":"c7-44","clock":3,"status":"error","error":{"code":"NOT_FOUND","message":"no \\"pinky\\" here","retryable":false}}'


def fault(**fields: Any) -> Fault:
    return Fault.model_validate(fields)


def network(*faults: Fault, seed: int = 7) -> NetworkFaults:
    fault_set = FaultSet(Domain.NETWORK, seed)
    for one in faults:
        fault_set.add(one, 0.0)
    return NetworkFaults(fault_set)


def is_json(frame: str | bytes) -> bool:
    try:
        json.loads(frame)
    except ValueError:
        return False
    return True


# --- the pure policy ---


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32), frame=st.sampled_from([REQUEST, REPLY, FIND_REPLY, ERROR_REPLY]))
def test_a_flip_keeps_the_frame_text_of_the_same_length_and_never_json(
    seed: int, frame: str
) -> None:
    flipped = damage(frame, Corruption.FLIP, random.Random(seed))
    assert isinstance(flipped, str)
    assert len(flipped) == len(frame)
    assert 1 <= sum(a != b for a, b in zip(flipped, frame, strict=True)) <= 3
    assert not is_json(flipped)


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32), frame=st.sampled_from([REQUEST, REPLY, FIND_REPLY]))
def test_a_truncated_frame_is_a_proper_prefix_and_never_json(seed: int, frame: str) -> None:
    cut = damage(frame, Corruption.TRUNCATE, random.Random(seed))
    assert isinstance(cut, str)
    assert frame.startswith(cut)
    assert len(cut) < len(frame)
    assert not is_json(cut)


def test_garbage_is_random_bytes_sent_as_a_binary_frame() -> None:
    garbage = damage(REPLY, Corruption.GARBAGE, random.Random(7))
    assert isinstance(garbage, bytes)
    assert garbage != REPLY.encode()


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32))
def test_a_schema_corrupted_request_is_json_that_the_server_refuses_by_its_request_id(
    seed: int,
) -> None:
    broken = damage(REQUEST, Corruption.SCHEMA, random.Random(seed))
    assert isinstance(broken, str)
    assert json.loads(broken)["requestId"] == "c7-42"
    assert json.loads(broken)["v"] == 1
    with pytest.raises(DecodeFailure) as refused:
        decode_request(broken)
    assert refused.value.code is ErrorCode.INVALID_MESSAGE
    assert refused.value.request_id == "c7-42"


@settings(max_examples=100, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    action_and_frame=st.sampled_from(
        [("move", REPLY), ("find", FIND_REPLY), ("find", ERROR_REPLY)]
    ),
)
def test_a_schema_corrupted_reply_is_json_with_its_request_id_that_fails_step_7(
    seed: int, action_and_frame: tuple[str, str]
) -> None:
    action, frame = action_and_frame
    decode_reply(action, frame)  # the reply as sent is valid
    broken = damage(frame, Corruption.SCHEMA, random.Random(seed))
    assert json.loads(broken)["requestId"] == json.loads(frame)["requestId"]
    with pytest.raises(ValueError):  # noqa: PT011 - any ValueError means "unreadable"
        decode_reply(action, broken)


def test_schema_corruption_renames_a_field_as_a_typo_would() -> None:
    fields = json.loads(REPLY).keys()
    renamed = set()
    for seed in range(40):
        broken = json.loads(damage(REPLY, Corruption.SCHEMA, random.Random(seed)))
        (new,) = broken.keys() - fields
        (old,) = fields - broken.keys()
        renamed.add((old, new))
    assert renamed == {("xPos", "xpos"), ("yPos", "ypos"), ("clock", "Clock"), ("status", "Status")}


def test_stacked_faults_apply_in_the_specs_order_whatever_order_they_were_added() -> None:
    policy = network(
        fault(kind="corrupt", direction="reply", corruption="truncate"),
        fault(kind="duplicate", direction="reply"),
        fault(kind="delay", direction="reply", delay_ms=250, jitter_ms=100),
    )
    plan = policy.plan(REPLY, Message(direction=Direction.REPLY), 0.0)
    assert [f.kind for f in plan.faults] == [
        FaultKind.DELAY,
        FaultKind.DUPLICATE,
        FaultKind.CORRUPT,
    ]
    assert 0.25 <= plan.delay <= 0.35
    assert len(plan.frames) == 2  # both copies damaged
    assert all(isinstance(f, str) and REPLY.startswith(f) and f != REPLY for f in plan.frames)
    assert not plan.reset


@pytest.mark.parametrize(
    ("second", "reset"),
    [
        (fault(kind="drop", direction="request"), False),
        (fault(kind="blackhole"), False),
        (fault(kind="reset", direction="request"), True),
    ],
    ids=[
        "delay-then-drop-is-lost",
        "delay-then-blackhole-is-lost",
        "delay-then-reset-cuts-after-the-delay",
    ],
)
def test_a_delay_and_a_loss_on_the_same_path_both_apply(second: Fault, reset: bool) -> None:
    policy = network(fault(kind="delay", direction="request", delay_ms=50), second)
    plan = policy.plan(REQUEST, Message(direction=Direction.REQUEST), 0.0)
    assert plan.frames == ()
    assert plan.delay == 0.05
    assert plan.reset is reset
    assert len(plan.faults) == 2


def test_a_message_no_fault_matches_passes_untouched() -> None:
    policy = network(fault(kind="drop", direction="reply"), fault(kind="refuse"))
    plan = policy.plan(REQUEST, Message(direction=Direction.REQUEST, connection=1), 0.0)
    assert plan.frames == (REQUEST,)
    assert plan.delay == 0
    assert plan.faults == ()


def test_a_refusal_is_aimed_at_a_connection() -> None:
    # Not at an action or a user: nothing is known of them at the handshake, and the fault
    # spec refuses such a refusal (tests/test_faults.py).
    policy = network(fault(kind="refuse", connection=2))
    assert policy.refusal(1, 0.0) is None
    refused = policy.refusal(2, 0.0)
    assert refused is not None
    assert refused.connection == 2
    assert policy.refusal(3, 0.0) is None


def test_a_reply_is_known_by_the_action_and_user_of_its_request() -> None:
    memory = RequestMemory(capacity=2)
    assert memory.look(REQUEST, Direction.REQUEST).action == "move"
    seen = memory.look(REPLY, Direction.REPLY)
    assert (seen.request_id, seen.action, seen.user) == ("c7-42", "move", USER)
    # A reply the server could not attribute belongs to the connection's user.
    unreadable = memory.look('{"v":1,"requestId":null}', Direction.REPLY)
    assert (unreadable.request_id, unreadable.action, unreadable.user) == (None, None, USER)
    assert memory.look(b"\x00garbage", Direction.REQUEST).request_id is None
    for n in range(3):  # the oldest request is forgotten past the capacity
        memory.look(
            json.dumps({"requestId": f"r{n}", "action": "ping", "userId": "u"}), Direction.REQUEST
        )
    assert memory.look(REPLY, Direction.REPLY).action is None


def test_the_same_seed_replays_the_same_plans() -> None:
    def plans(seed: int) -> list[tuple[tuple[str | bytes, ...], float]]:
        policy = network(
            fault(kind="corrupt", direction="reply", probability=0.5, corruption="flip"),
            fault(kind="delay", direction="reply", probability=0.5, delay_ms=1, jitter_ms=100),
            seed=seed,
        )
        message = Message(direction=Direction.REPLY)
        return [(p.frames, p.delay) for p in (policy.plan(REPLY, message, 0.0) for _ in range(50))]

    assert plans(7) == plans(7)
    assert plans(7) != plans(8)


# --- the relay, between real clients and a real server ---


async def until(condition: Callable[[], bool], within: float) -> None:
    """Wait for ``condition`` to hold, looking every few milliseconds; fail after ``within`` seconds."""
    async with asyncio.timeout(within):
        while True:
            if condition():
                return
            await asyncio.sleep(5 * MS)


def request_id_of(raw: str | bytes) -> str | None:
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data.get("requestId") if isinstance(data, dict) else None


class Arrived:
    """A server hook: the requestIds of the frames the server received (step 2), and of
    the requests it ran (it got past step 4)."""

    def __init__(self) -> None:
        self.received: list[str | None] = []
        self.acted: set[str] = set()

    def __call__(self, stage: Stage, exchange: Exchange) -> None:
        if stage is Stage.RECEIVE:
            self.received.append(request_id_of(exchange.raw))
        if stage is Stage.REPLY and exchange.request is not None:
            self.acted.add(exchange.request["request_id"])


@dataclass
class Relay:
    """A board server and a proxy in front of it."""

    server: BoardServer
    proxy: Proxy
    arrived: Arrived
    clock: Callable[[], float]

    @property
    def url(self) -> str:
        assert self.proxy.url is not None
        return self.proxy.url

    def add(self, **fields: Any) -> Fault:
        return self.proxy.faults.add(fault(**fields), self.clock())

    def board(self, user: str = USER, timeouts: Timeouts = FAST) -> RemoteBoard:
        return RemoteBoard(self.url, user, timeouts=timeouts, client_id=f"c-{user}")


StartRelay = Callable[..., Awaitable[Relay]]


@pytest.fixture
async def start_relay(start_server: StartServer) -> AsyncIterator[StartRelay]:
    """Start board servers, each behind its own proxy; all stop when the test ends."""
    async with AsyncExitStack() as stack:

        async def start(*, seed: int = 7, clock: Callable[[], float] = time.monotonic) -> Relay:
            arrived = Arrived()
            server = await start_server(hooks=(arrived,))
            assert server.url is not None
            config = ProxyConfig(port=0, upstream=server.url, seed=seed)
            proxy = await stack.enter_async_context(running_proxy(config, clock=clock))
            return Relay(server, proxy, arrived, clock)

        yield start


@pytest.fixture
async def relay(start_relay: StartRelay) -> Relay:
    return await start_relay()


async def test_a_player_joins_and_plays_through_the_proxy(relay: Relay) -> None:
    async with relay.board() as board:
        assert (await board.join()).ok
        results = [
            await board.find("pacman"),
            await board.move("pacman", "right"),
            await board.find_all(":ghost"),
            await board.remove("pacman"),
        ]
    assert [r.outcome for r in results] == [Outcome.SUCCESS] * 4, [r.describe() for r in results]
    pacman = relay.server.game.board.get(f"pacman-{USER}")
    assert pacman is None or pacman.lives == 2
    assert {r.request_id for r in results} <= relay.arrived.acted
    stats = relay.proxy.statistics()
    assert (stats.accepted, stats.requests, stats.replies, stats.faults_injected) == (1, 5, 5, 0)


@dataclass(frozen=True)
class Case:
    fault: dict[str, Any]
    outcome: Outcome
    acted: bool
    """Whether the server ran the move by the time the client's call ended."""
    received: int
    """How many times the move reached the server by then."""
    step: Step | None = None

    @property
    def id(self) -> str:
        what = "-".join(
            str(v) for k, v in self.fault.items() if k in ("kind", "direction", "corruption")
        )
        return f"{what}-{self.outcome.value}-{'acted' if self.acted else 'not-acted'}"


CASES = [
    Case({"kind": "drop", "direction": "request"}, Outcome.UNKNOWN, False, 0),
    Case({"kind": "drop", "direction": "reply"}, Outcome.UNKNOWN, True, 1),
    Case(
        {"kind": "delay", "direction": "request", "delayMs": round(1000 * MS * 1000)},
        Outcome.UNKNOWN,
        False,
        0,
    ),
    Case(
        {"kind": "delay", "direction": "reply", "delayMs": round(1000 * MS * 1000)},
        Outcome.UNKNOWN,
        True,
        1,
    ),
    Case({"kind": "duplicate", "direction": "request"}, Outcome.SUCCESS, True, 2),
    Case({"kind": "duplicate", "direction": "reply"}, Outcome.SUCCESS, True, 1),
    *(
        Case(
            {"kind": "corrupt", "direction": "request", "corruption": c},
            Outcome.FATAL,
            False,
            1,
            Step.VALIDATE_REQUEST,
        )
        for c in Corruption
    ),
    *(
        Case(
            {"kind": "corrupt", "direction": "reply", "corruption": c},
            Outcome.UNKNOWN,
            True,
            1,
            Step.VALIDATE_REPLY,
        )
        for c in Corruption
    ),
    Case({"kind": "reset", "direction": "request"}, Outcome.UNKNOWN, False, 0),
    Case({"kind": "reset", "direction": "reply"}, Outcome.UNKNOWN, True, 1),
    Case({"kind": "blackhole"}, Outcome.UNKNOWN, False, 0),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_a_network_fault_on_a_move_is_what_the_client_sees(relay: Relay, case: Case) -> None:
    async with relay.board() as board:
        assert (await board.join()).ok
        pacman = relay.server.game.board.get(f"pacman-{USER}")
        assert pacman is not None
        assert pacman.wanted != "right"
        relay.add(**case.fault, action="move")
        result = await board.move("pacman", "right")
        assert result.outcome is case.outcome, result.describe()
        assert (result.request_id in relay.arrived.acted) is case.acted
        assert (pacman.wanted == "right") is case.acted
        if case.received:  # a corrupted request may have lost its requestId on the way
            assert len(relay.arrived.received) == 1 + case.received
        assert relay.arrived.received.count(result.request_id) <= case.received
        if case.step is not None:
            assert result.step is case.step
        if case.outcome is Outcome.FATAL:
            assert result.code is ErrorCode.INVALID_MESSAGE
        if case.fault["kind"] == "reset":
            after = await board.ping()
            assert after.outcome is Outcome.POST_FAILED  # the connection is known gone


async def test_a_server_going_away_is_relayed_to_the_client_with_its_close_code(
    relay: Relay,
) -> None:
    async with connect(relay.url, compression=None) as client:
        relay.server.stop()  # closes every connection with 1001, going away
        await client.wait_closed()
    assert client.close_code == 1001


async def test_a_server_that_vanishes_vanishes_for_the_client_too(relay: Relay) -> None:
    relay.server.faults.add(fault(kind="crash", crash="abort"), time.monotonic())
    async with connect(relay.url, compression=None) as client:
        await client.send(json.dumps({"v": 1, "requestId": "r1", "userId": USER, "action": "ping"}))
        await client.wait_closed()
    assert client.close_code == 1006  # no close frame: the proxy aborted as the server did


async def test_a_request_delayed_past_the_deadline_is_unknown_yet_arrives_later(
    relay: Relay,
) -> None:
    async with relay.board() as board:
        assert (await board.join()).ok
        relay.add(kind="delay", direction="request", action="move", delay_ms=round(600 * MS * 1000))
        result = await board.move("pacman", "right")
        assert result.outcome is Outcome.UNKNOWN
        await until(lambda: result.request_id in relay.arrived.acted, 5000 * MS)
    pacman = relay.server.game.board.get(f"pacman-{USER}")
    assert pacman is not None
    assert pacman.wanted == "right"  # the UNKNOWN move happened after all


async def test_a_short_delay_with_jitter_within_the_deadline_is_success(relay: Relay) -> None:
    relay.add(
        kind="delay",
        direction="reply",
        delay_ms=round(20 * MS * 1000),
        jitter_ms=round(20 * MS * 1000),
    )
    async with relay.board(timeouts=Timeouts(reply=3000 * MS)) as board:
        assert (await board.join()).ok
        assert (await board.find()).ok


async def test_a_held_message_does_not_hold_up_the_ones_after_it(relay: Relay) -> None:
    async with relay.board() as board:
        assert (await board.join()).ok
        relay.add(kind="delay", direction="request", action="move", delay_ms=60_000)
        move = asyncio.create_task(board.move("pacman", "right"))
        await until(lambda: relay.proxy.statistics().requests == 2, 2000 * MS)  # join, move
        find = await board.find()
        assert find.ok, find.describe()
        assert (await move).outcome is Outcome.UNKNOWN
    assert find.request_id in relay.arrived.received
    assert (await move).request_id not in relay.arrived.received
    # Closing the connection dropped the held move: the proxy stops at once at teardown.


async def test_stacked_delay_and_drop_on_the_same_path_both_apply_and_are_logged(
    relay: Relay,
) -> None:
    async with relay.board() as board:
        assert (await board.join()).ok
        relay.add(kind="drop", direction="request", action="move")
        relay.add(kind="delay", direction="request", action="move", delay_ms=round(50 * MS * 1000))
        with capture_logs() as logs:
            result = await board.move("pacman", "right")
    assert result.outcome is Outcome.UNKNOWN
    assert result.request_id not in relay.arrived.received
    injected = [line for line in logs if line["event"] == "fault_injected"]
    assert [line["kind"] for line in injected] == ["delay", "drop"]
    assert {line["requestId"] for line in injected} == {result.request_id}


async def test_a_fault_aimed_at_the_next_move_of_one_user_hits_that_move_only(relay: Relay) -> None:
    async with relay.board() as me, relay.board("2718281") as other:
        assert (await me.join()).ok
        assert (await other.join()).ok
        relay.add(kind="drop", direction="request", action="move", user=USER, count=1)
        assert (await other.move("pacman", "right")).ok
        assert (await me.find()).ok
        first = await me.move("pacman", "right")
        second = await me.move("pacman", "right")
    assert first.outcome is Outcome.UNKNOWN
    assert second.outcome is Outcome.SUCCESS
    assert first.request_id not in relay.arrived.received
    assert relay.proxy.faults.status(time.monotonic()) == []  # its count is spent


async def test_skip_and_count_hit_exactly_the_third_reply_on_a_connection(relay: Relay) -> None:
    async with relay.board() as board, relay.board("2718281") as other:
        assert (await other.join()).ok  # connection 1
        assert (await board.join()).ok  # connection 2: its first reply
        relay.add(kind="drop", direction="reply", connection=2, skip=1, count=1)
        results = [await board.ping() for _ in range(3)]
        assert (await other.ping()).ok
    assert [r.outcome for r in results] == [Outcome.SUCCESS, Outcome.UNKNOWN, Outcome.SUCCESS]
    assert results[1].request_id in relay.arrived.acted  # the server acted; the reply was lost


async def outcomes_of_finds(relay: Relay) -> list[Outcome]:
    """Alternate find and findAll; a fault aims at 30% of the findAll replies."""
    relay.add(
        kind="corrupt", direction="reply", action="findAll", probability=0.3, corruption="schema"
    )
    async with relay.board() as board:
        assert (await board.join()).ok
        results: list[CallResult[OkReply]] = []
        for _ in range(15):
            results.append(await board.find())
            results.append(await board.find_all(":ghost"))
    assert all(r.ok for r in results[::2])  # finds are never hit
    (status,) = relay.proxy.faults.status(time.monotonic())
    assert status.matched == 15
    return [r.outcome for r in results[1::2]]


async def test_a_probability_from_a_seed_replays_identically(start_relay: StartRelay) -> None:
    first = await outcomes_of_finds(await start_relay(seed=11))
    again = await outcomes_of_finds(await start_relay(seed=11))
    other = await outcomes_of_finds(await start_relay(seed=12))
    assert first == again
    assert other != first
    assert 1 <= first.count(Outcome.UNKNOWN) <= 10


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_fault_switches_itself_off_after_its_duration(start_relay: StartRelay) -> None:
    clock = ManualClock()
    relay = await start_relay(clock=clock)
    relay.add(kind="corrupt", direction="reply", action="ping", duration_s=30, corruption="garbage")
    async with relay.board() as board:
        assert (await board.join()).ok
        clock.now += 29.9
        during = await board.ping()
        clock.now += 0.1
        after = await board.ping()
    assert during.outcome is Outcome.UNKNOWN
    assert after.outcome is Outcome.SUCCESS
    assert relay.proxy.faults.status(clock()) == []


async def test_a_refuse_fault_fails_new_connections_and_spares_open_ones(relay: Relay) -> None:
    async with relay.board() as board, relay.board("2718281") as late:
        assert (await board.join()).ok
        relay.add(kind="refuse", count=1)
        refused = await late.join()
        assert refused.outcome is Outcome.POST_FAILED
        assert refused.step is Step.POST_REQUEST
        assert "HTTP 503" in refused.message
        assert (await board.ping()).ok
        await asyncio.sleep(late.reconnects.not_before - asyncio.get_running_loop().time())
        assert (await late.join()).ok  # the count is spent: the next connection is accepted
    stats = relay.proxy.statistics()
    assert (stats.accepted, stats.refused) == (2, 1)


async def test_a_proxy_whose_upstream_is_down_refuses_connections_with_502(
    closed_port: int,
) -> None:
    config = ProxyConfig(port=0, upstream=f"ws://127.0.0.1:{closed_port}", seed=1)
    async with running_proxy(config) as proxy:
        assert proxy.url is not None
        async with RemoteBoard(proxy.url, USER, timeouts=FAST) as board:
            result = await board.join()
        assert result.outcome is Outcome.POST_FAILED
        assert "HTTP 502" in result.message
        assert proxy.upstream_faults() == []


async def test_a_blackhole_swallows_everything_and_keeps_the_connection_open(relay: Relay) -> None:
    async with relay.board() as board, relay.board("2718281") as late:
        assert (await board.join()).ok
        relay.add(kind="blackhole")
        result = await board.move("pacman", "right")
        accepted = await late.join()  # a new connection is accepted, then hears nothing
        assert result.outcome is Outcome.UNKNOWN
        assert accepted.outcome is Outcome.UNKNOWN
        assert late.connected
        relay.proxy.faults.clear()
        assert (await board.ping()).ok  # the same connection, open all along
    assert result.request_id not in relay.arrived.received
    assert accepted.request_id not in relay.arrived.received


@pytest.mark.parametrize(
    ("direction", "outcome"),
    [(Direction.REQUEST, Outcome.FATAL), (Direction.REPLY, Outcome.UNKNOWN)],
    ids=["request-FATAL", "reply-UNKNOWN"],
)
async def test_an_injected_fault_is_logged_with_the_request_it_hit(
    relay: Relay, direction: Direction, outcome: Outcome
) -> None:
    async with relay.board() as board:
        assert (await board.join()).ok
        added = relay.add(
            kind="corrupt", direction=direction, action="findAll", corruption="schema"
        )
        with capture_logs() as logs:
            result = await board.find_all(":ghost")
    assert result.outcome is outcome
    (line,) = [line for line in logs if line["event"] == "fault_injected"]
    assert line == {
        "event": "fault_injected", "log_level": "info", "domain": "network", "fault": added.id,
        "kind": "corrupt", "corruption": "schema", "step": added.step.name,
        "direction": direction.value, "requestId": result.request_id, "userId": USER,
        "action": "findAll", "connection": 1,
    }  # fmt: skip


# --- control: /admin and /faults on the proxy's own port ---


async def test_the_proxys_admin_refuses_a_missing_or_wrong_token(relay: Relay) -> None:
    with pytest.raises(InvalidStatus) as missing:
        async with connect(endpoint_url(relay.url, "/admin")):
            pass
    assert missing.value.response.status_code == 401
    # The server's token does not open the proxy's admin: /admin is never relayed.
    with pytest.raises(InvalidStatus) as wrong:
        async with AdminClient(relay.url, relay.server.admin.token):
            pass
    assert wrong.value.response.status_code == 401
    assert relay.proxy.statistics().accepted == 0


async def test_with_the_token_network_faults_are_added_listed_and_removed(relay: Relay) -> None:
    async with AdminClient(relay.url, relay.proxy.admin.token) as admin:
        added = await admin.add(
            {"kind": "drop", "direction": "reply", "action": "findAll", "probability": 0.2}
        )
        assert added.ok, added.error
        assert (added.domain, added.seed) == ("network", 7)
        assert [s.description for s in added.faults] == [
            "drop reply 20% action=findAll (network, step 6 DELIVER REPLY)"
        ]
        server_fault = await admin.add({"kind": "update_fails"})
        assert not server_fault.ok
        assert "injected by the server, not the network" in (server_fault.error or "")
        assert [s.fault.id for s in (await admin.list()).faults] == ["n1"]
        assert (await admin.remove("n1")).faults == []
    assert not relay.proxy.faults


async def test_the_proxys_faults_feed_shows_the_servers_faults_too(relay: Relay) -> None:
    relay.add(kind="drop", direction="reply", action="find")
    assert relay.server.url is not None
    async with AdminClient(relay.server.url, relay.server.admin.token) as admin:
        assert (await admin.add({"kind": "update_fails", "action": "move"})).ok
    async with connect(endpoint_url(relay.url, FEED_PATH)) as feed, asyncio.timeout(5000 * MS):
        while True:
            update = FaultFeed.model_validate_json(await feed.recv())
            if len(update.faults) == 2:
                break
    assert [(s.domain, s.fault.kind) for s in update.faults] == [
        (Domain.NETWORK, FaultKind.DROP),
        (Domain.SERVER, FaultKind.UPDATE_FAILS),
    ]


# --- the command line ---


def proxy_command(*args: str) -> list[str]:
    """``pacnet proxy`` as a user runs it (through the pacnet command line)."""
    return [sys.executable, "-m", "pacnet", "proxy", *args]


def environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PACNET_ADMIN_TOKEN"}


def events(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


async def first_event(log: Path, name: str, process: asyncio.subprocess.Process) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    def logged() -> bool:
        assert process.returncode is None, events(log)
        found.extend(e for e in events(log) if e["event"] == name)
        return bool(found)

    await until(logged, 20_000 * MS)
    return found[0]


async def test_the_proxy_command_relays_logs_faults_as_json_and_stops_on_sigterm(
    server: BoardServer, tmp_path: Path
) -> None:
    assert server.url is not None
    log = tmp_path / "proxy.log"
    args = (
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        server.url,
        "--seed",
        "5",
        "--log-format",
        "json",
    )
    with log.open("w") as stderr:
        process = await asyncio.create_subprocess_exec(
            *proxy_command(*args),
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd=ROOT,
            env=environment(),
        )
    try:
        started = await first_event(log, "proxy_started", process)
        assert (started["upstream"], started["seed"]) == (server.url, 5)
        # The generated token is shown once on the terminal (stdout), never in the log.
        assert process.stdout is not None
        shown = (await process.stdout.readline()).decode()
        assert shown.startswith("pacnet proxy: admin token ")
        token = shown.split()[4]
        assert started["adminToken"] == "generated"
        assert token not in log.read_text()
        async with (
            RemoteBoard(started["url"], USER, timeouts=FAST) as board,
            AdminClient(started["url"], token) as admin,
        ):
            assert (await board.join()).ok
            truncate = {"kind": "corrupt", "direction": "reply", "corruption": "truncate"}
            assert (await admin.add(truncate)).ok
            hit = await board.find()
        assert hit.outcome is Outcome.UNKNOWN
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20_000 * MS):
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    (injected,) = [e for e in events(log) if e["event"] == "fault_injected"]
    assert injected["requestId"] == hit.request_id
    assert (injected["domain"], injected["step"], injected["direction"]) == (
        "network",
        "DELIVER_REPLY",
        "reply",
    )
    assert [e["event"] for e in events(log)][-1] == "proxy_stopped"


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--listen", "8766"], "'8766' is not HOST:PORT"),
        (["--listen", "127.0.0.1:http"], "--listen: 'http' is not a port number"),
        (["--listen", "127.0.0.1:65536"], "--listen: '65536' is not a port number (0-65535)"),
        (["--upstream", "http://127.0.0.1:8765"], "is not a ws:// or wss:// URL"),
        (["--seed", "seven"], "invalid int value"),
    ],
    ids=[
        "port-without-host",
        "port-not-a-number",
        "port-out-of-range",
        "upstream-not-ws",
        "seed-not-a-number",
    ],
)
def test_a_bad_flag_is_one_line_on_stderr(
    args: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["proxy", *args])
    assert exited.value.code == 2
    stderr = capsys.readouterr().err
    assert stderr.count("\n") == 1
    assert stderr.startswith("pacnet proxy: error: ")
    assert complaint in stderr


def test_an_address_in_use_is_one_line_on_stderr() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            proxy_command("--listen", f"127.0.0.1:{port}", "--log-format", "json"),
            capture_output=True, text=True, timeout=60, cwd=ROOT,
        )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert done.stderr == (
        f"pacnet proxy: error: cannot listen on 127.0.0.1:{port}: address already in use\n"
    )
    assert "Traceback" not in done.stderr
