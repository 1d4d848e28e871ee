"""The page's request inspector (I) and its retries (R), in a real headless Chromium against a
real server, as the window has them (``pacnet/window/hud.py``, ``pacnet/client/retry.py``).

What a player notices: with retries on (the default) a lost reply is answered by a retry and
the UNKNOWNs are gone, while the server still applies each move once; with them off, the
UNKNOWNs show; when most replies are lost the budget pauses the retries and the page says so;
a one-off failure stays pinned in the inspector until U; P freezes its rows.
"""

import asyncio
import time
from collections import Counter
from contextlib import AsyncExitStack
from pathlib import Path

from playwright.async_api import Page, expect

from pacnet.protocol.outcome import Outcome, Step
from pacnet.server.config import ServerConfig
from pacnet.server.embedded import running_server
from pacnet.server.net import BoardServer
from pacnet.server.pipeline import Exchange, Stage
from pacnet.trace.steps import STEP_DOMAINS, strip_of
from pacnet.window.hud import INSPECTED, PINNED
from tests.conftest import StartServer, switch_on
from tests.test_web_page import WAIT, OpenPage, counts, http_of

# The browser's fixtures live beside the page's other tests, not in conftest.py: imported
# under their own names, for pytest to find them here too.
from tests.test_web_page import browser as browser
from tests.test_web_page import open_page as open_page

BUDGET_SPENT = "retry budget spent: retries paused"
"""What the window's calls panel says when the budget is spent (pacnet/window/hud.py)."""


class MovesApplied:
    """A hook for a real server: how often it came to act on each move (its UPDATE_STATE
    stage; a repeat answered from memory never gets there). It runs before any fault's hook."""

    def __init__(self) -> None:
        self.times: Counter[str] = Counter()

    def __call__(self, stage: Stage, exchange: Exchange) -> None:
        request = exchange.request
        if stage is Stage.UPDATE_STATE and request is not None and request["action"] == "move":
            self.times[request["request_id"]] += 1


async def play(
    open_page: OpenPage, server: BoardServer, query: str = "", name: str = "alice"
) -> Page:
    """A page that has joined as ``name`` and seen its pac-man."""
    page = await open_page(f"{http_of(server)}/?name={name}{query}")
    await page.wait_for_function("window.pacnet && window.pacnet.joined", timeout=WAIT)
    await page.wait_for_function(f"window.pacnet.pacmen().includes('pacman-{name}')", timeout=WAIT)
    return page


async def calls_made(page: Page) -> int:
    made: int = await page.evaluate("window.pacnet.retries().calls")
    return made


async def after_more_calls(page: Page, more: int) -> None:
    """Wait until the page has made ``more`` calls after this one."""
    target = await calls_made(page) + more
    await page.wait_for_function(f"window.pacnet.retries().calls >= {target}", timeout=WAIT)


# --- what the page copies from Python, held to it ------------------------------------------


async def test_the_inspectors_steps_are_lit_as_the_python_client_lights_them(
    open_page: OpenPage, server: BoardServer
) -> None:
    """inspector.js writes pacnet/trace/steps.py's table again; its limits are the window's."""
    page = await open_page(http_of(server))
    steps = [step.name for step in Step]
    page_says = await page.evaluate(
        """async (steps) => {
            const m = await import("/static/inspector.js");
            const outcomes = ["SUCCESS", "POST_FAILED", "RETRYABLE", "FATAL", "UNKNOWN"];
            const strips = {};
            for (const outcome of outcomes)
                for (const step of [null, ...steps])
                    strips[`${outcome} ${step}`] = m.strip(outcome, step, steps);
            return {strips, domains: m.STEP_DOMAINS, inspected: m.INSPECTED, pinned: m.PINNED};
        }""",
        steps,
    )
    python = {
        f"{outcome.value} {step.name if step else 'null'}": "".join(
            known.value for known in strip_of(outcome, step)
        )
        for outcome in Outcome
        for step in (None, *Step)
    }
    assert page_says == {
        "strips": python,
        "domains": [STEP_DOMAINS[step] for step in Step],
        "inspected": INSPECTED,
        "pinned": PINNED,
    }


# --- retries ---------------------------------------------------------------------------------


async def test_retries_are_on_by_default_and_a_key_or_the_address_turns_them_off(
    open_page: OpenPage, server: BoardServer
) -> None:
    page = await play(open_page, server)
    state = page.locator("#retries-state")
    assert await state.inner_text() == "retries: on"
    assert await page.evaluate("window.pacnet.retries().on") is True
    await page.keyboard.press("r")
    await page.locator("#retries-state", has_text="retries: off").wait_for(timeout=WAIT)
    assert await page.evaluate("window.pacnet.retries().on") is False
    await page.keyboard.press("r")
    await page.locator("#retries-state", has_text="retries: on").wait_for(timeout=WAIT)
    off = await play(open_page, server, "&retries=off", name="bob")
    assert await off.locator("#retries-state").inner_text() == "retries: off"
    assert "one attempt per call" in await off.locator("#retries").inner_text()


async def test_with_retries_a_lost_reply_is_answered_and_each_move_applied_once(
    open_page: OpenPage, start_server: StartServer
) -> None:
    """One reply in ten lost: the page sends the move again with its requestId, the server
    answers the copy from memory, the page counts more attempts than calls and hardly an
    UNKNOWN; the inspector marks a retried call x2. C starts the attempts afresh too."""
    applied = MovesApplied()
    server = await start_server(calm=True, hooks=(applied,))
    page = await play(open_page, server)
    await page.keyboard.press("i")
    await page.keyboard.press("ArrowRight")  # from now on the loop moves every turn
    await switch_on(server, kind="no_reply", action="move", probability=0.1)
    await page.wait_for_function("window.pacnet.attempts().move.UNKNOWN >= 4", timeout=WAIT)
    retried = page.locator("#inspector td.outcome", has_text="SUCCESS x")
    await retried.first.wait_for(timeout=WAIT)
    calls, attempts = await page.evaluate("[window.pacnet.counts(), window.pacnet.attempts()]")
    assert calls["move"]["UNKNOWN"] <= 1  # three attempts all lost: one call in a thousand
    assert sum(attempts["move"].values()) > sum(calls["move"].values())
    shown = await page.locator("#retries-count").inner_text()
    tried, called = (int(word) for word in shown.split() if word.isdigit())
    assert tried > called
    assert set(applied.times.values()) == {1}  # every move applied once, retried or not
    assert sum(applied.times.values()) >= calls["move"]["SUCCESS"]
    await page.keyboard.press("c")
    await page.wait_for_function(
        "window.pacnet.retries().attempts < 40 && window.pacnet.retries().calls < 40",
        timeout=WAIT,
    )


async def test_without_retries_lost_replies_show_as_unknown_calls(
    open_page: OpenPage, start_server: StartServer
) -> None:
    server = await start_server(calm=True)
    page = await play(open_page, server, "&retries=off")
    await page.keyboard.press("ArrowRight")
    await switch_on(server, kind="no_reply", action="move", probability=0.1)
    await page.wait_for_function("window.pacnet.counts().move.UNKNOWN >= 3", timeout=WAIT)
    calls, attempts = await page.evaluate("[window.pacnet.counts(), window.pacnet.attempts()]")
    assert attempts == calls  # each call is one attempt
    # The panel shows it at its next update (a few times a second).
    await expect(page.locator("#calls td.count.UNKNOWN:not(.none)").first).to_be_attached(
        timeout=WAIT
    )


async def test_when_most_replies_are_lost_the_budget_pauses_the_retries(
    open_page: OpenPage, start_server: StartServer
) -> None:
    """Half the replies lost: each lost attempt spends a token, a success earns a tenth back,
    and at half full nothing is retried; the page says so in the window's words."""
    server = await start_server(calm=True)
    page = await play(open_page, server)
    assert await page.locator("#retries-paused").inner_text() == ""
    await switch_on(server, kind="no_reply", action="findAll", probability=0.5)
    await page.locator("#retries-paused", has_text=BUDGET_SPENT).wait_for(timeout=WAIT)
    assert await page.evaluate("window.pacnet.retries().paused") is True
    await page.wait_for_function("window.pacnet.counts().findAll.UNKNOWN >= 3", timeout=WAIT)


async def test_the_report_counts_a_retried_call_once_by_how_it_ended(
    open_page: OpenPage, server: BoardServer
) -> None:
    """The room hears of calls, not attempts, as from the window (pacnet/client/report.py): a
    findAll refused once and then answered is one SUCCESS there."""
    page = await play(open_page, server)
    await switch_on(server, kind="update_fails", action="findAll", count=1)
    await page.wait_for_function("window.pacnet.attempts().findAll.RETRYABLE === 1", timeout=WAIT)
    assert (await counts(page))["findAll"]["RETRYABLE"] == 0
    since = await calls_made(page)
    async with asyncio.timeout(WAIT / 1000):
        while True:  # a report made after the retry
            room = server.game.reports.view(time.monotonic())
            mine = [p for p in room.players if p.user_id == "alice"]
            reported = {(c.action, c.outcome): c.calls for c in mine[0].counts} if mine else {}
            if sum(reported.values()) >= since:
                break
            await asyncio.sleep(0.1)
    assert ("findAll", Outcome.RETRYABLE) not in reported
    assert sum(reported.values()) <= await calls_made(page)


# --- the inspector -------------------------------------------------------------------------


async def test_a_one_off_unknown_stays_pinned_in_the_inspector_until_dismissed(
    open_page: OpenPage, start_server: StartServer
) -> None:
    """Three lost replies in a row: one findAll ends UNKNOWN after three attempts, and stays in
    view, steps and all, however many calls come after it; U unpins it."""
    server = await start_server(calm=True)
    page = await play(open_page, server)
    await page.keyboard.press("i")
    await switch_on(server, kind="no_reply", action="findAll", count=3)
    pinned = page.locator("#inspector tr.pinned.UNKNOWN")
    await pinned.wait_for(timeout=WAIT)
    assert await pinned.locator("td.outcome").inner_text() == "UNKNOWN x3"
    cells = await pinned.locator("td.step").evaluate_all("(tds) => tds.map((td) => td.className)")
    lit = "".join(known.value for known in strip_of(Outcome.UNKNOWN, None))
    assert cells == [{"+": "step passed", "?": "step unknown"}[known] for known in lit]
    first = (await page.evaluate("window.pacnet.inspector()"))["rows"][0]
    assert (first["outcome"], first["attempts"], first["steps"], first["pinned"]) == (
        "UNKNOWN", 3, lit, True,
    )  # fmt: skip
    await after_more_calls(page, 100)
    assert await pinned.count() == 1
    rows = (await page.evaluate("window.pacnet.inspector()"))["rows"]
    assert rows[0]["requestId"] == first["requestId"]
    assert len(rows) == INSPECTED
    await page.keyboard.press("u")
    await page.wait_for_function(
        "window.pacnet.inspector().rows.every((row) => !row.pinned)", timeout=WAIT
    )
    await page.locator("#inspector tr.pinned").first.wait_for(state="detached", timeout=WAIT)


async def test_pausing_freezes_the_inspectors_rows_while_play_goes_on(
    open_page: OpenPage, start_server: StartServer
) -> None:
    server = await start_server(calm=True)
    page = await play(open_page, server)
    await page.keyboard.press("i")
    await page.wait_for_function(
        f"document.querySelectorAll('#inspector tbody tr').length === {INSPECTED}", timeout=WAIT
    )
    await page.keyboard.press("p")
    await page.locator("#inspector h2", has_text="PAUSED (P)").wait_for(timeout=WAIT)
    before = (await page.evaluate("window.pacnet.inspector()"))["rows"]
    ids = [row["requestId"] for row in before]
    await after_more_calls(page, 30)
    again = (await page.evaluate("window.pacnet.inspector()"))["rows"]
    # The frozen rows stay as they were; only a failure while paused (a call past its deadline
    # on a busy machine) may still be pinned above them, taking the oldest one's place.
    kept = [row["requestId"] for row in again if not row["pinned"]]
    assert kept
    assert kept == ids[len(ids) - len(kept) :]
    assert len(kept) == len(ids) or any(row["pinned"] for row in again)
    await page.keyboard.press("p")
    await page.wait_for_function(
        f"window.pacnet.inspector().rows.at(-1).requestId !== {ids[-1]!r}", timeout=WAIT
    )
    await expect(page.locator("#inspector h2")).not_to_contain_text("PAUSED", timeout=WAIT)


async def test_at_1920_by_1080_the_inspector_stands_beside_the_board_readable(
    open_page: OpenPage, tmp_path: Path
) -> None:
    """On the classic maze, full HD: the inspector beside the board, none of it over the
    board or cut off, its step names in words as the workshop heads its exercises, every text
    in it at least 13 px; the board keeps most of its size."""
    async with AsyncExitStack() as stack:
        config = ServerConfig(port=0, seed=7, calm=True)  # the classic maze, as in the room
        server = await stack.enter_async_context(running_server(config))
        page = await play(open_page, server)
        await page.set_viewport_size({"width": 1920, "height": 1080})
        closed = await page.locator("#board").bounding_box()
        await switch_on(server, kind="reject", action="findAll", count=1)
        await page.keyboard.press("i")
        await page.locator("#inspector tr.pinned.FATAL").wait_for(timeout=WAIT)
        await page.wait_for_function(
            f"document.querySelectorAll('#inspector tbody tr').length === {INSPECTED}",
            timeout=WAIT,
        )
        await page.screenshot(path=tmp_path / "inspector.png")
        board = await page.locator("#board").bounding_box()
        inspector = await page.locator("#inspector").bounding_box()
        assert closed is not None
        assert board is not None
        assert inspector is not None
        assert board["x"] + board["width"] <= inspector["x"]  # beside, not over
        assert inspector["x"] + inspector["width"] <= 1920 - 480  # the HUD keeps its column
        maze = min(board["width"] / 28, board["height"] / 31)
        assert maze >= 0.85 * min(closed["width"] / 28, closed["height"] / 31)
        names = await page.locator("#inspector th.name").all_inner_texts()
        assert names == [step.name.replace("_", " ") for step in Step]
        layout = await page.evaluate(
            """() => {
                const root = document.querySelector("#inspector");
                const texts = [...root.querySelectorAll("*")].filter(
                    (e) => e.childElementCount === 0 && e.textContent.trim());
                return {
                    cut: root.scrollWidth > root.clientWidth || root.scrollHeight > root.clientHeight,
                    smallest: Math.min(...texts.map((e) => parseFloat(getComputedStyle(e).fontSize))),
                };
            }"""
        )
        assert not layout["cut"]
        assert layout["smallest"] >= 13
