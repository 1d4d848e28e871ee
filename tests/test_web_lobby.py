"""The projector's "the group's lobby" panel (``watch-lobby.js``), in a real headless Chromium.

Through a group's HAProxy (``pacnet cluster up``, players in eight rooms, a crowd of seekers
asking the lobby) the page reads HAProxy's figures on its own address and shows each server's
share of the lobby requests and its status where the lobby is served: the catalog server's
epidemic (one server's full disk draws the lobby) is there on the projector, and so is the
balancer's cure. On a single server there are no such figures: the panel stays hidden.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import pytest
from playwright.async_api import Browser, Page

from pacnet.client.remote import RemoteBoard
from pacnet.cluster.seek import SeekCounts, SeekPlan, seek
from pacnet.cluster.stack import Stack
from pacnet.faults.admin import AdminClient
from pacnet.protocol.rooms import room_url
from pacnet.server.net import BoardServer
from tests.test_epidemic import group
from tests.test_web_page import WAIT, browser, http_of
from tests.test_web_watch import FULL_HD, SMALL_TEXT

__all__ = ["browser", "group"]  # the play page's Chromium and the epidemic's group, as there

ROOMS = ["hall", *(f"hall-{n}" for n in range(1, 8))]
"""Rooms with a player each: a healthy lobby reads their games, the work leastconn sees."""
SHOT = "/tmp/watch-lobby-epidemic.png"
CURED = "/tmp/watch-lobby-cured.png"

SHOWN = """() => Object.fromEntries([...document.querySelectorAll('#lobby li')].map((li) =>
  [li.dataset.server, [li.querySelector('.share').textContent,
                       li.querySelector('.state').textContent]]))"""
"""What the panel says of each server: ``{server: [share, state]}``, as the page shows them."""
PERCENT = "(text) => /^[0-9]+%$/.test(text) ? parseInt(text) : null"


def shown_where(condition: str) -> str:
    """A page function true once the panel lists s1 and s2 and ``condition`` holds of their
    shown shares (``s1``, ``s2``: numbers, or null for "-") and states (``state1``,
    ``state2``)."""
    return f"""() => {{
      const shown = ({SHOWN})();
      if (!shown.s1 || !shown.s2) return false;
      const percent = {PERCENT};
      const [s1, s2] = [percent(shown.s1[0]), percent(shown.s2[0])];
      const [state1, state2] = [shown.s1[1], shown.s2[1]];
      return {condition};
    }}"""


@asynccontextmanager
async def players_in_rooms(stack: Stack) -> AsyncIterator[None]:
    async with AsyncExitStack() as boards:
        for n, room in enumerate(ROOMS):
            board = await boards.enter_async_context(
                RemoteBoard(room_url(stack.url, room), f"player-{n}")
            )
            assert (await board.join()).ok
        yield


async def test_the_projector_shows_the_lobby_drawn_to_the_full_disk_and_the_balancers_cure(
    group: Stack, browser: Browser
) -> None:
    """Healthy, both servers share the lobby; with s2's disk full (the balancer checking
    life alone) s2 draws the larger share; with the store checked, s2 is out of the lobby."""
    origin = group.url.replace("ws://", "http://")
    errors: list[str] = []
    urls: list[str] = []
    async with players_in_rooms(group):
        await asyncio.sleep(1.0)  # a round of renewals: the lobby lists the rooms
        page = await browser.new_page(viewport=FULL_HD)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("request", lambda request: urls.append(request.url))
        await page.goto(f"{origin}/rooms/hall/watch")
        await page.locator("#lobby-box").wait_for(state="visible", timeout=WAIT)
        await page.wait_for_function(
            shown_where("state1 === 'live UP · store UP' && state2 === 'live UP · store UP'"),
            timeout=WAIT,
        )  # nobody asks the lobby yet: which backend serves it is not known, so both show
        assert await page.locator("#lobby-now").inner_text() == "no requests"

        stop = asyncio.Event()
        async with asyncio.TaskGroup() as tasks:
            plan = SeekPlan(group.url, seekers=20, stay=0.2)
            tasks.create_task(seek(plan, SeekCounts(), stop))
            try:
                await healthy_then_epidemic_then_cure(page, group)
            finally:
                stop.set()
    assert errors == []
    assert all(url.startswith(origin) for url in urls), urls


async def healthy_then_epidemic_then_cure(page: Page, group: Stack) -> None:
    await page.wait_for_function(
        shown_where("s1 > 10 && s2 > 10 && state1 === 'live UP' && state2 === 'live UP'"),
        timeout=WAIT,
    )
    healthy = await page.evaluate(SHOWN)
    assert healthy.keys() == {"s1", "s2"}
    rate = await page.locator("#lobby-now").inner_text()
    assert rate.endswith(" requests/s"), rate

    s2 = next(member for member in group.members if member.name == "s2")
    async with AdminClient(f"ws://127.0.0.1:{s2.port}", group.admin_token) as admin:
        assert (await admin.add({"kind": "disk_full", "action": "lobby"})).ok
    await page.wait_for_function(shown_where("s2 > s1 && s2 >= 55"), timeout=WAIT)
    await asyncio.sleep(1.0)  # a look more: the span all epidemic
    epidemic = await page.evaluate(SHOWN)
    assert epidemic["s2"][1] == "live UP", "the balancer checks life alone: s2 gets requests"
    assert int(epidemic["s2"][0].rstrip("%")) > int(epidemic["s1"][0].rstrip("%")), epidemic
    assert await page.evaluate(SMALL_TEXT) == []
    await page.screenshot(path=SHOT)
    print(f"healthy {healthy}, disk full {epidemic}; screenshot {SHOT}")

    await asyncio.to_thread(group.set_lobby_check, "store")
    await page.wait_for_function(
        shown_where("s2 === 0 && state2 === 'store DOWN' && state1 === 'store UP'"),
        timeout=WAIT,
    )
    assert await page.locator("#lobby li[data-server=s2] .state.out").count() == 1
    await page.screenshot(path=CURED)


async def test_on_a_single_server_the_lobby_panel_stays_hidden_and_is_asked_for_once(
    server: BoardServer, browser: Browser
) -> None:
    """A server alone answers 404 for HAProxy's figures: nothing to show, nothing more asked,
    and the rest of the view as it is."""
    asked: list[str] = []
    errors: list[str] = []
    page = await browser.new_page(viewport=FULL_HD)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda r: asked.append(r.url) if "/haproxy/" in r.url else None)
    async with page.expect_response(lambda reply: "/haproxy/stats" in reply.url) as answer:
        await page.goto(f"{http_of(server)}/rooms/hall/watch")
    assert (await answer.value).status == 404
    await page.wait_for_function("window.watch.seen['/room']", timeout=WAIT)
    await asyncio.sleep(2.5)  # two more seconds: a panel that asked again would have
    assert await page.locator("#lobby-box").is_hidden()
    assert await page.evaluate("window.watch.lobby()") is None
    assert asked == [f"{http_of(server)}/haproxy/stats;csv"]
    assert errors == []


HEAD = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,"
HEAD += "wretr,wredis,status,weight,act\n"


def stats(sessions: dict[tuple[str, str], tuple[int, str]]) -> str:
    """HAProxy's CSV with a row per ``(backend, server): (stot, status)``, its first columns."""
    lines = [f"{px},{sv},,,,,,{stot},,,,,,,,,,{status},1,1" for (px, sv), (stot, status) in
             sessions.items()]  # fmt: skip
    return HEAD + "\n".join(lines) + "\n"


def look(s1_live: int, s2_live: int, s1_store: int, s2_store: int) -> str:
    """One look: each server's sessions in all in each lobby backend, s2 DOWN in lobby_store;
    and the rows that do not count (the boards backend, the totals)."""
    return stats({
        ("boards", "s1"): (900, "UP"), ("lobby_live", "s1"): (s1_live, "UP"),
        ("lobby_live", "s2"): (s2_live, "UP"), ("lobby_live", "BACKEND"): (s1_live + s2_live, "UP"),
        ("lobby_store", "s1"): (s1_store, "UP"), ("lobby_store", "s2"): (s2_store, "DOWN"),
        ("lobby_store", "BACKEND"): (s1_store + s2_store, "UP"),
        ("pacnet", "FRONTEND"): (5000, "OPEN"),
    })  # fmt: skip


SHARES = """async (texts) => { // one look a second
  const lobby = await import("/static/watch-lobby.js");
  const seen = texts.map((text, i) => ({ at: i * 1000, look: lobby.lobbyLook(lobby.parseStats(text)) }));
  const shares = lobby.lobbyShares(seen);
  return [shares.serving, shares.requests,
          shares.servers.map((s) => [s.name, s.share, lobby.stateLine(s, shares.serving).text])];
}"""


@pytest.mark.parametrize(
    ("counts", "serving", "requests", "servers"),
    [
        pytest.param(
            [(10, 10, 5, 0), (40, 100, 5, 0)], "live", 120,
            [["s1", 0.25, "live UP"], ["s2", 0.75, "live UP"]],
            id="live-grew-so-live-serves-and-s2-drew-three-in-four",
        ),
        pytest.param(
            [(10, 10, 5, 0), (10, 10, 5, 0)], None, 0,
            [["s1", None, "live UP · store UP"], ["s2", None, "live UP · store DOWN"]],
            id="nothing-grew-so-both-backends-statuses-show",
        ),
        pytest.param(
            [(10, 10, 5, 0), (20, 30, 5, 0), (20, 30, 25, 0)], "store", 50,
            [["s1", 0.6, "store UP"], ["s2", 0.4, "store DOWN"]],
            id="both-grew-over-the-span-so-the-last-second-decides",
        ),
    ],
)  # fmt: skip
async def test_the_lobby_is_served_by_the_backend_whose_sessions_grew(
    server: BoardServer,
    browser: Browser,
    counts: list[tuple[int, int, int, int]],
    serving: str | None,
    requests: int,
    servers: list[list[object]],
) -> None:
    page = await browser.new_page()
    await page.goto(f"{http_of(server)}/rooms/hall/watch")
    shown = await page.evaluate(SHARES, [look(*each) for each in counts])
    assert shown == [serving, requests, servers]
    assert await page.evaluate("async () => (await import('/static/watch-lobby.js'))"
                               ".parseStats('no such page: open / to play')") is None  # fmt: skip
