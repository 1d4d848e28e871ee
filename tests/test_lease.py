"""One owner per room (``pacnet.cluster.lease``), against a real redis-server: a lease with a
fencing token, and a stale owner's writes refused by Redis itself."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

import pytest

from pacnet.cluster.components import Redis, redis_command
from pacnet.cluster.lease import MARGIN, Held, Lease, Leases, valid_until
from pacnet.cluster.link import StoreLink, StoreResult
from tests.conftest import MS

T = TypeVar("T")

TERM = 300 * MS
"""A lease's time in these tests: short, so one can run out within a test."""


@pytest.fixture
async def client(redis_server: Redis) -> AsyncIterator[StoreLink]:
    link = StoreLink("127.0.0.1", redis_server.port, deadline=2.0)
    yield link
    await link.close()


async def value(call: Awaitable[StoreResult[T]]) -> T | None:
    """What a call that succeeded answered (these tests keep Redis well)."""
    result = await call
    assert result.ok, result
    return result.value


async def test_a_room_has_one_owner_and_its_renewals_keep_the_token(
    client: StoreLink,
) -> None:
    s1, s2 = Leases(client, "s1", TERM), Leases(client, "s2", TERM)
    first = await value(s1.acquire("arcade", time.monotonic()))
    assert isinstance(first, Lease)
    assert first.token == 1
    assert await value(s2.acquire("arcade", time.monotonic())) == Held("arcade", "s1")
    again = await value(s1.acquire("arcade", time.monotonic()))
    assert isinstance(again, Lease)
    assert again.token == first.token, "renewing is not a new owner"
    renewed = await value(s1.renew(first, time.monotonic()))
    assert renewed is not None
    assert renewed.token == first.token
    other = await value(s2.acquire("hall", time.monotonic()))
    assert isinstance(other, Lease), "another room is another lease"


def test_the_owner_stops_before_redis_lets_anyone_else_in() -> None:
    held = Lease("arcade", "s1", 1, valid_until(asked_at=10.0, seconds=1.0))
    assert held.valid(10.0 + 1.0 * (1 - MARGIN) - 0.01)
    assert not held.valid(10.0 + 1.0 * (1 - MARGIN)), "before the key expires in Redis"


async def test_a_stale_owner_is_refused_by_the_store_once_another_took_the_room(
    client: StoreLink,
) -> None:
    """What a server stopped past its lease (SIGSTOP) finds when it wakes: another owner with
    a newer token, its renewal refused, and its snapshot write refused by Redis itself."""
    s1, s2 = Leases(client, "s1", TERM), Leases(client, "s2", TERM)
    old = await value(s1.acquire("arcade", time.monotonic()))
    assert isinstance(old, Lease)
    assert await value(s1.save(old, b"board at clock 10"))
    await asyncio.sleep(TERM * 1.5)  # s1 is stopped: it renews nothing
    new = await value(s2.acquire("arcade", time.monotonic()))
    assert isinstance(new, Lease), "the lease ran out: the room goes to the next server"
    assert new.token > old.token
    assert await value(s2.save(new, b"board at clock 12"))
    # s1 wakes up.
    assert await value(s1.renew(old, time.monotonic())) is None, "its lease is gone"
    assert not await value(s1.save(old, b"stale board at clock 11")), "its token is not the newest"
    assert await value(s1.load("arcade")) == (new.token, b"board at clock 12")
    await value(s1.release(old))  # releasing what is no longer yours changes nothing
    assert await value(s1.acquire("arcade", time.monotonic())) == Held("arcade", "s2")


async def test_a_released_room_goes_to_the_next_server_with_a_newer_token(
    client: StoreLink,
) -> None:
    s1, s2 = Leases(client, "s1", TERM), Leases(client, "s2", TERM)
    old = await value(s1.acquire("arcade", time.monotonic()))
    assert isinstance(old, Lease)
    await value(s1.release(old))
    new = await value(s2.acquire("arcade", time.monotonic()))
    assert isinstance(new, Lease)
    assert new.token == old.token + 1
    assert await value(s2.load("arcade")) is None, "no snapshot yet"


async def test_the_directory_names_each_rooms_holder_and_a_stale_owner_cannot_unlist_it(
    client: StoreLink,
) -> None:
    s1, s2 = Leases(client, "s1", TERM), Leases(client, "s2", TERM)
    old = await value(s1.acquire("arcade", time.monotonic()))
    assert isinstance(old, Lease)
    await value(s2.acquire("hall", time.monotonic()))
    assert await value(s1.directory()) == {"arcade": "s1", "hall": "s2"}
    await asyncio.sleep(TERM * 1.5)  # s1 stopped past its lease
    assert isinstance(await value(s2.acquire("arcade", time.monotonic())), Lease)
    assert await value(s1.directory()) == {"arcade": "s2", "hall": "s2"}
    assert not await value(s1.release(old)), "not s1's to release"
    assert await value(s1.directory()) == {"arcade": "s2", "hall": "s2"}


async def test_a_renewal_shows_the_room_in_the_lobby_for_one_term(
    client: StoreLink, redis_server: Redis
) -> None:
    s1 = Leases(client, "s1", TERM)
    lease = await value(s1.acquire("arcade", time.monotonic()))
    assert isinstance(lease, Lease)
    assert await value(s1.renew(lease, time.monotonic(), {"players": 3}))
    shown = redis_command(redis_server.port, "GET", "pacnet:room:arcade:lobby")
    assert shown.endswith(b'{"players": 3}\r\n')
    await asyncio.sleep(TERM * 1.5)  # no renewal: the entry goes with the lease
    assert redis_command(redis_server.port, "GET", "pacnet:room:arcade:lobby") == b"$-1\r\n"
