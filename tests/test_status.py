"""``pacnet status``: the server's suspects beside what the network sees of them, with real
users behind a real proxy (one cut off, one paused, one held up, one fine)."""

import argparse
import asyncio
import io

import pytest
from rich.console import Console

from pacnet.client.remote import RemoteBoard
from pacnet.client.timeouts import Timeouts
from pacnet.protocol.feeds import KeepaliveEntry, TrafficEntry
from pacnet.proxy.config import ProxyConfig
from pacnet.proxy.relay import running_proxy
from pacnet.status.table import really, run_status
from tests.conftest import MS, StartServer, switch_on


def suspect(silent: float = 3.0) -> KeepaliveEntry:
    return KeepaliveEntry(
        user_id="u", silent_s=silent, expires_in_s=10 - silent, suspected=True, connected=True
    )


def heard(heard_s: float, passed_s: float | None, held: int = 0) -> TrafficEntry:
    return TrafficEntry(user_id="u", heard_s=heard_s, passed_s=passed_s, held=held)


@pytest.mark.parametrize(
    ("entry", "traffic", "proxy", "words"),
    [
        (suspect(0.1).model_copy(update={"suspected": False}), None, True, "alive: the server"),
        (suspect(), None, False, "unknown: the server sees only silence"),
        (suspect(), heard(3.0, 3.0), True, "silent at the proxy too"),
        (suspect(), heard(0.1, 3.0, held=4), True, "alive and slow"),
        (suspect(), heard(0.1, 3.0), True, "alive, cut off"),
        (suspect(), heard(0.1, None), True, "alive, cut off"),
        (suspect(), heard(0.1, 0.1), True, "pass the proxy, yet the server does not hear"),
    ],
)
def test_what_is_really_happening_from_silence_and_the_proxys_view(
    entry: KeepaliveEntry, traffic: TrafficEntry | None, proxy: bool, words: str
) -> None:
    assert words in really(entry, traffic, proxy, suspect_after=2.0)


async def keep_calling(board: RemoteBoard) -> None:
    while True:
        await board.ping()
        await asyncio.sleep(50 * MS)


async def test_the_status_table_tells_cut_off_paused_slow_and_fine_apart(
    start_server: StartServer,
) -> None:
    server = await start_server(keepalive_timeout=3.0)  # suspects after 0.6 s of silence
    assert server.url is not None
    async with running_proxy(ProxyConfig(port=0, upstream=server.url, seed=1)) as proxy:
        assert proxy.url is not None
        boards = {
            name: RemoteBoard(proxy.url, name, timeouts=Timeouts(reply=100 * MS))
            for name in ("alice", "bob", "carol", "dave")
        }
        for board in boards.values():
            assert (await board.join()).ok
        await switch_on(proxy, kind="blackhole", user="alice")
        await switch_on(proxy, kind="delay", direction="request", user="carol", delayMs=5000)
        callers = [asyncio.create_task(keep_calling(boards[n])) for n in ("alice", "carol", "dave")]
        try:
            await asyncio.sleep(1500 * MS)  # bob, paused, says nothing at all
            out = io.StringIO()
            args = argparse.Namespace(server=server.url, room=None, proxy=proxy.url, once=True)
            assert await run_status(args, Console(file=out, width=250)) == 0
        finally:
            for caller in callers:
                caller.cancel()
            for board in boards.values():
                await board.close()
    table = {
        line.split("│")[1].strip(): line
        for line in out.getvalue().splitlines()
        if line.count("│") > 3
    }
    assert "alive, cut off: the network loses its requests" in table["alice"]
    assert "silent at the proxy too" in table["bob"]
    assert "alive and slow: its requests are held on the way" in table["carol"]
    assert "alive: the server hears from them" in table["dave"]
    assert "4 users in room main, 3 suspected" in out.getvalue()
