"""The projector's view (``/watch``), in a real headless Chromium against a real server.

Real players (Python clients) join, call, and report how their calls ended; the facilitator
marks an exercise and switches a fault on. The page must show the room all of it, readable
from the back (no text under 24 px at 1920x1080), and do nothing but follow the server's four
read-only feeds. Playwright drives the system's Chromium (``/usr/bin/chromium``); it never
downloads a browser of its own.
"""

import asyncio
import io
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest
from PIL import Image
from playwright.async_api import Browser, Page

from pacnet.client.remote import RemoteBoard
from pacnet.faults.admin import AdminClient
from pacnet.protocol.outcome import OUTCOME_COLOURS, Outcome
from pacnet.proxy.config import ProxyConfig
from pacnet.proxy.relay import running_proxy
from pacnet.server.config import ServerConfig
from pacnet.server.embedded import running_server
from pacnet.server.net import BoardServer
from pacnet.window.draw import player_colour
from tests.conftest import switch_on
from tests.test_web_page import WAIT, browser, http_of

__all__ = ["browser"]  # the play page's Chromium fixture, used here as it is there

WALL = (0x21, 0x21, 0xDE)
FULL_HD = {"width": 1920, "height": 1080}
FEEDS = {"/board", "/room", "/faults", "/keepalive"}
LABEL = "step 3: the server rejects findAll"

SMALL_TEXT = """() => [...document.querySelectorAll("body *")]
  .filter((e) => [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim()))
  .filter((e) => e.getClientRects().length > 0)
  .map((e) => [e.tagName + ":" + e.textContent.trim().slice(0, 30),
               parseFloat(getComputedStyle(e).fontSize)])
  .filter(([, size]) => size < 24)"""
"""Every visible element with text of its own set under 24 px, as ``[what, px]``."""
PILED_LABELS = """() => {
  const boxes = [...document.querySelectorAll("#labels span:not([hidden])")]
    .map((e) => e.getBoundingClientRect());
  return boxes.flatMap((a, i) => boxes.slice(i + 1).filter((b) =>
    a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom)).length;
}"""
"""How many pairs of the pac-men's name labels cover each other."""


def rgb(colour: str) -> tuple[int, int, int]:
    return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))


@pytest.fixture
async def server() -> AsyncIterator[BoardServer]:
    async with running_server(ServerConfig(port=0, layout="small", seed=1)) as served:
        yield served


async def watching(
    browser: Browser, server: BoardServer, urls: list[str], errors: list[str]
) -> Page:
    """The projector's page at 1920x1080; every request and WebSocket it opens goes to ``urls``."""
    context = await browser.new_context(viewport=FULL_HD)
    page = await context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: urls.append(request.url))
    page.on("websocket", lambda socket: urls.append(socket.url))
    await page.goto(f"{http_of(server)}/watch")
    return page


async def reporting(board: RemoteBoard, exercise: int, every: float) -> None:
    """Report ``board``'s counts every ``every`` seconds, as a playing client does."""
    seq = 0
    while True:
        seq += 1
        await board.report(exercise, seq, board.tally.as_counts())
        await asyncio.sleep(every)


async def test_the_room_sees_the_board_the_outcomes_the_fault_and_who_is_late(
    server: BoardServer, browser: Browser
) -> None:
    assert server.url is not None
    async with AsyncExitStack() as stack:
        alice = await stack.enter_async_context(RemoteBoard(server.url, "alice"))
        bob = await stack.enter_async_context(RemoteBoard(server.url, "bob"))
        for board in (alice, bob):
            assert (await board.join()).ok
        async with AdminClient(server.url, server.admin.token) as admin:
            exercise = (await admin.mark(LABEL)).exercise.number
        for board in (alice, bob):
            assert (await board.find_all(":ghost")).outcome is Outcome.SUCCESS
        await switch_on(server, kind="reject", action="findAll")
        for board in (alice, bob):
            for _ in range(3):
                assert (await board.find_all(":ghost")).outcome is Outcome.FATAL
        await bob.report(exercise, 1, bob.tally.as_counts())  # bob's only report

        urls: list[str] = []
        errors: list[str] = []
        async with asyncio.TaskGroup() as tasks:
            reports = tasks.create_task(reporting(alice, exercise, 0.3))
            page = await watching(browser, server, urls, errors)
            await page.wait_for_function(
                "['alice', 'bob'].every((n) => window.watch.labels().includes(n))", timeout=WAIT
            )
            fatal = page.locator("#totals tr.FATAL td[data-call=findAll]")
            await page.wait_for_function(
                "document.querySelector('#totals tr.FATAL td[data-call=findAll]')"
                "?.textContent === '6'",
                timeout=WAIT,
            )
            assert await fatal.inner_text() == "6"
            success = page.locator("#totals tr.SUCCESS td[data-call=findAll]")
            assert await success.inner_text() == "2"
            assert await page.locator("#headline-label").inner_text() == LABEL
            fault = await page.locator("#switched li").first.inner_text()
            for words in ("reject", "action=findAll", "step 3 VALIDATE REQUEST"):
                assert words in fault
            late = page.locator("#players li[data-user=bob] .late")
            await late.wait_for(timeout=WAIT)
            assert await page.locator("#players li[data-user=alice] .late").count() == 0
            assert "late" in await page.locator("#legend").inner_text()

            assert await page.evaluate(SMALL_TEXT) == []
            assert await page.evaluate(PILED_LABELS) == 0
            shot = await page.screenshot()
            Image.open(io.BytesIO(shot)).save("/tmp/watch-1920x1080.png")
            reports.cancel()

    image = Image.open(io.BytesIO(shot)).convert("RGB")
    pixels = {colour for _, colour in image.getcolors(maxcolors=1 << 22) or []}
    assert WALL in pixels
    for outcome in (Outcome.SUCCESS, Outcome.FATAL, Outcome.UNKNOWN):
        assert rgb(OUTCOME_COLOURS[outcome]) in pixels, outcome
    origin = http_of(server)
    ws_origin = server.url.rstrip("/")
    assert all(url.startswith((origin, ws_origin)) for url in urls), urls
    sockets = {url.removeprefix(ws_origin) for url in urls if url.startswith("ws")}
    assert sockets == FEEDS, "the page opened no game WebSocket, only the four feeds"
    assert errors == []


CROWD = 30


@pytest.fixture
async def calm_server() -> AsyncIterator[BoardServer]:
    """A server whose ghosts catch nobody: a crowd stays on the board as it joined."""
    async with running_server(ServerConfig(port=0, layout="small", seed=1, calm=True)) as served:
        yield served


async def test_a_crowded_room_stays_readable_and_a_fault_rises_on_the_chart(
    calm_server: BoardServer, browser: Browser
) -> None:
    """Thirty players: no two name labels cover each other and the view counts those it had
    no room for, the players' list turns its pages, the scenario's next step counts down, and
    a fault switched on rises as a band of its outcome's colour at the chart's right end."""
    assert calm_server.url is not None
    async with AsyncExitStack() as stack:
        boards = [
            await stack.enter_async_context(RemoteBoard(calm_server.url, f"player-{i:02}"))
            for i in range(CROWD)
        ]
        for board in boards:
            assert (await board.join()).ok
        async with AdminClient(calm_server.url, calm_server.admin.token) as admin:
            exercise = (await admin.mark("step 3: findAll rejected", next_step_in=90)).exercise

        async def play_and_report() -> None:
            seq = 0
            while True:
                seq += 1
                for board in boards:
                    await board.find_all(":ghost")
                    await board.report(exercise.number, seq, board.tally.as_counts())
                await asyncio.sleep(0.2)

        errors: list[str] = []
        async with asyncio.TaskGroup() as tasks:
            playing = tasks.create_task(play_and_report())
            page = await watching(browser, calm_server, [], errors)
            await page.wait_for_function(
                f"window.watch.pacmen().length === {CROWD} && window.watch.players().length > 0",
                timeout=WAIT,
            )
            countdown = await page.locator("#countdown").inner_text()
            assert countdown.startswith("next step in 1:"), countdown  # 90 s: 1:30 and down

            await asyncio.sleep(2)  # a few seconds of calm on the chart
            await switch_on(calm_server, kind="reject", action="findAll")
            await page.wait_for_function(
                "/[1-9][0-9]*% not SUCCESS/.test(document.getElementById('rate-now').textContent)",
                timeout=WAIT,
            )
            chart = Image.open(io.BytesIO(await page.locator("#rates").screenshot())).convert("RGB")

            first_page, note = await page.evaluate(
                "[window.watch.players(), document.getElementById('players-page').textContent]"
            )  # at once: the page may turn at any moment
            assert 0 < len(first_page) < CROWD
            numbers = sorted(int(name.removeprefix("player-")) for name in first_page)
            assert note == f"{numbers[0] + 1}-{numbers[-1] + 1} of {CROWD}"
            await page.wait_for_function(
                f"!window.watch.players().includes({first_page[0]!r})", timeout=WAIT
            )  # the next page
            assert await page.evaluate(PILED_LABELS) == 0
            shown = len(await page.evaluate("window.watch.labels()"))
            left = await page.locator("#unlabelled").inner_text() if shown < CROWD else ""
            assert shown == CROWD or left.startswith(f"{CROWD - shown} name"), left
            assert shown == CROWD or left.endswith("left out: no room"), left
            assert shown >= CROWD * 2 // 3, "most of a crowd is labelled"
            assert await page.evaluate(SMALL_TEXT) == []
            fps = await page.evaluate(
                """() => new Promise((done) => { let n = 0; const t0 = performance.now();
                    const tick = (t) => { n += 1; if (t - t0 < 3000) requestAnimationFrame(tick);
                                          else done(n * 1000 / (t - t0)); };
                    requestAnimationFrame(tick); })"""
            )
            print(f"projector frame rate with {CROWD} players: {fps:.0f} fps")
            await page.screenshot(path="/tmp/watch-crowd-1920x1080.png")
            playing.cancel()
    assert errors == []
    width, height = chart.size
    right_end = {
        chart.getpixel((x, y)) for x in range(width - width // 40, width) for y in range(height)
    }
    left_end = {
        chart.getpixel((x, y))
        for x in range(width // 2, width - width // 10)
        for y in range(height)
    }
    fatal = rgb(OUTCOME_COLOURS[Outcome.FATAL])
    assert fatal in right_end, "the fault's band at the chart's right end"
    assert fatal not in left_end, "and not before it was switched on"


async def test_each_player_has_the_windows_colour_on_the_projector(
    server: BoardServer, browser: Browser
) -> None:
    """A facilitator can say "the green one": every screen gives a player the same colour."""
    names = ["pacman-alice", "pacman-bob", "pacman-bot-f70157-11", "pacman-Zoë", "pacman-日本"]
    page = await watching(browser, server, [], [])
    shown = await page.evaluate(
        """async (names) => {
            const { playerColour } = await import("/static/players.js");
            return names.map(playerColour);
        }""",
        names,
    )
    assert shown == [f"rgb({r} {g} {b})" for r, g, b in map(player_colour, names)]


async def test_given_the_proxy_the_projector_lists_the_networks_faults_too(
    server: BoardServer, browser: Browser
) -> None:
    """The server knows only its own faults; the room plays through the proxy. With
    ?network=, the projector also follows the proxy's fault list, which has both domains."""
    assert server.url is not None
    async with running_proxy(ProxyConfig(port=0, upstream=server.url, seed=1)) as proxy:
        assert proxy.url is not None
        await switch_on(proxy, kind="drop", direction="reply", probability=0.2)
        await switch_on(server, kind="reject", action="findAll")
        network = proxy.url.removeprefix("ws://").rstrip("/")
        context = await browser.new_context(viewport=FULL_HD)
        page = await context.new_page()
        await page.goto(f"{http_of(server)}/watch?network={network}")
        await page.wait_for_function(
            "document.querySelectorAll('#switched li').length === 2", timeout=WAIT
        )
        shown = await page.locator("#switched li").all_inner_texts()
        assert any("drop reply 20%" in line and "network" in line for line in shown), shown
        assert any("reject" in line and "server" in line for line in shown), shown
        assert await page.locator("#feeds").inner_text() == "live"


PROMPT = (
    "step 2: The network now loses one reply in five on its way back to you. The server did "
    "the work; your call ends UNKNOWN. Can you tell this from step 5? (Not from the client.)"
)


async def test_a_long_prompt_wraps_and_leaves_the_board_and_the_panels_in_place(
    server: BoardServer, browser: Browser
) -> None:
    """A scenario's step is a sentence or two for the room: all of it on the projector, and the
    board and the panels where they were."""
    assert server.url is not None
    page = await watching(browser, server, [], [])
    await page.wait_for_function("window.watch.seen['/faults']", timeout=WAIT)
    before = await page.locator("aside").bounding_box()
    async with AdminClient(server.url, server.admin.token) as admin:
        assert (await admin.mark(PROMPT, next_step_in=60)).ok
    await page.locator("#headline-label", has_text="Not from the client").wait_for(timeout=WAIT)
    headline = await page.evaluate(
        "(() => { const h = document.getElementById('headline');"
        " return [h.scrollHeight, h.clientHeight]; })()"
    )
    assert headline[0] <= headline[1] + 1, "the whole prompt shows"
    aside = await page.locator("aside").bounding_box()
    board = await page.locator("#picture").bounding_box()
    assert before is not None
    assert aside is not None
    assert board is not None
    assert aside["x"] == before["x"]
    assert aside["x"] + aside["width"] <= FULL_HD["width"]
    assert board["x"] >= 0
    assert board["x"] + board["width"] <= aside["x"] + 1
    assert await page.evaluate(SMALL_TEXT) == []
    await page.screenshot(path="/tmp/watch-long-prompt.png")
