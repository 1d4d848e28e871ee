"""The board server's own calls to Redis end in the article's five outcomes
(``pacnet.cluster.link``), each provoked for real: a closed port, an error reply, a Redis busy
with a script, a Redis stopped with SIGSTOP and one killed mid-call."""

import asyncio
import signal
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from pacnet.cluster.components import Redis, free_port, redis_command
from pacnet.cluster.link import BadReply, StoreLink
from pacnet.faults.engine import FaultSet
from pacnet.faults.spec import Domain, Fault
from pacnet.protocol.outcome import Outcome, Step
from tests.conftest import MS


@pytest.fixture
async def link(redis_server: Redis) -> AsyncIterator[StoreLink]:
    link = StoreLink("127.0.0.1", redis_server.port, deadline=300 * MS)
    yield link
    await link.close()


def number(reply: Any) -> int:
    assert isinstance(reply, int)
    return reply


async def test_a_call_that_succeeds_carries_redis_answer(link: StoreLink) -> None:
    result = await link.call("count", "INCR", "n", read=number)
    assert (result.outcome, result.value) == (Outcome.SUCCESS, 1)
    assert link.calls == {("count", "SUCCESS"): 1}


async def test_no_redis_to_connect_to_is_post_failed_nothing_was_sent() -> None:
    link = StoreLink("127.0.0.1", free_port(), deadline=300 * MS)
    result = await link.call("count", "INCR", "n", read=number)
    assert (result.outcome, result.step) == (Outcome.POST_FAILED, Step.POST_REQUEST)
    assert "nothing was sent" in result.message


async def test_an_error_reply_is_fatal_and_redis_busy_with_a_script_is_retryable(
    link: StoreLink, redis_server: Redis
) -> None:
    refused = await link.call("typo", "INCRR", "n", read=number)
    assert (refused.outcome, refused.step) == (Outcome.FATAL, Step.VALIDATE_REQUEST)
    assert "unknown command" in refused.message
    redis_command(redis_server.port, "CONFIG", "SET", "busy-reply-threshold", "50")
    with socket.create_connection(("127.0.0.1", redis_server.port)) as busy:
        script = "while true do end"
        busy.sendall(f"*3\r\n$4\r\nEVAL\r\n${len(script)}\r\n{script}\r\n$1\r\n0\r\n".encode())
        await asyncio.sleep(0.2)  # past the threshold: Redis answers others BUSY
        later = await link.call("count", "INCR", "n", read=number)
        redis_command(redis_server.port, "SCRIPT", "KILL")
        assert busy.recv(200).startswith(b"-ERR Script killed"), "it answers once it stops"
    assert later.outcome is Outcome.RETRYABLE
    assert later.message.startswith("BUSY")
    again = await link.call("count", "INCR", "n", read=number)
    assert (again.outcome, again.value) == (Outcome.SUCCESS, 1), "not run while BUSY"


async def test_a_stalled_redis_is_unknown_and_its_late_reply_never_answers_the_next_call(
    link: StoreLink, redis_server: Redis
) -> None:
    assert (await link.call("count", "INCR", "n", read=number)).value == 1
    redis_server.component.process.send_signal(signal.SIGSTOP)
    stalled = await link.call("count", "INCR", "n", read=number)
    redis_server.component.process.send_signal(signal.SIGCONT)
    assert (stalled.outcome, stalled.step) == (Outcome.UNKNOWN, None)
    assert "may have been carried out" in stalled.message
    after = await link.call("count", "INCR", "n", read=number)
    assert after.value == 3, "the stalled INCR was carried out: UNKNOWN meant maybe"


async def test_a_redis_killed_mid_call_is_unknown_then_post_failed(
    link: StoreLink, redis_server: Redis
) -> None:
    assert (await link.call("count", "INCR", "n", read=number)).ok
    redis_server.component.process.send_signal(signal.SIGSTOP)
    in_flight = asyncio.create_task(link.call("count", "INCR", "n", read=number, deadline=5.0))
    await asyncio.sleep(0.1)  # written, waiting for the reply
    redis_server.component.process.send_signal(signal.SIGKILL)
    lost = await in_flight
    assert lost.outcome is Outcome.UNKNOWN
    assert "broke after sending" in lost.message
    gone = await link.call("count", "INCR", "n", read=number)
    assert gone.outcome is Outcome.POST_FAILED


async def test_a_reply_the_caller_cannot_read_is_unknown_at_step_7(link: StoreLink) -> None:
    def strict(reply: Any) -> int:
        raise BadReply(f"not a count: {reply!r}")

    result = await link.call("count", "INCR", "n", read=strict)
    assert (result.outcome, result.step) == (Outcome.UNKNOWN, Step.VALIDATE_REPLY)


# --- the link broken on purpose (the server's own faults) ---------------------------------

LINK_FAULTS = [
    # fault, outcome, step, times Redis ran the command (0 or 1)
    ({"kind": "store_refuse"}, Outcome.POST_FAILED, Step.POST_REQUEST, 0),
    ({"kind": "store_drop", "direction": "request"}, Outcome.UNKNOWN, None, 0),
    ({"kind": "store_drop", "direction": "reply"}, Outcome.UNKNOWN, None, 1),
    ({"kind": "store_delay", "direction": "request", "delayMs": 600}, Outcome.UNKNOWN, None, 0),
    ({"kind": "store_delay", "direction": "reply", "delayMs": 600}, Outcome.UNKNOWN, None, 1),
    ({"kind": "store_delay", "direction": "reply", "delayMs": 50}, Outcome.SUCCESS, None, 1),
]


@pytest.mark.parametrize(
    ("fault", "outcome", "step", "ran"), LINK_FAULTS,
    ids=[f"{f['kind']}-{f.get('direction', 'any')}-{f.get('delayMs', '')}" for f, *_ in LINK_FAULTS],
)  # fmt: skip
async def test_each_fault_on_the_link_ends_the_call_as_the_article_says(
    link: StoreLink,
    redis_server: Redis,
    fault: dict[str, Any],
    outcome: Outcome,
    step: Step | None,
    ran: int,
) -> None:
    link.faults = FaultSet(Domain.SERVER)
    link.faults.add(Fault.model_validate({**fault, "action": "count", "count": 1}), 0.0)
    assert (await link.call("other", "SET", "n", "0", read=lambda _: None)).ok, "not aimed at"
    result = await link.call("count", "INCR", "n", read=number)
    assert (result.outcome, result.step) == (outcome, step)
    assert redis_command(redis_server.port, "GET", "n").endswith(f"{ran}\r\n".encode())
    after = await link.call("count", "INCR", "n", read=number)
    assert after.ok, "the fault is spent: the link works again"
