"""The demo's loop against a real in-process server, with the board arranged by the test."""

import asyncio
import io

from rich.console import Console

from pacnet.client.remote import RemoteBoard
from pacnet.demo.loop import run_demo
from pacnet.demo.settings import DemoSettings
from pacnet.protocol.errors import ErrorCode
from pacnet.protocol.outcome import Outcome
from tests.conftest import MS, StartServer, ghost_at_start


async def test_the_demo_removes_its_pacman_when_a_ghost_is_on_it(
    start_server: StartServer,
) -> None:
    # A board that ticks every 5 s: the server's own referee stays out of the way, so this is
    # the article's client-side path (findAll, overlap, remove).
    server = await start_server(tick_rate=0.2)
    ghost_at_start(server)
    out = io.StringIO()
    report = await run_demo(
        server.url or "", DemoSettings(iterations=1, interval=0, seed=1), Console(file=out)
    )
    assert "slain by blinky; removed=True" in out.getvalue()
    assert report.deaths == 1
    assert report.tally.count("remove", Outcome.SUCCESS) == 1
    assert report.tally.count("join", Outcome.SUCCESS) == 2


async def test_the_demo_eats_a_frightened_ghost_rather_than_removing_its_pacman(
    start_server: StartServer,
) -> None:
    server = await start_server(tick_rate=0.2)
    ghost_at_start(server, "frightened")
    report = await run_demo(
        server.url or "",
        DemoSettings(iterations=1, interval=0, seed=1),
        Console(file=io.StringIO()),
    )
    assert report.deaths == 0
    assert report.tally.total("remove") == 0


async def test_a_client_that_never_calls_remove_is_still_caught(start_server: StartServer) -> None:
    server = await start_server()
    ghost_at_start(server)
    async with RemoteBoard(server.url or "", "careless") as remote:
        assert (await remote.join()).ok
        await asyncio.sleep(100 * MS)  # a few ticks: the server referees
        found = await remote.find("pacman")
    assert found.code is ErrorCode.NOT_FOUND
    assert "caught" in found.message


async def test_the_demo_counts_every_call_it_prints(start_server: StartServer) -> None:
    server = await start_server()
    out = io.StringIO()
    report = await run_demo(
        server.url or "", DemoSettings(iterations=5, interval=0, seed=3), Console(file=out)
    )
    printed = [line for line in out.getvalue().splitlines() if "SUCCESS" in line and "ms" in line]
    assert len(printed) == report.tally.total() - 1  # all but the final leave
    assert report.tally.count("find", Outcome.SUCCESS) == 5
