"""The page to play (``pacnet/web/static/``), in a real headless Chromium against a real server.

A participant opens the server's address, types a name and plays: these tests do the same and
check what the page counts, what the server saw, and what a person would see on the screen.
Playwright drives the system's Chromium (``/usr/bin/chromium``, installed by ``.ci/run``); it
never downloads a browser of its own.
"""

import asyncio
import io
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from PIL import Image
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from pacnet.client.play import FOOD_INTERVAL, INPUT_INTERVAL
from pacnet.client.remote import RemoteBoard
from pacnet.client.retry import DEFAULT_RETRIES, Reconnects
from pacnet.client.timeouts import Timeouts
from pacnet.client.view import MISSING_AFTER
from pacnet.faults.admin import AdminClient
from pacnet.protocol.actions import ACTIONS
from pacnet.protocol.feeds import REPORT_EVERY
from pacnet.protocol.models import PROTOCOL_VERSION, Entity, ErrorBody, ErrorReply, WireModel
from pacnet.protocol.outcome import Outcome
from pacnet.proxy.config import ProxyConfig
from pacnet.proxy.relay import running_proxy
from pacnet.server.net import BoardServer
from tests.conftest import MS, Controlled, StartServer, switch_on

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT = 15_000 * MS * 1000
"""Milliseconds (Playwright's unit) to wait for the page to show something: 15 s, scaled."""
WALL = (0x21, 0x21, 0xDE)
YELLOW = (0xFF, 0xFF, 0x00)

OpenPage = Callable[..., Awaitable[Page]]


def http_of(server: BoardServer) -> str:
    assert server.url is not None
    return server.url.replace("ws://", "http://").rstrip("/")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def open_page(browser: Browser) -> AsyncIterator[OpenPage]:
    """Open a page in a context of its own (its own localStorage), 1280x800; any uncaught
    error in the page fails the test."""
    errors: list[str] = []
    contexts: list[BrowserContext] = []

    async def open_(url: str, urls: list[str] | None = None) -> Page:
        """``urls``: a list to add the URL of every request and WebSocket of the page to."""
        context = await browser.new_context(viewport={"width": 1280, "height": 800})
        contexts.append(context)
        page = await context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        if urls is not None:
            page.on("request", lambda request: urls.append(request.url))
            page.on("websocket", lambda socket: urls.append(socket.url))
        await page.goto(url)
        return page

    yield open_
    for context in contexts:  # a page left open keeps playing, and trying to reconnect,
        await context.close()  # on the one browser every later test shares
    assert errors == []


async def playing(open_page: OpenPage, server: BoardServer, name: str) -> Page:
    """A page that has joined as ``name``."""
    page = await open_page(f"{http_of(server)}/?name={name}")
    await page.wait_for_function("window.pacnet && window.pacnet.joined", timeout=WAIT)
    return page


async def counts(page: Page) -> dict[str, dict[str, int]]:
    result: dict[str, dict[str, int]] = await page.evaluate("window.pacnet.counts()")
    return result


async def grows(page: Page, action: str, outcome: Outcome, by: int = 3) -> None:
    """Wait until the page has counted ``by`` more ``action`` calls ending ``outcome``."""
    before = (await counts(page))[action][outcome.value]
    await page.wait_for_function(
        f"window.pacnet.counts()[{action!r}][{outcome.value!r}] >= {before + by}", timeout=WAIT
    )


class Longest(random.Random):
    """A random source that always draws the top of the range."""

    def uniform(self, a: float, b: float) -> float:
        return b


def reconnect_limits_ms(tries: int) -> list[float]:
    """The longest the Python client waits before a reconnection try, after 0, 1, ... failed
    tries: the first within ``first`` of the loss, then the backoff."""
    reconnects, rng = Reconnects(), Longest()
    reconnects.lost(0.0, rng)
    limits = [reconnects.not_before]
    limits += [reconnects.failed(0.0, "refused", rng) for _ in range(tries - 1)]
    return [round(limit * 1000, 6) for limit in limits]


async def test_the_pages_timings_are_the_python_clients(
    open_page: OpenPage, server: BoardServer
) -> None:
    """The page cannot import Python: each timing a player feels (a call's deadline, the
    reconnection backoff, when a pac-man counts as missing, how often the room hears from it,
    the retry policy's attempts, backoff and budget) is written again in JavaScript, and held
    here to the Python client's."""
    page = await open_page(http_of(server))
    page_says = await page.evaluate(
        """async () => {
            const [remote, game, report, protocol, retry] = await Promise.all(
                ["remote", "game", "report", "protocol", "retry"].map(
                    (m) => import(`/static/${m}.js`)));
            const random = Math.random;
            Math.random = () => 1; // the longest wait each backoff allows
            const within = [0, 1, 2, 3, 4, 5, 6, 7].map(remote.reconnectWait);
            Math.random = random;
            return {deadline: remote.DEADLINE_MS, reconnectWithin: within,
                    missing: game.MISSING_AFTER_MS, turn: game.TURN_MS, food: game.FOOD_MS,
                    report: report.REPORT_EVERY_MS, version: protocol.VERSION,
                    retries: retry.RETRIES};
        }"""
    )
    policy = DEFAULT_RETRIES
    assert page_says == {
        "deadline": Timeouts.reply * 1000,
        "reconnectWithin": reconnect_limits_ms(8),
        "missing": MISSING_AFTER * 1000,
        "turn": INPUT_INTERVAL * 1000,
        "food": FOOD_INTERVAL * 1000,
        "report": REPORT_EVERY * 1000,
        "version": PROTOCOL_VERSION,
        "retries": {
            "maxAttempts": policy.max_attempts,
            "attemptTimeoutMs": policy.attempt_timeout * 1000,
            "deadlineMs": policy.deadline * 1000,
            "deadlinesMs": {action: s * 1000 for action, s in policy.deadlines.items()},
            "baseMs": policy.base * 1000,
            "throttledBaseMs": policy.throttled_base * 1000,
            "capMs": policy.cap * 1000,
            "budget": policy.budget,
            "budgetRefill": policy.budget_refill,
        },
    }


async def test_the_page_joins_and_counts_its_successful_calls(
    open_page: OpenPage, server: BoardServer
) -> None:
    page = await playing(open_page, server, "alice")
    await grows(page, "findAll", Outcome.SUCCESS, by=10)
    assert "alice" in server.game.sessions
    assert (await counts(page))["join"]["SUCCESS"] == 1
    cell = page.locator("#calls tbody tr", has_text="findAll").locator("td.count.SUCCESS")
    assert int(await cell.inner_text()) > 0


async def test_the_arrow_keys_move_the_pac_man(open_page: OpenPage, server: BoardServer) -> None:
    page = await playing(open_page, server, "alice")
    await page.wait_for_function("window.pacnet.pacmen().includes('pacman-alice')", timeout=WAIT)
    await page.keyboard.press("ArrowRight")
    await grows(page, "move", Outcome.SUCCESS)
    pacman = next(p for p in server.game.board.all_of(":pacman") if p.owner == "alice")
    assert pacman.last_seq is not None
    assert "right" in (pacman.heading, pacman.wanted)


async def test_two_pages_play_on_one_board_and_each_sees_the_other(
    open_page: OpenPage, server: BoardServer
) -> None:
    alice = await playing(open_page, server, "alice")
    bob = await playing(open_page, server, "bob")
    assert {"alice", "bob"} <= set(server.game.sessions)
    for page, other in ((alice, "pacman-bob"), (bob, "pacman-alice")):
        await page.wait_for_function(f"window.pacnet.pacmen().includes({other!r})", timeout=WAIT)
    assert server.url is not None
    async with RemoteBoard(server.url, "carol") as carol:
        assert (await carol.join()).ok
        seen = await carol.find_all(":pacman")
    assert seen.reply is not None
    assert {"pacman-alice", "pacman-bob"} <= {e.name for e in seen.reply.entities}


@pytest.mark.parametrize(
    ("fault", "outcome"),
    [
        pytest.param("reject", Outcome.FATAL, id="findAll-FATAL-request-rejected"),
        pytest.param("update_fails", Outcome.RETRYABLE, id="findAll-RETRYABLE-update-failed"),
        pytest.param("no_reply", Outcome.UNKNOWN, id="findAll-UNKNOWN-no-reply"),
        pytest.param("bad_version", Outcome.UNKNOWN, id="findAll-UNKNOWN-reply-of-version-2"),
        pytest.param("disk_full", Outcome.UNKNOWN, id="findAll-UNKNOWN-empty-ok-reply"),
    ],
)
async def test_a_server_fault_shows_in_the_pages_outcome_counts(
    fault: str, outcome: Outcome, open_page: OpenPage, server: BoardServer
) -> None:
    page = await playing(open_page, server, "alice")
    assert (await counts(page))["findAll"][outcome.value] == 0
    await switch_on(server, kind=fault, action="findAll")
    await grows(page, "findAll", outcome, by=2)
    failures = page.locator(f"#failures li.{outcome.value}", has_text="findAll")
    await failures.first.wait_for(timeout=WAIT)
    assert f"findAll -> {outcome.value}" in await failures.first.inner_text()


async def test_the_page_plays_through_the_proxy_and_meets_the_networks_faults(
    open_page: OpenPage, server: BoardServer
) -> None:
    """Opened at the proxy's address, the page's WebSocket goes through the proxy too: a reply
    it damages into a binary frame of garbage is UNKNOWN, as the table says."""
    assert server.url is not None
    async with running_proxy(ProxyConfig(port=0, upstream=server.url, seed=1)) as proxy:
        assert proxy.url is not None
        http = proxy.url.replace("ws://", "http://").rstrip("/")
        page = await open_page(f"{http}/?name=alice")
        await page.wait_for_function("window.pacnet && window.pacnet.joined", timeout=WAIT)
        await grows(page, "findAll", Outcome.SUCCESS)
        fault = {"kind": "corrupt", "direction": "reply", "corruption": "garbage"}
        await switch_on(proxy, **fault, action="findAll")
        await grows(page, "findAll", Outcome.UNKNOWN)
        assert "alice" in server.game.sessions


@pytest.mark.parametrize(
    ("key", "fault", "outcome"),
    [
        pytest.param("F7", "offline", Outcome.POST_FAILED, id="F7-offline-POST_FAILED"),
        pytest.param("F8", "apply-fails", Outcome.UNKNOWN, id="F8-apply-fails-UNKNOWN"),
    ],
)
async def test_a_client_fault_key_switches_the_pages_outcome_and_back(
    key: str, fault: str, outcome: Outcome, open_page: OpenPage, server: BoardServer
) -> None:
    page = await playing(open_page, server, "alice")
    await page.keyboard.press(key)
    await grows(page, "findAll", outcome)
    # The panel shows the key's fault on at its next update (a few times a second).
    await page.wait_for_selector(f"#fault-{fault}.on", state="attached", timeout=WAIT)
    await page.keyboard.press(key)
    before = (await counts(page))["findAll"][outcome.value]
    await grows(page, "findAll", Outcome.SUCCESS)
    await page.wait_for_selector(f"#fault-{fault}.on", state="detached", timeout=WAIT)
    assert (await counts(page))["findAll"][outcome.value] <= before + 1  # one turn in flight


async def test_a_lost_connection_is_reconnected_and_the_same_pac_man_resumed(
    open_page: OpenPage, server: BoardServer
) -> None:
    page = await playing(open_page, server, "alice")
    token = server.game.sessions["alice"].token
    await switch_on(server, kind="crash", crash="abort", action="findAll", count=1)
    # The cut call's attempt is UNKNOWN; retried on the new connection, the call may succeed.
    await page.wait_for_function("window.pacnet.attempts().findAll.UNKNOWN >= 1", timeout=WAIT)
    await page.wait_for_function("window.pacnet.counts().join.SUCCESS >= 2", timeout=WAIT)
    await grows(page, "findAll", Outcome.SUCCESS)
    assert server.game.sessions["alice"].token == token
    assert list(server.game.sessions) == ["alice"]


async def test_a_reload_resumes_the_same_pac_man(open_page: OpenPage, server: BoardServer) -> None:
    page = await playing(open_page, server, "alice")
    token = server.game.sessions["alice"].token
    await page.reload()
    await page.wait_for_function("window.pacnet && window.pacnet.joined", timeout=WAIT)
    assert server.game.sessions["alice"].token == token
    joins = (await counts(page))["join"]
    assert joins == {**{o.value: 0 for o in Outcome}, "SUCCESS": 1}


def wire_fields(model: type[WireModel]) -> list[str]:
    return sorted(field.alias or name for name, field in model.model_fields.items())


async def test_the_page_checks_replies_for_the_fields_the_models_have(
    open_page: OpenPage, server: BoardServer
) -> None:
    """protocol.js spells each reply's fields out again for the browser: the same as the
    models', so a field added to the protocol cannot make the page call every reply UNKNOWN."""
    page = await open_page(f"{http_of(server)}/")
    shapes = await page.evaluate(
        """import("/static/protocol.js").then((m) => {
            const names = (fields) => Object.keys(fields).sort();
            const ok = Object.entries(m.OK_REPLIES).map(([a, fields]) => [a, names(fields)]);
            return {ok: Object.fromEntries(ok), error: names(m.errorReplyFields([])),
                    body: names(m.errorBodyFields([]))};
        })"""
    )
    assert shapes["ok"] == {action: wire_fields(spec.reply) for action, spec in ACTIONS.items()}
    assert shapes["error"] == wire_fields(ErrorReply)
    reply = {"v": 1, "requestId": "r-1", "clock": 5, "status": "ok"}
    ghost = {"name": "blinky", "kind": ":ghost", "xPos": 1, "yPos": 2}
    problems = await page.evaluate(
        """([reply, ghost]) => import("/static/protocol.js").then((m) => [
            m.replyProblem("findAll", {...reply, entities: [ghost]}, []),
            m.replyProblem("findAll", {...reply, entities: [{...ghost, colour: "red"}]}, []),
            m.replyProblem("findAll", {...reply, v: 2, entities: [ghost]}, []),
            m.replyProblem("findAll", reply, []),
        ])""",
        [reply, ghost],
    )
    assert problems[0] == ""
    assert all(problems[1:]), problems
    assert set(wire_fields(Entity)) <= set(shapes["ok"]["find"])
    assert shapes["body"] == wire_fields(ErrorBody)


def pixels(png: bytes, box: dict[str, float]) -> set[tuple[int, int, int]]:
    """The colours of the screenshot inside ``box`` (a bounding box in CSS pixels)."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    area = (box["x"], box["y"], box["x"] + box["width"], box["y"] + box["height"])
    cropped = image.crop(tuple(round(v) for v in area))
    return {colour for _, colour in cropped.getcolors(maxcolors=1 << 20) or []}


def hex_rgb(colour: str) -> tuple[int, int, int]:
    value = int(colour.lstrip("#"), 16)
    return (value >> 16, (value >> 8) & 0xFF, value & 0xFF)


async def test_a_person_sees_the_maze_and_the_outcomes_in_their_colours(
    open_page: OpenPage, server: BoardServer
) -> None:
    page = await playing(open_page, server, "alice")
    await page.wait_for_function("window.pacnet.pacmen().includes('pacman-alice')", timeout=WAIT)
    await asyncio.sleep(300 * MS)  # a few frames drawn
    png = await page.screenshot()
    board = await page.locator("#board").bounding_box()
    table = await page.locator("#calls thead").bounding_box()
    assert board is not None
    assert table is not None
    on_board = pixels(png, board)
    assert WALL in on_board, "no wall blue on the board"
    assert YELLOW in on_board, "no pac-man yellow on the board"
    in_table = pixels(png, table)
    for outcome in Outcome:
        assert hex_rgb(outcome.colour) in in_table, f"{outcome.value}'s colour is not shown"
    assert await page.locator("text=retries: on").is_visible()  # the window's default


@pytest.mark.parametrize("name", ["", "x" * 65], ids=["empty", "65-characters"])
async def test_a_bad_name_is_refused_with_a_message_and_nothing_joins(
    name: str, open_page: OpenPage, server: BoardServer
) -> None:
    urls: list[str] = []
    page = await open_page(f"{http_of(server)}/?name={name}", urls)
    problem = page.locator("#problem")
    await problem.wait_for(state="visible", timeout=WAIT)
    assert "1 to 64 characters" in await problem.inner_text()
    assert await page.locator("#ask input").is_visible()
    await asyncio.sleep(300 * MS)
    assert [url for url in urls if url.startswith("ws")] == []
    assert server.game.sessions == {}
    assert await page.evaluate("window.pacnet.joined") is False


async def test_a_link_without_retries_keeps_its_word_through_the_name_form(
    open_page: OpenPage, server: BoardServer
) -> None:
    """The facilitator hands out /?retries=off for the first exercises; a participant who then
    types a name must still play without retries."""
    page = await open_page(f"{http_of(server)}/?retries=off")
    await page.locator("#ask input[name=name]").fill("carol")
    await page.locator("#ask button").click()
    await page.wait_for_function("window.pacnet && window.pacnet.joined", timeout=WAIT)
    assert "retries=off" in page.url
    assert (await page.evaluate("window.pacnet.retries()"))["on"] is False


async def test_the_page_fetches_nothing_from_another_origin(
    open_page: OpenPage, server: BoardServer
) -> None:
    urls: list[str] = []
    page = await open_page(f"{http_of(server)}/?name=alice", urls)
    await page.wait_for_function("window.pacnet && window.pacnet.joined", timeout=WAIT)
    await asyncio.sleep(1000 * MS)
    origin = http_of(server).removeprefix("http://")
    assert any(url.endswith("/static/classify.json") for url in urls)
    assert any(url.startswith("ws://") for url in urls)
    foreign = [url for url in urls if url.split("://", 1)[1].split("/", 1)[0] != origin]
    assert foreign == []


async def mark(target: Controlled, label: str) -> None:
    """A new exercise begins, as a scenario's step says (``pacnet chaos mark``)."""
    assert target.url is not None
    async with AdminClient(target.url, target.admin.token) as admin:
        assert (await admin.mark(label)).ok


async def press_c(page: Page, server: BoardServer) -> None:
    await page.keyboard.press("c")


async def next_exercise(page: Page, server: BoardServer) -> None:
    await mark(server, "step 3: a request refused")
    exercise = page.locator("#exercise", has_text="exercise 1: step 3: a request refused")
    await exercise.wait_for(timeout=WAIT)


@pytest.mark.parametrize(
    "afresh",
    [
        pytest.param(next_exercise, id="a-new-exercise-starts-the-pages-counts-afresh"),
        pytest.param(press_c, id="the-C-key-starts-the-pages-counts-afresh"),
    ],
)
async def test_the_pages_counts_start_afresh(
    afresh: Callable[[Page, BoardServer], Awaitable[None]],
    open_page: OpenPage,
    start_server: StartServer,
) -> None:
    """The outcomes counted and the latest failures are the exercise's own (the window does
    the same: pacnet/window/hud.py ``follow_exercise``, ``reset_counts``). The feed's first
    word is no new exercise: the join stays counted. A calm board: a ghost's catch would be a
    failure of its own, and the afresh list must be empty of anything but the fault's."""
    server = await start_server(calm=True)
    page = await playing(open_page, server, "alice")
    await page.wait_for_function("window.pacnet.exercise()?.number === 0", timeout=WAIT)
    assert (await counts(page))["findAll"]["FATAL"] == 0
    await switch_on(server, kind="reject", action="findAll", count=2)
    # Both rejections counted (from 0: one may land before a count read after switching on).
    await page.wait_for_function("window.pacnet.counts().findAll.FATAL >= 2", timeout=WAIT)
    await page.locator("#failures li.FATAL").first.wait_for(timeout=WAIT)
    assert (await counts(page))["join"]["SUCCESS"] == 1
    await afresh(page, server)
    await page.wait_for_function("window.pacnet.counts().join.SUCCESS === 0", timeout=WAIT)
    await grows(page, "findAll", Outcome.SUCCESS)
    assert (await counts(page))["findAll"]["FATAL"] == 0
    # The panel shows the fresh counts at its next update (a few times a second).
    await expect(page.locator("#failures li")).to_have_count(0, timeout=WAIT)
    cell = page.locator("#calls tbody tr", has_text="join").locator("td.count.SUCCESS")
    await expect(cell).to_have_text("0", timeout=WAIT)


async def test_the_page_shows_the_faults_on_behind_it_and_the_exercise(
    open_page: OpenPage, server: BoardServer
) -> None:
    """Played through the proxy, the page shows the network's faults and the server's, each
    described as the window and ``pacnet chaos`` describe it, and the server's exercise."""
    assert server.url is not None
    await mark(server, "step 6: a reply lost on the way")
    await switch_on(server, kind="no_reply", action="find")
    async with running_proxy(ProxyConfig(port=0, upstream=server.url, seed=1)) as proxy:
        assert proxy.url is not None
        await switch_on(proxy, kind="drop", direction="reply", probability=0.2)
        http = proxy.url.replace("ws://", "http://").rstrip("/")
        page = await open_page(f"{http}/?name=alice")
        await page.wait_for_function("window.pacnet && window.pacnet.joined", timeout=WAIT)
        on = server.admin.statuses() + proxy.admin.faults.status(time.monotonic())
        described = [status.description for status in on]
        assert "drop reply 20% (network, step 6 DELIVER REPLY)" in described
        for description in described:
            shown = page.locator("#faults-on li.on", has_text=description)
            await shown.wait_for(timeout=WAIT)
        exercise = page.locator("#exercise")
        assert await exercise.inner_text() == "exercise 1: step 6: a reply lost on the way"
        assert (await counts(page))["join"]["SUCCESS"] == 1  # the first word is no new exercise
        await switch_on(server, kind="reject", action="find")  # a third, while the page is open
        await page.locator("#faults-on li.on", has_text="reject").wait_for(timeout=WAIT)


async def test_the_page_reports_its_outcomes_for_the_projector(
    open_page: OpenPage, server: BoardServer
) -> None:
    """Only the page knows how its calls ended: it reports them every second, and the server's
    room (the projector's /room feed) shows them, never more than the page counted."""
    page = await playing(open_page, server, "alice")
    await switch_on(server, kind="reject", action="findAll", count=3)
    await page.wait_for_function(  # from zero: the fault may have fired before a count is read
        "window.pacnet.counts().findAll.FATAL >= 3", timeout=WAIT
    )
    async with asyncio.timeout(WAIT / 1000):
        while True:
            room = server.game.reports.view(time.monotonic())
            mine = [p for p in room.players if p.user_id == "alice"]
            reported = {(c.action, c.outcome): c.calls for c in mine[0].counts} if mine else {}
            if reported.get(("findAll", Outcome.FATAL)) == 3:
                break
            await asyncio.sleep(0.1)
    counted = await counts(page)
    assert 0 < reported[("findAll", Outcome.SUCCESS)] <= counted["findAll"]["SUCCESS"]
    assert "report" not in counted  # a report is not one of the page's counted calls


async def test_c_clears_the_pages_screen_not_what_the_room_hears(
    open_page: OpenPage, server: BoardServer
) -> None:
    """The room's totals are cumulative over the exercise: a player's C must not take calls
    away from what the projector shows, only from their own screen."""
    page = await playing(open_page, server, "alice")

    def alice() -> tuple[int, int]:
        view = server.game.reports.view(time.monotonic())
        for player in view.players:
            if player.user_id == "alice":
                found = sum(c.calls for c in player.counts if c.outcome is Outcome.SUCCESS)
                return player.seq, found
        return 0, 0

    async def reports_after(seq: int, more: int) -> int:
        async with asyncio.timeout(WAIT / 1000):
            while True:
                now, found = alice()
                if now >= seq + more:
                    return found
                await asyncio.sleep(0.05)

    await reports_after(0, 1)  # the first report: its number is the clock's
    before = await reports_after(alice()[0], 3)  # three seconds of calls later
    assert before > 0
    await page.keyboard.press("c")
    await page.wait_for_function("window.pacnet.counts().join.SUCCESS === 0", timeout=WAIT)
    after = await reports_after(alice()[0], 1)  # a second of calls: fewer than three seconds'

    assert after > before, "the room still counts the calls C cleared from the screen"
