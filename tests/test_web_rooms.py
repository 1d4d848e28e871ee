"""Rooms in the browser: the page to play at ``/rooms/NAME`` plays in room NAME, its picker lists
the lobby's rooms and takes a player to another, and the projector at ``/rooms/NAME/watch``
shows room NAME. A real headless Chromium against real servers, with the play page's fixtures
(tests/test_web_page.py)."""

import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest
from playwright.async_api import Page, expect

from pacnet.client.remote import RemoteBoard
from pacnet.faults.admin import AdminClient
from pacnet.protocol.rooms import (
    ROOM_NAME,
    ROOM_NAME_RULE,
    RoomNameError,
    check_room,
    room_path,
    room_url,
    split_room,
)
from pacnet.proxy.config import ProxyConfig
from pacnet.proxy.relay import Proxy, running_proxy
from pacnet.server.net import BoardServer
from tests.conftest import StartServer, switch_on
from tests.test_web_page import WAIT, OpenPage, browser, http_of, open_page, playing

__all__ = ["browser", "open_page"]  # the play page's fixtures, used here as they are there

NAMES = ["alpha", "team-2", "a_b", "7up", "a" * 32, "main", "", "a" * 33, "Alpha", "-x", "a b"]
PATIENT = 600.0
"""Seconds a server keeps a silent user, for tests where one waits (a page gone to another
room, a Python client that only joined) on a machine slowed by the rest of the suite."""
PATHS = ["/", "/watch", "/rooms/alpha", "/rooms/alpha/", "/rooms/alpha/watch", "/rooms/main"]


@pytest.fixture
async def proxy(server: BoardServer) -> AsyncIterator[Proxy]:
    """A proxy in front of ``server``, faults off."""
    assert server.url is not None
    async with running_proxy(ProxyConfig(port=0, upstream=server.url, seed=1)) as relay:
        yield relay


def address(url: str | None) -> str:
    """``HOST:PORT`` of a ``ws://`` URL."""
    assert url is not None
    return url.removeprefix("ws://").rstrip("/")


def problem_of(name: str) -> str:
    """What the server says of ``name`` as a room's name: "" if it may be one."""
    try:
        check_room(name)
    except RoomNameError as exc:
        return str(exc)
    return ""


async def joined(page: Page) -> Page:
    await page.wait_for_function("window.pacnet && window.pacnet.joined", timeout=WAIT)
    return page


async def joined_in(
    stack: AsyncExitStack, server: BoardServer, room: str, name: str, score: int = 0
) -> RemoteBoard:
    """A Python client joined as ``name`` in ``room`` until ``stack`` closes, its pac-man's
    score set to ``score`` on the server's board."""
    assert server.url is not None
    board = await stack.enter_async_context(RemoteBoard(room_url(server.url, room), name))
    assert (await board.join()).ok
    held = server.rooms.get(room)
    assert held is not None
    next(p for p in held.game.board.pacmen() if p.owner == name).score = score
    return board


async def going(page: Page, url: str) -> Page:
    """``page`` gone to ``url``, and joined there."""
    await page.goto(url)
    return await joined(page)


def sockets(server_url: str | None, urls: list[str]) -> set[str]:
    """The paths of the WebSockets a page opened on the server at ``server_url``."""
    assert server_url is not None
    origin = server_url.rstrip("/")
    return {url.removeprefix(origin) for url in urls if url.startswith(origin)}


async def test_the_page_reads_rooms_as_the_server_does(
    open_page: OpenPage, server: BoardServer
) -> None:
    """The page cannot import Python: the rule for a room's name, its words, and where a room's
    paths lead are written again in rooms.js, and held here to pacnet.protocol.rooms."""
    page = await open_page(http_of(server))
    rooms = [split_room(path)[0] for path in PATHS]
    says = await page.evaluate(
        """async ([names, paths, rooms]) => {
            const r = await import("/static/rooms.js");
            return {pattern: r.ROOM_NAME.source, rule: r.ROOM_NAME_RULE,
                    problems: names.map(r.roomProblem), rooms: paths.map((p) => r.roomOf(p)),
                    games: rooms.map((room) => r.roomPath(room)),
                    feeds: rooms.map((room) => r.roomPath(room, "/board"))};
        }""",
        [NAMES, PATHS, rooms],
    )
    assert says == {
        "pattern": f"^{ROOM_NAME.pattern}$",
        "rule": ROOM_NAME_RULE,
        "problems": [problem_of(name) for name in NAMES],
        "rooms": rooms,
        "games": [room_path(room) for room in rooms],
        "feeds": [room_path(room, "/board") for room in rooms],
    }


async def test_a_page_at_a_rooms_address_plays_in_that_room_and_sees_no_other(
    open_page: OpenPage, server: BoardServer
) -> None:
    bob = await playing(open_page, server, "bob")  # at /: the default room
    urls: list[str] = []
    alice = await joined(await open_page(f"{http_of(server)}/rooms/alpha?name=alice", urls))
    alpha = server.rooms.get("alpha")
    assert alpha is not None
    assert set(alpha.game.sessions) == {"alice"}
    assert set(server.game.sessions) == {"bob"}
    await expect(alice.locator("#room-here")).to_have_text("alpha")
    await expect(bob.locator("#room-here")).to_have_text("main")
    for page, me, other in ((alice, "alice", "bob"), (bob, "bob", "alice")):
        await page.wait_for_function(
            f"window.pacnet.pacmen().includes('pacman-{me}')", timeout=WAIT
        )
        assert f"pacman-{other}" not in await page.evaluate("window.pacnet.pacmen()")
    assert sockets(server.url, urls) == {"/rooms/alpha", "/faults"}  # the faults: the server's


async def test_the_name_form_at_a_rooms_address_joins_that_room(
    open_page: OpenPage, server: BoardServer
) -> None:
    page = await open_page(f"{http_of(server)}/rooms/alpha?retries=off")
    await expect(page.locator("#ask-room")).to_have_text("You will play in room alpha.")
    await page.locator("#ask input[name=name]").fill("dave")
    await page.locator("#ask button").click()
    await joined(page)
    assert page.url == f"{http_of(server)}/rooms/alpha?name=dave&retries=off"
    alpha = server.rooms.get("alpha")
    assert alpha is not None
    assert "dave" in alpha.game.sessions
    assert (await page.evaluate("window.pacnet.retries()"))["on"] is False


async def test_one_name_in_two_rooms_is_two_players_and_each_resumes_on_its_page(
    open_page: OpenPage, start_server: StartServer
) -> None:
    """A browser keeps a token per room: coming back to a room resumes the pac-man left there,
    whatever the same name did in another room meanwhile."""
    server = await start_server(keepalive_timeout=PATIENT)
    http = http_of(server)
    page = await joined(await open_page(f"{http}/?name=alice"))
    await going(page, f"{http}/rooms/alpha?name=alice")
    alpha = server.rooms.get("alpha")
    assert alpha is not None
    tokens = (server.game.sessions["alice"].token, alpha.game.sessions["alice"].token)
    assert tokens[0] != tokens[1]
    await going(page, f"{http}/?name=alice")
    await going(page, f"{http}/rooms/alpha?name=alice")
    assert (server.game.sessions["alice"].token, alpha.game.sessions["alice"].token) == tokens


async def test_the_picker_lists_the_lobbys_rooms_with_their_leaders_and_takes_the_player_to_one(
    open_page: OpenPage, start_server: StartServer
) -> None:
    """Each room's line names its leader, the first of the lobby's ``leaders``: beta's best of
    two, and none in a room with no player. On a calm board no ghost catches anyone, so each
    pac-man stays on it with the score it was given."""
    server = await start_server(keepalive_timeout=PATIENT, calm=True)  # carol, dave only join
    async with AsyncExitStack() as stack:
        for name, score in (("dave", 90), ("carol", 420)):
            await joined_in(stack, server, "beta", name, score)
        page = await joined(
            await open_page(f"{http_of(server)}/rooms/alpha?name=alice&retries=off")
        )
        await page.locator("#rooms summary").click()
        capacity = server.game.limits.max_users
        listed = page.locator("#room-list li")
        await expect(listed).to_have_text(
            [f"alpha 1/{capacity} players (here) \u00b7 leader alice 0",
             f"beta 2/{capacity} players \u00b7 leader carol 420",
             f"main 0/{capacity} players"]
        )  # fmt: skip
        await page.locator("#room-list li[data-room=beta] a").click()
        await joined(page)
        assert page.url == f"{http_of(server)}/rooms/beta?name=alice&retries=off"
        beta = server.rooms.get("beta")
        assert beta is not None
        assert set(beta.game.sessions) == {"alice", "carol", "dave"}
        assert (await page.evaluate("window.pacnet.retries()"))["on"] is False


async def test_an_empty_lobby_while_the_page_plays_is_not_believed_and_the_rooms_stay_listed(
    open_page: OpenPage, start_server: StartServer
) -> None:
    """The catalog server's full disk: its lobby answers at once with no rooms. The page plays
    in alpha, so alpha is open: the picker says the answer is not believed and keeps the rooms
    it listed; once the disk is fine again it lists the rooms as they are, gamma opened
    meanwhile included."""
    server = await start_server(keepalive_timeout=PATIENT, calm=True)
    async with AsyncExitStack() as stack:
        await joined_in(stack, server, "beta", "carol")
        page = await joined(await open_page(f"{http_of(server)}/rooms/alpha?name=alice"))
        await page.locator("#rooms summary").click()
        note, listed = page.locator("#room-note"), page.locator("#room-list li")
        rooms = ["alpha", "beta", "main"]
        await expect(note).to_have_text(f"3 rooms open, at most {server.rooms.max_rooms}")
        await expect(listed).to_have_text([re.compile(f"^{room} ") for room in rooms])
        fault = await switch_on(server, kind="disk_full", action="lobby")
        await expect(note).to_have_text(
            "the lobby answered no rooms while this room is open: not believed, the last "
            "listing kept (asked again in 3 s)"
        )
        await expect(listed).to_have_text([re.compile(f"^{room} ") for room in rooms])
        await joined_in(stack, server, "gamma", "dave")
        async with AdminClient(server.url, server.admin.token) as admin:
            assert (await admin.remove(fault)).ok
        await expect(note).to_have_text(f"4 rooms open, at most {server.rooms.max_rooms}")
        await expect(listed).to_have_text(
            [re.compile(f"^{room} ") for room in sorted([*rooms, "gamma"])]
        )


async def test_a_page_that_plays_nowhere_shows_an_empty_lobby_as_it_is(
    open_page: OpenPage, start_server: StartServer
) -> None:
    """Alpha is full, so alice's page never joins it: it knows of no room open, has nothing to
    hold the lobby's answer to, and shows the empty one as the lobby says."""
    server = await start_server(keepalive_timeout=PATIENT, calm=True, max_users=1)
    async with AsyncExitStack() as stack:
        await joined_in(stack, server, "alpha", "carol")
        page = await open_page(f"{http_of(server)}/rooms/alpha?name=alice")
        await page.locator("#rooms summary").click()
        note, listed = page.locator("#room-note"), page.locator("#room-list li")
        await expect(listed).to_have_text(
            ["alpha 1/1 players (here) \u00b7 leader carol 0", "main 0/1 players"]
        )
        await switch_on(server, kind="disk_full", action="lobby")
        await expect(note).to_have_text(f"0 rooms open, at most {server.rooms.max_rooms}")
        await expect(listed).to_have_count(0)
        assert await page.evaluate("window.pacnet.joined") is False


async def test_a_new_rooms_name_is_checked_before_the_page_goes_there(
    open_page: OpenPage, server: BoardServer
) -> None:
    page = await playing(open_page, server, "alice")
    await page.locator("#rooms summary").click()
    field = page.locator("#rooms input[name=room]")
    await field.fill("Team 2")
    await field.press("Enter")
    await expect(page.locator("#room-problem")).to_have_text(problem_of("Team 2"))
    assert page.url == f"{http_of(server)}/?name=alice"
    assert [room.name for room in server.rooms] == ["main"]
    await field.fill("")
    await field.press_sequentially("team-2")  # typed: W, A, S, D and C type, they do not steer
    await field.press("Enter")
    await joined(page)
    assert page.url == f"{http_of(server)}/rooms/team-2?name=alice"
    room = server.rooms.get("team-2")
    assert room is not None
    assert "alice" in room.game.sessions


async def test_a_new_room_past_the_servers_most_is_refused_before_going(
    open_page: OpenPage, start_server: StartServer
) -> None:
    server = await start_server(max_rooms=2)
    page = await joined(await open_page(f"{http_of(server)}/rooms/alpha?name=alice"))
    await page.locator("#rooms summary").click()
    await expect(page.locator("#room-note")).to_have_text("2 rooms open, at most 2")
    field = page.locator("#rooms input[name=room]")
    await field.fill("gamma")
    await field.press("Enter")
    await expect(page.locator("#room-problem")).to_have_text(
        "the server holds 2 rooms, its most: pick one of these"
    )
    assert page.url.endswith("/rooms/alpha?name=alice")


async def test_the_projector_at_a_rooms_address_shows_that_rooms_board(
    open_page: OpenPage, server: BoardServer, proxy: Proxy
) -> None:
    """And ``?network=`` still adds the proxy's /faults feed, the whole server's, as at /watch."""
    assert server.url is not None
    async with AsyncExitStack() as stack:
        alice = await stack.enter_async_context(RemoteBoard(room_url(server.url, "alpha"), "alice"))
        bob = await stack.enter_async_context(RemoteBoard(server.url, "bob"))
        for board in (alice, bob):
            assert (await board.join()).ok
        urls: list[str] = []
        network = f"network={address(proxy.url)}"
        page = await open_page(f"{http_of(server)}/rooms/alpha/watch?{network}", urls)
        await page.wait_for_function("window.watch.labels().includes('alice')", timeout=WAIT)
        assert await page.evaluate("window.watch.pacmen()") == ["pacman-alice"]
        await expect(page.locator("#room")).to_have_text("room alpha")
        await page.wait_for_function("window.watch.open().length === 5", timeout=WAIT)
    assert sockets(server.url, urls) == {
        "/rooms/alpha/board", "/rooms/alpha/room", "/rooms/alpha/keepalive", "/faults"
    }  # fmt: skip
    assert sockets(proxy.url, urls) == {"/faults"}


async def test_a_rooms_page_opened_through_the_proxy_plays_in_that_room(
    open_page: OpenPage, server: BoardServer, proxy: Proxy
) -> None:
    await joined(await open_page(f"http://{address(proxy.url)}/rooms/alpha?name=alice"))
    alpha = server.rooms.get("alpha")
    assert alpha is not None
    assert "alice" in alpha.game.sessions
    assert "alice" not in server.game.sessions
