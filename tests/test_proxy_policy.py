"""The proxy's fault policy with no socket, no event loop and no clock: frames and ``now``
in, plans out, every random choice from the fault set's seed. Then the traffic ledger those
plans feed (what ``/traffic`` tells of each user)."""

from typing import Any

import pytest

from pacnet.faults.engine import Message
from pacnet.faults.spec import Direction, FaultKind
from pacnet.proxy.policy import Plan
from pacnet.proxy.traffic import Traffic
from tests.test_proxy import REPLY, REQUEST, USER, fault
from tests.test_proxy import network as policy

ON_REQUEST = Message("move", USER, 1, Direction.REQUEST)
ON_REPLY = Message("move", USER, 1, Direction.REPLY)


# --- the policy ---


def test_a_certain_reply_drop_loses_every_reply_and_passes_every_request() -> None:
    network = policy(fault(kind="drop", direction="reply", probability=1.0))
    for _ in range(20):
        assert network.plan(REQUEST, ON_REQUEST, 0.0) == Plan((REQUEST,))
        lost = network.plan(REPLY, ON_REPLY, 0.0)
        assert (lost.frames, lost.delay, lost.reset) == ((), 0.0, False)
        assert [f.kind for f in lost.faults] == [FaultKind.DROP]
        assert not lost.delivers


@pytest.mark.parametrize("count", [1, 3], ids=["count-1-fires-once", "count-3-fires-thrice"])
def test_a_fault_with_a_count_fires_exactly_that_many_times(count: int) -> None:
    network = policy(fault(kind="duplicate", direction="request", count=count))
    plans = [network.plan(REQUEST, ON_REQUEST, 0.0) for _ in range(count + 5)]
    assert [p.frames for p in plans] == [(REQUEST, REQUEST)] * count + [(REQUEST,)] * 5
    assert network.faults.status(0.0) == []  # spent, so switched off


def test_skip_lets_the_first_matches_pass_and_count_stops_after_the_hit() -> None:
    network = policy(fault(kind="reset", direction="reply", skip=2, count=1))
    plans = [network.plan(REPLY, ON_REPLY, 0.0) for _ in range(5)]
    assert [p.reset for p in plans] == [False, False, True, False, False]
    assert plans[2].frames == ()  # a reset loses the message it cuts on


def test_a_fault_with_a_duration_is_off_once_now_reaches_its_end() -> None:
    network = policy(fault(kind="drop", direction="request", duration_s=30))
    assert network.plan(REQUEST, ON_REQUEST, 29.9).frames == ()
    assert network.plan(REQUEST, ON_REQUEST, 30.0).frames == (REQUEST,)


def test_a_blackhole_swallows_both_directions_and_refuses_no_connection() -> None:
    network = policy(fault(kind="blackhole", user=USER))
    assert network.plan(REQUEST, ON_REQUEST, 0.0).frames == ()
    assert network.plan(REPLY, ON_REPLY, 0.0).frames == ()
    other = Message("move", "2718281", 2, Direction.REQUEST)
    assert network.plan(REQUEST, other, 0.0).frames == (REQUEST,)
    assert network.refusal(3, 0.0) is None


def decisions(seed: int) -> list[Any]:
    """Everything a mixed, probabilistic fault set decides on 100 messages and 30 handshakes."""
    network = policy(
        fault(kind="drop", direction="reply", probability=0.3),
        fault(kind="delay", direction="request", probability=0.5, delay_ms=10, jitter_ms=90),
        fault(kind="corrupt", direction="reply", probability=0.5, corruption="flip"),
        fault(kind="refuse", probability=0.5),
        seed=seed,
    )
    plans = [
        network.plan(*((REQUEST, ON_REQUEST) if n % 2 else (REPLY, ON_REPLY)), float(n))
        for n in range(100)
    ]
    refused = [network.refusal(n, float(n)) is not None for n in range(30)]
    return [(p.frames, p.delay, [f.id for f in p.faults]) for p in plans] + refused


def test_the_same_seed_makes_the_same_decisions_and_another_seed_others() -> None:
    assert decisions(11) == decisions(11)
    assert decisions(11) != decisions(12)


# --- the traffic ledger the plans feed ---


@pytest.mark.parametrize(
    ("plan", "passed"),
    [
        (Plan((REQUEST,)), True),
        (Plan((REQUEST, REQUEST)), True),
        (Plan(()), False),
        (Plan((), reset=True), False),
        (Plan((REQUEST,), delay=0.5), False),
    ],
    ids=[
        "passed-on",
        "duplicated-passed-on",
        "dropped-not-passed",
        "reset-not-passed",
        "held-not-passed-yet",
    ],
)
def test_a_request_is_heard_when_it_arrives_and_passed_only_if_it_goes_on_at_once(
    plan: Plan, passed: bool
) -> None:
    traffic = Traffic()
    traffic.arrived(USER, plan, 100.0)
    (entry,) = traffic.view(103.0).users
    assert entry.heard_s == 3.0
    assert entry.passed_s == (3.0 if passed else None)


@pytest.mark.parametrize(
    ("plan", "cancelled", "passed_s"),
    [
        (Plan((REQUEST,), delay=2.0), False, 1.0),
        (Plan((REQUEST,), delay=2.0), True, None),
        (Plan((), delay=2.0), False, None),
    ],
    ids=["sent-after-its-delay", "cut-short-by-its-connection", "held-then-dropped"],
)
def test_a_held_request_counts_as_held_until_released_and_passed_only_if_sent(
    plan: Plan, cancelled: bool, passed_s: float | None
) -> None:
    traffic = Traffic()
    traffic.arrived(USER, plan, 100.0)
    traffic.hold(USER, +1)
    assert traffic.view(101.0).users[0].held == 1
    traffic.released(USER, plan, 102.0, cancelled=cancelled)
    (entry,) = traffic.view(103.0).users
    assert (entry.held, entry.passed_s) == (0, passed_s)
