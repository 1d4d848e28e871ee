"""The page's retries (R), in a real headless Chromium against a real server, as the window
has them (``pacnet/window/hud.py``, ``pacnet/client/retry.py``).

What a player notices: with retries on (the default) a lost reply is answered by a retry and
the UNKNOWNs are gone, while the server still applies each move once; with them off, the
UNKNOWNs show; when most replies are lost the budget pauses the retries and the page says so.
"""

import asyncio
import time
from collections import Counter

from playwright.async_api import Page

from pacnet.protocol.outcome import Outcome
from pacnet.server.net import BoardServer
from pacnet.server.pipeline import Exchange, Stage
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
    UNKNOWN. C starts the attempts afresh too."""
    applied = MovesApplied()
    server = await start_server(calm=True, hooks=(applied,))
    page = await play(open_page, server)
    await page.keyboard.press("ArrowRight")  # from now on the loop moves every turn
    await switch_on(server, kind="no_reply", action="move", probability=0.1)
    await page.wait_for_function("window.pacnet.attempts().move.UNKNOWN >= 4", timeout=WAIT)
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
    assert await page.locator("#calls td.count.UNKNOWN:not(.none)").count() >= 1


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
            room = server.game.room.view(time.monotonic())
            mine = [p for p in room.players if p.user_id == "alice"]
            reported = {(c.action, c.outcome): c.calls for c in mine[0].counts} if mine else {}
            if sum(reported.values()) >= since:
                break
            await asyncio.sleep(0.1)
    assert ("findAll", Outcome.RETRYABLE) not in reported
    assert sum(reported.values()) <= await calls_made(page)
