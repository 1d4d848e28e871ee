"""One owner per room (``pacnet.cluster.lease``), against a real redis-server: a lease with a
fencing token, and a stale owner's writes refused by Redis itself."""

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis as RedisClient

from pacnet.cluster.components import Redis
from pacnet.cluster.lease import MARGIN, Held, Lease, Leases, valid_until
from tests.conftest import MS

TERM = 300 * MS
"""A lease's time in these tests: short, so one can run out within a test."""


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[Redis]:
    server = Redis.start(tmp_path / "redis")
    yield server
    server.stop()


@pytest.fixture
async def client(redis_server: Redis) -> AsyncIterator[RedisClient]:
    redis: RedisClient = RedisClient.from_url(redis_server.url, socket_timeout=2.0)
    yield redis
    await redis.aclose()


async def test_a_room_has_one_owner_and_its_renewals_keep_the_token(
    client: RedisClient,
) -> None:
    s1, s2 = Leases(client, "s1", TERM), Leases(client, "s2", TERM)
    first = await s1.acquire("lobby", time.monotonic())
    assert isinstance(first, Lease)
    assert first.token == 1
    assert await s2.acquire("lobby", time.monotonic()) == Held("lobby", "s1")
    again = await s1.acquire("lobby", time.monotonic())
    assert isinstance(again, Lease)
    assert again.token == first.token, "renewing is not a new owner"
    renewed = await s1.renew(first, time.monotonic())
    assert renewed is not None
    assert renewed.token == first.token
    other = await s2.acquire("hall", time.monotonic())
    assert isinstance(other, Lease), "another room is another lease"


def test_the_owner_stops_before_redis_lets_anyone_else_in() -> None:
    held = Lease("lobby", "s1", 1, valid_until(asked_at=10.0, seconds=1.0))
    assert held.valid(10.0 + 1.0 * (1 - MARGIN) - 0.01)
    assert not held.valid(10.0 + 1.0 * (1 - MARGIN)), "before the key expires in Redis"


async def test_a_stale_owner_is_refused_by_the_store_once_another_took_the_room(
    client: RedisClient,
) -> None:
    """What a server stopped past its lease (SIGSTOP) finds when it wakes: another owner with
    a newer token, its renewal refused, and its snapshot write refused by Redis itself."""
    s1, s2 = Leases(client, "s1", TERM), Leases(client, "s2", TERM)
    old = await s1.acquire("lobby", time.monotonic())
    assert isinstance(old, Lease)
    assert await s1.save(old, b"board at clock 10")
    await asyncio.sleep(TERM * 1.5)  # s1 is stopped: it renews nothing
    new = await s2.acquire("lobby", time.monotonic())
    assert isinstance(new, Lease), "the lease ran out: the room goes to the next server"
    assert new.token > old.token
    assert await s2.save(new, b"board at clock 12")
    # s1 wakes up.
    assert await s1.renew(old, time.monotonic()) is None, "its lease is gone"
    assert not await s1.save(old, b"stale board at clock 11"), "its token is not the newest"
    assert await s1.load("lobby") == (new.token, b"board at clock 12")
    await s1.release(old)  # releasing what is no longer yours changes nothing
    assert await s1.acquire("lobby", time.monotonic()) == Held("lobby", "s2")


async def test_a_released_room_goes_to_the_next_server_with_a_newer_token(
    client: RedisClient,
) -> None:
    s1, s2 = Leases(client, "s1", TERM), Leases(client, "s2", TERM)
    old = await s1.acquire("lobby", time.monotonic())
    assert isinstance(old, Lease)
    await s1.release(old)
    new = await s2.acquire("lobby", time.monotonic())
    assert isinstance(new, Lease)
    assert new.token == old.token + 1
    assert await s2.load("lobby") is None, "no snapshot yet"
