"""A group's board servers keep their rooms in a real Redis (``pacnet.cluster.keeper``): one
owner per room, rooms that move when their server stops, a lobby of the whole group, and what
a server does when its own calls to Redis fail. Servers in-process here, and as processes
frozen with SIGSTOP for the lease's hard case."""

import asyncio
import json
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from pacnet.client.remote import RemoteBoard
from pacnet.client.retry import RetryPolicy
from pacnet.cluster.components import Redis, redis_command
from pacnet.cluster.keeper import RedisKeeper
from pacnet.cluster.link import StoreLink
from pacnet.protocol.rooms import room_url
from pacnet.server.config import ServerConfig
from pacnet.server.embedded import running_server
from pacnet.server.net import TRY_AGAIN_LATER, BoardServer
from tests.conftest import MS, ServerProcess, switch_on
from tests.test_rooms import http_get, lobby

LEASE = 600 * MS
"""A room's lease in these tests: short, so one runs out within a test."""


StartMember = Callable[[str], Awaitable[BoardServer]]
"""Starts a board server of the group, by name."""


@pytest.fixture
async def group(redis_server: Redis) -> AsyncIterator[StartMember]:
    """Start in-process board servers of one group, by name; all stop when the test ends."""
    async with AsyncExitStack() as stack:

        async def start(name: str) -> BoardServer:
            keeper = RedisKeeper(StoreLink("127.0.0.1", redis_server.port), name, LEASE)
            config = ServerConfig(port=0, layout="small", seed=1, snapshot_interval=0.2)
            server: BoardServer = await stack.enter_async_context(
                running_server(config, keeper=keeper)
            )
            return server

        yield start


async def refusal(url: str) -> tuple[int, str]:
    """The HTTP status and body a handshake to ``url`` was refused with."""
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url):
            pass
    response = refused.value.response
    return response.status_code, response.body.decode()


async def test_a_room_has_one_server_and_the_others_send_its_players_there(
    group: StartMember,
) -> None:
    s1, s2 = await group("s1"), await group("s2")
    async with RemoteBoard(room_url(s1.url, "arcade"), "alice") as alice:
        assert (await alice.join()).ok
        status, body = await refusal(room_url(s2.url, "arcade"))
        assert (status, body) == (503, "room arcade is held by s1: reconnect\n")
        async with RemoteBoard(room_url(s2.url, "hall"), "bob") as bob:
            assert (await bob.join()).ok
            await asyncio.sleep(LEASE / 2)  # a round of renewals: the lobby entries
            seen = await lobby(s2)
    assert {(r.name, r.server, r.players) for r in seen.rooms} == {
        ("arcade", "s1", 1), ("hall", "s2", 1),
    }  # fmt: skip
    assert seen.server == s2.name


async def test_the_lobby_names_each_rooms_leaders_from_its_game_saved_in_redis(
    group: StartMember,
) -> None:
    """Any server answers the lobby of the whole group, each room's best players included:
    it reads them from the games the rooms' holders saved, the lobby's real work."""
    s1, s2 = await group("s1"), await group("s2")
    async with (
        RemoteBoard(room_url(s1.url, "arcade"), "alice") as alice,
        RemoteBoard(room_url(s1.url, "arcade"), "bob") as bob,
    ):
        assert (await alice.join()).ok
        assert (await bob.join()).ok
        assert (await alice.move("pacman", "right")).ok
        await asyncio.sleep(1.0)  # alice eats along the row; bob stays; saved every 0.2 s
        seen = await lobby(s2)
        alice_now = await alice.find()
    (arcade,) = seen.rooms
    assert arcade.server == "s1"
    assert alice_now.reply is not None
    first, second = arcade.leaders
    assert first.name == "pacman-alice"
    assert 0 < first.score <= alice_now.reply.score, "as saved, a moment before"
    assert (second.name, second.score) == ("pacman-bob", 0)


async def test_a_server_that_stops_gives_its_rooms_up_and_another_resumes_them(
    group: StartMember,
) -> None:
    s1, s2 = await group("s1"), await group("s2")
    alice = RemoteBoard(room_url(s1.url, "arcade"), "alice")
    joined = await alice.join()
    assert joined.ok
    assert (await alice.move("pacman", "right")).ok
    await asyncio.sleep(1.0)  # eating along the row; saved every 0.2 s
    before = await alice.find()
    await alice.close()
    s1.stop()  # graceful: saved, then released at once
    await asyncio.sleep(0.3)
    async with RemoteBoard(room_url(s2.url, "arcade"), "alice") as again:
        resumed = await again.join(alice.session_token)
        after = await again.find()
    assert resumed.reply is not None
    assert resumed.reply.resumed, "the same pac-man, on another server"
    assert before.reply is not None
    assert after.reply is not None
    assert after.reply.score == before.reply.score > 0
    room = s2.rooms.get("arcade")
    assert room is not None
    assert room.restored


async def test_without_redis_no_room_opens_and_an_open_room_sends_its_players_away(
    group: StartMember, redis_server: Redis
) -> None:
    s1 = await group("s1")
    async with connect(room_url(s1.url, "arcade")) as player:
        await player.send(json.dumps({"v": 1, "requestId": "r1", "userId": "u1",
                                      "action": "join"}))  # fmt: skip
        assert json.loads(await player.recv())["status"] == "ok"
        redis_server.stop()
        # The connection it had is gone too: a call written on it may have arrived (UNKNOWN);
        # the next finds no Redis to connect to.
        await refusal(room_url(s1.url, "hall"))
        status, body = await refusal(room_url(s1.url, "hall"))
        assert status == 503
        assert "lease.acquire ended POST_FAILED" in body
        assert "nothing was done; try again" in body
        with pytest.raises(ConnectionClosed):  # its claim ran out: no stale board is served
            await asyncio.wait_for(player.recv(), LEASE * 3)
    assert player.close_code == TRY_AGAIN_LATER
    assert "not held here: reconnect" in (player.close_reason or "")
    health = await asyncio.to_thread(http_get, s1, "/healthz")
    assert health[0] == 503
    assert "cannot be saved" in json.loads(health[1])["reason"]


async def test_a_server_frozen_past_its_lease_never_overwrites_the_new_owner_nor_serves_stale(
    server_process: Callable[..., ServerProcess], redis_server: Redis
) -> None:
    """The hard case: SIGSTOP a room's server past its lease; another takes the room; SIGCONT
    the first. Its players are told to reconnect, and its writes are refused by Redis."""
    common = ("--redis", f"127.0.0.1:{redis_server.port}", "--lease", "0.6", "--layout",
              "small", "--snapshot-interval", "0.1")  # fmt: skip
    cluster = ("cluster", "serve")
    s1 = server_process("--name", "s1", *common, command=cluster)
    s2 = server_process("--name", "s2", *common, command=cluster)
    player = await connect(room_url(s1.url, "arcade"))
    await player.send(json.dumps({"v": 1, "requestId": "r1", "userId": "u1", "action": "join"}))
    token = json.loads(await player.recv())["sessionToken"]
    await asyncio.sleep(0.3)  # saved by s1
    s1.signal(signal.SIGSTOP)
    await asyncio.sleep(1.0)  # past the lease
    async with RemoteBoard(room_url(s2.url, "arcade"), "u1") as moved:
        assert (await moved.join(token)).reply.resumed  # type: ignore[union-attr]
        await asyncio.sleep(0.3)  # s2 saves with its newer token
        fence = redis_command(redis_server.port, "GET", "pacnet:room:arcade:fence")
        # s1 wakes with a request already waiting for it: it must not answer it.
        await player.send(json.dumps({"v": 1, "requestId": "r2", "userId": "u1",
                                      "action": "find", "name": "pacman"}))  # fmt: skip
        s1.signal(signal.SIGCONT)
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(player.recv(), 5)
        await asyncio.sleep(0.5)  # s1's loops run: any write it tries is refused
        written_by = redis_command(redis_server.port, "HGET", "pacnet:room:arcade", "token")
        assert (await moved.find()).ok, "the new owner plays on"
    assert player.close_code == TRY_AGAIN_LATER
    assert fence.endswith(b"2\r\n"), "s2 holds the room with the second token"
    assert written_by.endswith(b"2\r\n"), "the last snapshot is s2's"
    directory = redis_command(redis_server.port, "HGET", "pacnet:rooms", "arcade")
    assert directory.endswith(b"s2\r\n")
    events = [e["event"] for e in s1.events()]
    assert "room_lost" in events


async def test_when_its_renewals_end_unknown_a_server_stops_until_it_knows_then_plays_on(
    group: StartMember,
) -> None:
    """A renewal's reply lost (Redis renews; the server cannot know), the call waiting out its
    deadline past the term it knew: the server stops changing the room when that term ends
    and sends its player away; the player comes back, the server claims the room again (still
    its own, the same token) and the game goes on from the last snapshot."""
    s1 = await group("s1")
    async with RemoteBoard(room_url(s1.url, "arcade"), "alice", policy=RetryPolicy()) as alice:
        assert (await alice.join()).ok
        room = s1.rooms.get("arcade")
        assert room is not None
        await switch_on(s1, kind="store_drop", direction="reply", action="lease.renew", count=1)
        await asyncio.sleep(LEASE * 1.5)  # past the last known term
        assert s1.rooms.get("arcade") is not room, "sent away: it could not know it still held it"
        again = await alice.find()  # reconnects; the room is claimed again
        rejoined = await alice.join(alice.session_token)
    assert again.ok, again.message
    assert rejoined.reply is not None
    assert rejoined.reply.resumed
    reopened = s1.rooms.get("arcade")
    assert reopened is not None
    assert reopened.restored
