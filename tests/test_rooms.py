"""Rooms: one server holds many named boards, each a game of its own, picked by the URL's
path; the bare URL is the default room, as it always was. Real servers, real sockets."""

import asyncio
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from pacnet.client.remote import RemoteBoard
from pacnet.protocol.lobby import LobbyView
from pacnet.protocol.outcome import Outcome
from pacnet.protocol.rooms import (
    DEFAULT_ROOM,
    ROOM_NAME,
    RoomNameError,
    check_room,
    feed_url,
    room_of,
    room_path,
    room_url,
    split_room,
)
from pacnet.proxy.config import ProxyConfig
from pacnet.proxy.relay import Proxy, running_proxy
from pacnet.server.config import ServerConfig, ServerLimits
from pacnet.server.embedded import running_server
from pacnet.server.net import BoardServer
from tests.conftest import StartServer, switch_on
from tests.test_metrics import samples, scrape


def http_get(component: BoardServer | Proxy, path: str) -> tuple[int, str]:
    """Status and body of a plain GET to a server or a proxy (errors included)."""
    address = (component.url or "").replace("ws://", "http://") + path
    try:
        with urllib.request.urlopen(address, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


async def lobby(server: BoardServer) -> LobbyView:
    status, body = await asyncio.to_thread(http_get, server, "/lobby")
    assert status == 200
    return LobbyView.model_validate_json(body)


async def feed(url: str) -> dict[str, object]:
    """The first snapshot a read-only feed sends."""
    async with connect(url) as socket:
        view: dict[str, object] = json.loads(await asyncio.wait_for(socket.recv(), 5))
    return view


# --- where a room answers -----------------------------------------------------------------


room_names = st.from_regex(ROOM_NAME, fullmatch=True)


@given(room_names, st.sampled_from(["/", "/keepalive", "/board", "/room", "/truth"]))
def test_a_rooms_paths_lead_back_to_the_room(room: str, within: str) -> None:
    assert split_room(room_path(room, within)) == (room, within)


def test_the_bare_url_is_the_default_room() -> None:
    assert split_room("/") == (DEFAULT_ROOM, "/")
    assert split_room("/keepalive") == (DEFAULT_ROOM, "/keepalive")
    assert split_room("/rooms/main") == (DEFAULT_ROOM, "/")
    assert room_path(DEFAULT_ROOM, "/board") == "/board"  # what any server serves there
    assert room_url("ws://h:1/anything?x=1", "alpha") == "ws://h:1/rooms/alpha"
    assert room_url("ws://h:1/rooms/alpha", DEFAULT_ROOM) == "ws://h:1/"
    assert room_of("ws://h:1") == room_of("ws://h:1/") == DEFAULT_ROOM
    assert feed_url("ws://h:1/rooms/alpha", "/truth?user=7") == "ws://h:1/rooms/alpha/truth?user=7"
    assert feed_url("ws://h:1", "/keepalive") == "ws://h:1/keepalive"


@pytest.mark.parametrize("name", ["", "Alpha", "-a", "a b", "a/b", "x" * 33, "é"])
def test_a_name_no_room_can_have_is_refused_saying_what_a_name_may_be(name: str) -> None:
    with pytest.raises(RoomNameError, match="1 to 32 lower-case letters"):
        check_room(name)


# --- rooms on one server ------------------------------------------------------------------


async def test_two_rooms_are_two_boards_and_the_same_user_plays_in_each(
    server: BoardServer,
) -> None:
    url = server.url or ""
    async with (
        RemoteBoard(url, "alice") as in_main,
        RemoteBoard(room_url(url, "alpha"), "alice") as in_alpha,
        RemoteBoard(room_url(url, "alpha"), "bob") as bob,
        RemoteBoard(url + "/rooms/main", "carol") as carol,
    ):
        for board in (in_main, in_alpha, bob, carol):
            assert (await board.join()).ok
        in_main_token, in_alpha_token = in_main.session_token, in_alpha.session_token
        assert in_main_token != in_alpha_token  # one userId, two sessions: two players
        pacmen = await in_alpha.find_all(":pacman")
        assert pacmen.reply is not None
        assert sorted(e.name for e in pacmen.reply.entities) == ["pacman-alice", "pacman-bob"]
        pacmen = await in_main.find_all(":pacman")  # carol joined /rooms/main: the bare URL's
        assert pacmen.reply is not None
        assert sorted(e.name for e in pacmen.reply.entities) == ["pacman-alice", "pacman-carol"]
        # A move in one room moves nothing in the other.
        assert (await in_alpha.move("pacman", "right")).ok
        await asyncio.sleep(0.5)
        moved, still = await in_alpha.find(), await in_main.find()
        assert moved.reply is not None
        assert still.reply is not None
        assert moved.reply.x_pos != still.reply.x_pos
        assert server.game.board.get("pacman-bob") is None  # server.game: the default room
    assert set(r.name for r in server.rooms) == {"main", "alpha"}


async def test_each_rooms_feeds_show_that_room_only(server: BoardServer) -> None:
    url = server.url or ""
    async with RemoteBoard(room_url(url, "beta"), "dave") as dave:
        assert (await dave.join()).ok
        keepalive = await feed(feed_url(dave.url, "/keepalive"))
        board = await feed(feed_url(dave.url, "/board"))
        main_keepalive = await feed(feed_url(url, "/keepalive"))
    assert keepalive["users"] == 1
    assert [e["name"] for e in board["entities"] if e["kind"] == ":pacman"] == ["pacman-dave"]  # type: ignore[attr-defined,index]
    assert main_keepalive["users"] == 0


async def test_the_lobby_lists_each_room_its_players_and_its_server(server: BoardServer) -> None:
    url = server.url or ""
    async with (
        RemoteBoard(room_url(url, "gamma"), "erin") as erin,
        RemoteBoard(room_url(url, "gamma"), "frank") as frank,
    ):
        assert (await erin.join()).ok
        assert (await frank.join()).ok
        seen = await lobby(server)
    assert seen.server == server.name == url.removeprefix("ws://")
    rooms = {room.name: room for room in seen.rooms}
    assert list(rooms) == ["gamma", "main"]  # by name
    assert (rooms["gamma"].players, rooms["gamma"].connected) == (2, 2)
    assert rooms["main"].players == 0
    assert rooms["gamma"].capacity == ServerLimits().max_users
    assert rooms["gamma"].server == server.name
    assert seen.max_rooms == ServerLimits().max_rooms
    leaders = [(leader.name, leader.score) for leader in rooms["gamma"].leaders]
    assert leaders == [("pacman-erin", 0), ("pacman-frank", 0)], "equal scores: by name"
    assert rooms["main"].leaders == []


async def test_a_path_naming_no_possible_room_is_refused_with_the_rule(
    server: BoardServer,
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect((server.url or "") + "/rooms/Not_Lower"):
            pass
    assert refused.value.response.status_code == 404
    assert b"1 to 32 lower-case letters" in refused.value.response.body
    status, body = await asyncio.to_thread(http_get, server, "/rooms/a%20b")
    assert (status, "cannot name a room" in body) == (404, True)
    assert [r.name for r in server.rooms] == ["main"]


async def test_past_max_rooms_a_new_room_is_refused_and_the_open_ones_play_on(
    start_server: StartServer,
) -> None:
    server = await start_server(max_rooms=2)
    url = server.url or ""
    async with RemoteBoard(room_url(url, "one"), "gina") as gina:
        assert (await gina.join()).ok
        with pytest.raises(InvalidStatus) as refused:
            async with connect(room_url(url, "two")):
                pass
        assert refused.value.response.status_code == 503
        assert b"holds its most rooms (2)" in refused.value.response.body
        assert (await gina.find()).ok
    async with RemoteBoard(url, "hal") as hal:  # the default room is always open
        assert (await hal.join()).ok


async def test_an_empty_room_closes_and_opens_again_as_it_was(tmp_path: Path) -> None:
    config = ServerConfig(port=0, layout="small", seed=3, state=tmp_path / "state.sqlite")
    async with running_server(config) as server:
        server.rooms.idle_after = 0.5
        url = room_url(server.url or "", "quiet")
        async with RemoteBoard(url, "ivan") as ivan:
            assert (await ivan.join()).ok
            assert (await ivan.move("pacman", "right")).ok
            await asyncio.sleep(1.0)  # eating along the row
            before = await ivan.find()
            assert (await ivan.leave()).ok
        assert before.reply is not None
        assert before.reply.score is not None
        assert before.reply.score > 0
        for _ in range(50):  # empty for idle_after, then closed on the next second's check
            if server.rooms.get("quiet") is None:
                break
            await asyncio.sleep(0.1)
        assert server.rooms.get("quiet") is None
        assert [r.name for r in (await lobby(server)).rooms] == ["main"]
        async with RemoteBoard(url, "judy") as judy:
            assert (await judy.join()).ok
            pellets = await judy.find_all(":pellet")
        reopened = server.rooms.get("quiet")
        assert reopened is not None
        assert reopened.restored
    assert pellets.reply is not None
    fresh = server.game.board.count(":pellet")  # the default room: nobody ate there
    assert len(pellets.reply.entities) < fresh, "the reopened room kept what ivan ate"


async def test_a_restarted_server_resumes_every_rooms_players(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    first = ServerConfig(port=0, layout="small", seed=3, state=state)
    async with running_server(first) as server:
        port = int((server.url or "").rsplit(":", 1)[1])
        boards = [RemoteBoard(room_url(server.url or "", room), "kim") for room in ("a", "b")]
        for board in boards:
            assert (await board.join()).ok
        tokens = [board.session_token for board in boards]
        for board in boards:
            await board.close()
    again = ServerConfig(port=port, layout="small", seed=3, state=state)
    async with running_server(again) as server:
        for room, token in zip(("a", "b"), tokens, strict=True):
            async with RemoteBoard(room_url(server.url or "", room), "kim") as kim:
                resumed = await kim.join(token)
                assert resumed.reply is not None, room
                assert resumed.reply.resumed, room


# --- what is shared, aimed at one room -------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [{"kind": "reject"}, {"kind": "corrupt", "direction": "request"}],
    ids=["server", "network"],
)
async def test_a_fault_aimed_at_one_room_hits_that_room_only(
    server: BoardServer, fault: dict[str, str]
) -> None:
    async with running_proxy(ProxyConfig(port=0, upstream=server.url or "", seed=1)) as proxy:
        url = proxy.url or ""  # the network's faults are the proxy's; the server's its own
        async with (
            RemoteBoard(url, "lee") as in_main,
            RemoteBoard(room_url(url, "target"), "lee") as in_target,
        ):
            assert (await in_main.join()).ok
            assert (await in_target.join()).ok
            await switch_on(proxy if "direction" in fault else server, **fault, room="target")
            hit, missed = await in_target.find(), await in_main.find()
    assert hit.outcome is Outcome.FATAL  # refused as invalid, by the fault or for its bytes
    assert missed.outcome is Outcome.SUCCESS
    assert server.rooms.get("target") is not None  # reached through the proxy, by its path


async def test_the_metrics_count_rooms_and_each_rooms_users(server: BoardServer) -> None:
    url = server.url or ""
    async with RemoteBoard(room_url(url, "delta"), "ned") as ned:
        assert (await ned.join()).ok
        _, text = await asyncio.to_thread(scrape, server)
        status, health = await asyncio.to_thread(http_get, server, "/healthz")
    seen = samples(text)
    assert seen["pacnet_rooms", ()] == 2
    assert seen["pacnet_room_users", (("room", "delta"),)] == 1
    assert seen["pacnet_room_users", (("room", "main"),)] == 0
    assert seen["pacnet_users", ()] == 1
    assert status == 200
    assert (json.loads(health)["rooms"], json.loads(health)["users"]) == (2, 1)


async def test_the_proxy_relays_the_servers_lobby_and_says_when_it_cannot(
    server: BoardServer, closed_port: int
) -> None:
    async with (
        running_proxy(ProxyConfig(port=0, upstream=server.url or "", seed=1)) as proxy,
        running_proxy(ProxyConfig(port=0, upstream=f"ws://127.0.0.1:{closed_port}")) as lost,
        RemoteBoard(room_url(proxy.url or "", "nook"), "pat") as pat,
    ):
        assert (await pat.join()).ok
        status, body = await asyncio.to_thread(http_get, proxy, "/lobby")
        gone = await asyncio.to_thread(http_get, lost, "/lobby")
    assert status == 200
    relayed = LobbyView.model_validate_json(body)
    assert [(r.name, r.players) for r in relayed.rooms] == [("main", 0), ("nook", 1)]
    assert gone[0] == 502
    assert "cannot be reached" in gone[1]


async def test_a_full_disk_empties_the_lobby_at_once_and_only_a_check_of_the_store_sees_it(
    server: BoardServer,
) -> None:
    """The catalog server's bug: a read that failed is answered as "no rooms", fast. The
    plain health check still says serving; one that reads the store says it cannot."""
    url = server.url or ""
    async with RemoteBoard(room_url(url, "den"), "quinn") as quinn:
        assert (await quinn.join()).ok
        await switch_on(server, kind="disk_full", action="lobby", count=5)
        seen = await lobby(server)
        plain = await asyncio.to_thread(http_get, server, "/healthz")
        deep = await asyncio.to_thread(http_get, server, "/healthz?store=1")
        assert (await quinn.find()).ok, "the game's requests are not the lobby's"
    assert seen.rooms == []
    assert plain[0] == 200
    assert deep[0] == 503
    assert json.loads(deep[1])["reason"] == "the store cannot be read: the disk is full"
    fault = server.admin.statuses()[0]
    assert fault.fired == 1, "a health check looks; only the lobby request was hit"
