"""The keepalive table and the throttle: time is an argument, so no clock is needed."""

import pytest

from pacnet.server.keepalive import KeepaliveTable
from pacnet.server.throttle import Throttle


def test_a_user_silent_past_the_timeout_expires_and_others_stay() -> None:
    table = KeepaliveTable(timeout=10.0)
    table.refresh("a", 0.0)
    table.refresh("b", 5.0)
    assert table.expire(now=9.0) == []
    assert table.expire(now=10.5) == ["a"]
    assert "a" not in table
    assert "b" in table


def test_refreshing_moves_a_user_to_the_back_of_the_line() -> None:
    table = KeepaliveTable(timeout=10.0)
    table.refresh("a", 0.0)
    table.refresh("b", 1.0)
    table.refresh("a", 8.0)
    assert table.expire(now=12.0) == ["b"]


def test_forgotten_users_never_expire() -> None:
    table = KeepaliveTable(timeout=1.0)
    table.refresh("a", 0.0)
    table.forget("a")
    assert table.expire(now=100.0) == []


def test_a_bucket_allows_its_burst_then_says_how_long_to_wait() -> None:
    throttle = Throttle(rate=2.0, burst=3)
    assert [throttle.take("u", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert throttle.take("u", now=0.0) == pytest.approx(0.5)
    assert throttle.take("u", now=0.5) == 0.0


def test_buckets_are_per_user() -> None:
    throttle = Throttle(rate=1.0, burst=1)
    assert throttle.take("a", now=0.0) == 0.0
    assert throttle.take("a", now=0.0) > 0
    assert throttle.take("b", now=0.0) == 0.0


def test_buckets_refill_at_the_rate_up_to_the_burst() -> None:
    throttle = Throttle(rate=10.0, burst=2)
    throttle.take("u", now=0.0)
    throttle.take("u", now=0.0)
    # A long quiet spell refills to the burst, not beyond it.
    assert [throttle.take("u", now=100.0) for _ in range(3)][:2] == [0.0, 0.0]
    assert throttle.take("u", now=100.0) > 0


def test_idle_buckets_are_pruned_so_memory_follows_active_users() -> None:
    throttle = Throttle(rate=10.0, burst=10)
    for i in range(1000):
        throttle.take(f"user-{i}", now=0.0)
    throttle.take("active", now=1.5)
    throttle.prune(now=1.5)
    assert len(throttle) == 1


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (1, 0)])
def test_a_throttle_needs_a_positive_rate_and_burst(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="rate must be"):
        Throttle(rate, burst)
