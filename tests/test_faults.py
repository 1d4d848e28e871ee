"""The fault engine (which faults hit which message) and the admin endpoint that controls it,
on a real server."""

import asyncio
import json

import pytest
from pydantic import ValidationError
from structlog.testing import capture_logs
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from pacnet.client.remote import RemoteBoard
from pacnet.faults.admin import AdminClient
from pacnet.faults.engine import MAX_FAULTS, FaultSet, Message
from pacnet.faults.feed import FEED_PATH, FaultFeed
from pacnet.faults.spec import Direction, Domain, Fault, FaultKind
from pacnet.feeds.addresses import endpoint_url
from pacnet.protocol.outcome import Outcome, Step
from pacnet.proxy.config import ProxyConfig
from pacnet.proxy.relay import running_proxy
from pacnet.server.net import BoardServer
from tests.conftest import MS


def fault(**fields: object) -> Fault:
    return Fault.model_validate(fields)


MOVE = Message(action="move", user="8765309", connection=1)


# --- the spec ---


def test_a_fault_knows_its_domain_and_step_from_its_kind() -> None:
    assert fault(kind="offline").domain is Domain.CLIENT
    assert fault(kind="offline").step is Step.POST_REQUEST
    assert fault(kind="crash").step is Step.DELIVER_REQUEST
    assert fault(kind="update_fails").step is Step.UPDATE_SERVER_STATE
    assert fault(kind="drop", direction="request").step is Step.DELIVER_REQUEST
    assert fault(kind="drop", direction="reply").step is Step.DELIVER_REPLY
    assert fault(kind="drop", direction="reply").domain is Domain.NETWORK


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"kind": "drop"}, "needs a direction"),
        ({"kind": "reject", "direction": "reply"}, "has no direction"),
        ({"kind": "delay", "direction": "reply"}, "needs delayMs or jitterMs"),
        ({"kind": "drop", "direction": "reply", "probability": 0}, "greater than 0"),
        ({"kind": "drop", "direction": "reply", "probability": 1.5}, "less than or equal to 1"),
        ({"kind": "explode"}, "kind"),
        ({"kind": "reject", "colour": "red"}, "Extra inputs"),
        ({"kind": "refuse", "action": "move"}, "aim it with connection"),
        ({"kind": "reject", "count": True}, "count"),  # a scenario's typo, not a 1
        ({"kind": "reject", "probability": "0.2"}, "probability"),
        ({"kind": "reject", "duration_s": float("inf")}, "finite number"),
    ],
)
def test_a_fault_that_makes_no_sense_is_refused_with_a_reason(
    fields: dict[str, object], complaint: str
) -> None:
    with pytest.raises(ValidationError, match=complaint):
        Fault.model_validate(fields)


def test_a_fault_describes_itself_in_one_line() -> None:
    line = fault(kind="drop", direction="reply", probability=0.2, action="findAll").describe()
    assert line == "drop reply 20% action=findAll (network, step 6 DELIVER REPLY)"


# --- the engine ---


def test_a_fault_set_takes_only_its_own_domains_faults() -> None:
    faults = FaultSet(Domain.SERVER)
    with pytest.raises(ValueError, match="injected by the network, not the server"):
        faults.add(fault(kind="drop", direction="reply"), 0.0)
    assert faults.add(fault(kind="reject"), 0.0).id == "s1"
    with pytest.raises(ValueError, match="id 's1' is on already"):
        faults.add(fault(kind="reject", id="s1"), 0.0)


def test_filters_aim_a_fault_at_one_users_next_move() -> None:
    faults = FaultSet(Domain.SERVER)
    faults.add(fault(kind="no_reply", action="move", user="8765309", count=1), 0.0)
    kinds = (FaultKind.NO_REPLY,)
    assert faults.fire(kinds, Message(action="find", user="8765309"), 1.0) == []
    assert faults.fire(kinds, Message(action="move", user="someone-else"), 1.0) == []
    assert [f.kind for f in faults.fire(kinds, MOVE, 1.0)] == [FaultKind.NO_REPLY]
    assert faults.fire(kinds, MOVE, 2.0) == []  # its count is spent: it switched itself off
    assert not faults


def test_skip_and_count_hit_exactly_the_third_reply_on_a_connection() -> None:
    faults = FaultSet(Domain.NETWORK)
    faults.add(fault(kind="drop", direction="reply", connection=4, skip=2, count=1), 0.0)
    kinds = (FaultKind.DROP,)
    hits = []
    for n in range(1, 7):
        other = Message(connection=3, direction=Direction.REPLY)
        assert faults.fire(kinds, other, float(n)) == []
        reply = Message(connection=4, direction=Direction.REPLY)
        request = Message(connection=4, direction=Direction.REQUEST)
        assert faults.fire(kinds, request, float(n)) == []
        hits.append(bool(faults.fire(kinds, reply, float(n))))
    assert hits == [False, False, True, False, False, False]


def test_a_fault_switches_off_after_its_duration() -> None:
    faults = FaultSet(Domain.SERVER)
    faults.add(fault(kind="reject", duration_s=30), 100.0)
    assert faults.fire((FaultKind.REJECT,), MOVE, 129.9)
    assert faults.status(129.9)
    assert not faults.fire((FaultKind.REJECT,), MOVE, 130.0)
    assert faults.status(130.0) == []


def test_the_same_seed_replays_the_same_hits_and_another_seed_does_not() -> None:
    def pattern(seed: int) -> list[bool]:
        faults = FaultSet(Domain.SERVER, seed=seed)
        faults.add(fault(kind="reject", probability=0.3), 0.0)
        return [bool(faults.fire((FaultKind.REJECT,), MOVE, 0.0)) for _ in range(200)]

    first = pattern(7)
    assert first == pattern(7)
    assert first != pattern(8)
    assert 30 <= sum(first) <= 90  # about 30% of 200


def test_every_matching_fault_fires_and_counts() -> None:
    faults = FaultSet(Domain.NETWORK)
    faults.add(fault(kind="delay", direction="reply", delay_ms=50), 0.0)
    faults.add(fault(kind="drop", direction="reply"), 0.0)
    hits = faults.fire((FaultKind.DELAY, FaultKind.DROP), Message(direction=Direction.REPLY), 0.0)
    assert [f.kind for f in hits] == [FaultKind.DELAY, FaultKind.DROP]
    assert [(s.matched, s.fired) for s in faults.status(0.0)] == [(1, 1), (1, 1)]


def test_a_fault_set_has_room_for_a_workshop_not_a_runaway_script() -> None:
    faults = FaultSet(Domain.SERVER)
    for _ in range(MAX_FAULTS):
        faults.add(fault(kind="reject"), 0.0)
    with pytest.raises(ValueError, match="remove some first"):
        faults.add(fault(kind="reject"), 0.0)


# --- the admin endpoint, on a real server ---


async def test_the_admin_endpoint_refuses_a_missing_or_wrong_token(server: BoardServer) -> None:
    assert server.url is not None
    with pytest.raises(InvalidStatus) as missing:
        async with connect(endpoint_url(server.url, "/admin")):
            pass
    assert missing.value.response.status_code == 401
    with pytest.raises(InvalidStatus) as wrong:
        async with AdminClient(server.url, server.admin.token + "x"):
            pass
    assert wrong.value.response.status_code == 401
    assert server.faults.status(0.0) == []


async def test_with_the_token_a_facilitator_adds_lists_removes_and_clears(
    server: BoardServer,
) -> None:
    assert server.url is not None
    async with AdminClient(server.url, server.admin.token) as admin:
        added = await admin.add({"kind": "update_fails", "action": "move"})
        assert added.ok
        assert added.domain == "server"
        assert added.seed == server.seed
        (status,) = added.faults
        assert status.fault.id == "s1"
        assert status.step == 4
        assert status.description == "update_fails action=move (server, step 4 UPDATE SERVER STATE)"
        await admin.add({"kind": "reject", "count": 2})
        assert [s.fault.id for s in (await admin.list()).faults] == ["s1", "s2"]
        assert [s.fault.id for s in (await admin.remove("s1")).faults] == ["s2"]
        missing = await admin.remove("s1")
        assert not missing.ok
        assert missing.error == "no fault with id 's1'"
        assert (await admin.clear()).faults == []


async def test_a_bad_admin_command_gets_a_reason_and_the_endpoint_goes_on(
    server: BoardServer,
) -> None:
    assert server.url is not None
    async with AdminClient(server.url, server.admin.token) as admin:
        for command, reason in [
            ({"op": "explode"}, "op"),
            ({"op": "add", "fault": {"kind": "drop", "direction": "reply"}}, "network"),
            ({"op": "add", "fault": {"kind": "reject", "probability": 2}}, "probability"),
        ]:
            reply = await admin.send(command)
            assert not reply.ok
            assert reason in (reply.error or ""), reply
        assert (await admin.add({"kind": "reject"})).ok


async def test_a_server_fault_hits_the_call_it_is_aimed_at_and_is_logged(
    server: BoardServer,
) -> None:
    assert server.url is not None
    async with (
        RemoteBoard(server.url, "8765309") as board,
        AdminClient(server.url, server.admin.token) as admin,
    ):
        assert (await board.join()).ok
        await admin.add({"kind": "update_fails", "action": "move", "count": 1})
        with capture_logs() as logs:
            first = await board.move("pacman", "right")
            second = await board.move("pacman", "right")
    assert first.outcome is Outcome.RETRYABLE
    assert second.outcome is Outcome.SUCCESS
    (injected,) = [line for line in logs if line["event"] == "fault_injected"]
    assert injected["requestId"] == first.request_id
    assert injected["domain"] == "server"
    assert injected["step"] == "UPDATE_SERVER_STATE"


async def test_anyone_can_watch_the_faults_feed_without_the_token(server: BoardServer) -> None:
    assert server.url is not None
    async with connect(endpoint_url(server.url, FEED_PATH)) as feed:
        assert FaultFeed.model_validate_json(await feed.recv()).faults == []
        async with AdminClient(server.url, server.admin.token) as admin:
            await admin.add({"kind": "no_reply", "action": "remove"})
        async with asyncio.timeout(2000 * MS):
            update = FaultFeed.model_validate_json(await feed.recv())
        assert [s.fault.kind for s in update.faults] == [FaultKind.NO_REPLY]
        await feed.send(json.dumps({"op": "clear"}))  # the feed is read only: ignored
        await asyncio.sleep(300 * MS)
    assert len(server.faults.status(0.0)) == 1


def test_on_the_server_only_the_first_fault_to_fire_at_a_stage_applies() -> None:
    faults = FaultSet(Domain.SERVER)
    faults.add(fault(kind="update_fails", count=1), 0.0)
    faults.add(fault(kind="disk_full", count=1), 0.0)
    kinds = (FaultKind.UPDATE_FAILS, FaultKind.DISK_FULL)
    assert [f.kind for f in faults.fire(kinds, MOVE, 0.0, first=True)] == [FaultKind.UPDATE_FAILS]
    assert [f.kind for f in faults.fire(kinds, MOVE, 0.0, first=True)] == [FaultKind.DISK_FULL]
    assert faults.fire(kinds, MOVE, 0.0, first=True) == []


async def test_the_fault_hook_is_in_the_request_path_only_while_a_fault_is_on(
    server: BoardServer,
) -> None:
    """Calm costs nothing: no fault hook runs on a request while no fault is on."""
    calm = list(server.pipeline.hooks)
    server.faults.add(fault(kind="reject", count=1), 0.0)
    assert len(server.pipeline.hooks) == len(calm) + 1
    assert server.url is not None
    async with RemoteBoard(server.url, "8765309") as board:
        assert (await board.join()).outcome is Outcome.FATAL  # the fault spends itself
        assert (await board.join()).ok
    assert server.pipeline.hooks == calm


async def test_a_clear_or_a_mark_begins_an_exercise_the_faults_feed_announces(
    server: BoardServer,
) -> None:
    assert server.url is not None
    async with connect(endpoint_url(server.url, FEED_PATH)) as feed:
        first = FaultFeed.model_validate_json(await feed.recv())
        assert (first.exercise.number, first.exercise.label) == (0, "")
        async with AdminClient(server.url, server.admin.token) as admin:
            assert (await admin.clear()).exercise.number == 1
            marked = await admin.mark("step 3: the server rejects moves")
        assert (marked.exercise.number, marked.exercise.label) == (
            2,
            "step 3: the server rejects moves",
        )
        async with asyncio.timeout(2000 * MS):
            while (latest := FaultFeed.model_validate_json(await feed.recv())).exercise.number < 2:
                pass
        assert latest.exercise.label == "step 3: the server rejects moves"


async def test_a_scenario_step_counts_down_to_the_next_on_the_feed(server: BoardServer) -> None:
    """The projector's countdown: the feed says the whole seconds left, once a second."""
    assert server.url is not None
    async with AdminClient(server.url, server.admin.token) as admin:
        assert (await admin.mark("step 1: play normally", next_step_in=2.5)).ok
        async with connect(endpoint_url(server.url, FEED_PATH)) as feed:
            shown = [FaultFeed.model_validate_json(await feed.recv()).exercise.next_step_in_s]
            async with asyncio.timeout(6000 * MS):
                while shown[-1] != 0:
                    shown.append(
                        FaultFeed.model_validate_json(await feed.recv()).exercise.next_step_in_s
                    )
            assert 1 <= shown[0] <= 3  # 2.5 s, rounded up, less the time to connect
            assert shown == sorted(shown, reverse=True)
            assert len(shown) == len(set(shown)), "one message a second, not one a look"
            assert (await admin.mark("step 2: the last")).ok  # no next step
            async with asyncio.timeout(2000 * MS):
                while (
                    last := FaultFeed.model_validate_json(await feed.recv())
                ).exercise.number < 2:
                    pass
            assert last.exercise.next_step_in_s is None


async def test_the_proxys_faults_feed_shows_the_servers_exercise(server: BoardServer) -> None:
    """Players who play through the proxy watch its feed: the room's exercise is the
    server's, and reaches them there."""
    assert server.url is not None
    async with running_proxy(ProxyConfig(port=0, upstream=server.url, seed=1)) as proxy:
        assert proxy.url is not None
        async with AdminClient(server.url, server.admin.token) as admin:
            assert (await admin.mark("step 6: replies lost")).ok
        async with connect(endpoint_url(proxy.url, FEED_PATH)) as feed:
            async with asyncio.timeout(3000 * MS):
                while (
                    shown := FaultFeed.model_validate_json(await feed.recv())
                ).exercise.number < 1:
                    pass
    assert shown.exercise.label == "step 6: replies lost"
