"""docs/failure-modes.md's table, row by row, held to the page to play (``pacnet/web/static/``).

``tests/test_failure_modes.py`` holds the Python client to every row; this holds the browser
to the same rows, read by the same parser. Each row gets one page in a real Chromium: its fault
is switched on in its own domain (the server's ``/admin``; for the network's, the ``/admin`` of
a proxy the page plays through; for the client's, the page's own F7 and F8 keys), aimed at one
call at a time with ``count`` 1, and the page must count that call with the row's outcome. The
loop makes ``move`` and ``findAll`` by itself; ``find`` (which it never makes) and ``remove``
(which it makes only when a ghost is on its pac-man) are asked for through its test hook, and
the loop makes them at its next turn like its own calls.
"""

import asyncio
import itertools
from contextlib import AsyncExitStack

import pytest
from playwright.async_api import Page

from pacnet.faults.spec import Domain
from pacnet.proxy.config import ProxyConfig
from pacnet.proxy.relay import running_proxy
from tests.conftest import MS, Controlled, StartServer, switch_on
from tests.test_failure_modes import ROWS, Row
from tests.test_web_page import WAIT, OpenPage, counts

# The browser's fixtures live beside the page's other tests, not in conftest.py: imported
# under their own names, for pytest to find them here too.
from tests.test_web_page import browser as browser
from tests.test_web_page import open_page as open_page

CALLS = ("find", "move", "findAll", "remove")
"""The article's four calls, in the order each page makes them (``remove`` last: it takes a
life, and the pac-man is off the board for a moment)."""
ASKED = {"find": {"name": "pacman"}, "remove": {"name": "pacman"}}
"""The calls asked for through the page's hook, with their fields."""
MOVE = {"name": "pacman", "direction": "right"}
"""A move asked for when every call fails alike (a client fault, a refused connection): the
loop moves only a pac-man it has seen, and a page cut off sees nothing."""
KEYS = {"offline": "F7", "apply_fails": "F8"}
"""The client's faults, by kind: the page's keys that switch them."""


def sentence(row: Row) -> str:
    """The row as a test id: ``drop-reply-at-step-6-in-the-network-is-UNKNOWN-on-the-page``."""
    where = f"at step {row.step} in the {row.domain.value}"
    return f"{row.name} {where} is {row.outcome.value} on the page".replace(" ", "-")


def calls_of(row: Row) -> tuple[str, ...]:
    """A crash in ``exit`` mode ends the embedded server's listening: one call, the first."""
    return CALLS[:1] if row.fault.get("crash") == "exit" else CALLS


@pytest.mark.parametrize("row", ROWS, ids=sentence)
async def test_the_page_counts_the_outcome_the_table_says(
    row: Row, open_page: OpenPage, start_server: StartServer
) -> None:
    server = await start_server(calm=True)  # no catch: our pac-man stays to be moved
    async with AsyncExitStack() as stack:
        target: Controlled = server
        if row.domain is Domain.NETWORK:
            assert server.url is not None
            config = ProxyConfig(port=0, upstream=server.url, seed=1)
            target = await stack.enter_async_context(running_proxy(config))
        assert target.url is not None
        http = target.url.replace("ws://", "http://").rstrip("/")
        page = await open_page(f"{http}/?name=alice&retries=off")  # each call its first outcome
        await page.wait_for_function("window.pacnet && window.pacnet.joined", timeout=WAIT)
        await page.keyboard.press("ArrowRight")  # from now on the loop moves every turn
        if row.fault["kind"] == "refuse":
            await refused(page, target)
        elif row.domain is Domain.CLIENT:
            # The page moves only a pac-man it has seen: once the fault is on it sees no more.
            await page.wait_for_function(
                "window.pacnet.pacmen().includes('pacman-alice')", timeout=WAIT
            )
            await page.keyboard.press(KEYS[row.fault["kind"]])
        for action in calls_of(row):
            await counted(page, row, action, target)


async def refused(page: Page, proxy: Controlled) -> None:
    """Refuse every new connection, then cut the page's: it can connect no more."""
    await switch_on(proxy, kind="refuse")
    await switch_on(proxy, kind="reset", direction="request", count=1)
    await page.wait_for_function("!window.pacnet.playing", timeout=WAIT)


async def counted(page: Page, row: Row, action: str, target: Controlled) -> None:
    """Aim the row's fault at the page's next ``action`` and wait until the page has counted
    one more ``action`` ending the row's outcome (and the fault has fired)."""
    aimed = row.domain is not Domain.CLIENT and row.fault["kind"] != "refuse"
    if aimed:  # a connection cut by the fault before is joined again first
        await page.wait_for_function(
            "window.pacnet.playing && window.pacnet.pacmen().includes('pacman-alice')",
            timeout=WAIT,
        )
    for _ in range(3):
        seen = (await counts(page))[action]
        before, unknown = seen[row.outcome.value], seen["UNKNOWN"]
        fault_id = await switch_on(target, **row.fault, action=action, count=1) if aimed else None
        asked = ASKED.get(action) or (MOVE if action == "move" and not aimed else None)
        if asked is not None:
            result = await page.evaluate("([a, f]) => window.pacnet.call(a, f)", [action, asked])
            # (UNKNOWN is judged below: only a request corrupted past reading may end so. A
            # SUCCESS means the page's own loop made the same call first and the fault, aimed
            # at one call, hit that one: the wait below still needs the page to count it.)
            assert result["outcome"] in (row.outcome.value, "UNKNOWN", "SUCCESS"), result
        counted_as = f"window.pacnet.counts()[{action!r}]"
        await page.wait_for_function(
            f"{counted_as}[{row.outcome.value!r}] > {before} || {counted_as}.UNKNOWN > {unknown}",
            timeout=WAIT,
        )
        if fault_id is not None:
            await spent(target, fault_id)
        if (await counts(page))[action][row.outcome.value] > before:
            return
        # Only a request corrupted past reading can end here: the server could not read its
        # requestId, and with the page's report in flight beside the call the refusal belongs
        # to neither for sure, so the call ends UNKNOWN, as the protocol says it must. Again.
        unreadable = row.fault["kind"] == "corrupt" and row.fault["corruption"] != "schema"
        assert unreadable, f"{action} ended UNKNOWN"
    pytest.fail(f"{action} never ended {row.outcome.value} in three tries")


async def spent(target: Controlled, fault_id: str) -> None:
    """Wait until the fault has fired its one time (a spent fault leaves the list)."""
    async with asyncio.timeout(WAIT / 1000):
        for _ in itertools.count():
            if all(status.fault.id != fault_id for status in target.admin.statuses()):
                return
            await asyncio.sleep(20 * MS)
