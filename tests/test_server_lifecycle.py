"""The server over time: the article's example, keepalive expiry, shutdown by signal."""

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedOK

from pacnet.client.remote import RemoteBoard
from pacnet.protocol.errors import ErrorCode
from pacnet.protocol.outcome import Outcome
from pacnet.server.config import ServerConfig
from pacnet.server.embedded import CannotStart, board_url
from pacnet.server.net import BoardServer
from tests.conftest import MS, ROOT, RawClient, ServerProcess, StartServer

OpenRaw = Callable[[str], Awaitable[RawClient]]


async def test_the_articles_find_message_is_answered_with_position_and_clock(
    server: BoardServer, raw_client: OpenRaw
) -> None:
    client = await raw_client(server.url or "")
    await client.call("8765309", "join")
    reply = await client.send(
        '{"v": 1, "requestId": "c7-42", "action": "find", "name": "pacman", "userId": "8765309"}'
    )
    start = server.game.board.layout.pacman_start
    assert reply["status"] == "ok"
    assert reply["requestId"] == "c7-42"
    assert (reply["xPos"], reply["yPos"]) == start
    assert isinstance(reply["clock"], int)
    assert reply["clock"] >= 0


async def test_board_clock_is_monotonic_across_replies(server: BoardServer) -> None:
    async with RemoteBoard(server.url or "", "8765309") as board:
        await board.join()
        clocks = []
        for _ in range(5):
            result = await board.find("pacman")
            assert result.reply is not None
            clocks.append(result.reply.clock)
            await asyncio.sleep(20 * MS)
    assert clocks == sorted(clocks)
    assert clocks[-1] > clocks[0]


async def test_a_silent_user_is_expired_and_then_not_found(start_server: StartServer) -> None:
    server = await start_server(keepalive_timeout=300 * MS)
    url = server.url or ""
    async with RemoteBoard(url, "quiet") as quiet, RemoteBoard(url, "chatty") as chatty:
        assert (await quiet.join()).ok
        assert (await chatty.join()).ok
        for _ in range(6):  # chatty keeps itself alive; quiet says nothing
            await asyncio.sleep(100 * MS)
            assert (await chatty.ping()).ok
        late = await quiet.find("pacman")
        pacmen = await chatty.find_all(":pacman")
    assert late.outcome is Outcome.FATAL
    assert late.code is ErrorCode.USER_NOT_FOUND
    assert pacmen.reply is not None
    assert [e.name for e in pacmen.reply.entities] == ["pacman-chatty"]


async def test_any_call_keeps_a_user_alive(start_server: StartServer) -> None:
    server = await start_server(keepalive_timeout=300 * MS)
    async with RemoteBoard(server.url or "", "busy") as board:
        await board.join()
        for _ in range(6):
            await asyncio.sleep(100 * MS)
            assert (await board.find_all(":ghost")).ok


async def test_an_expired_user_may_join_again(start_server: StartServer) -> None:
    server = await start_server(keepalive_timeout=100 * MS)
    async with RemoteBoard(server.url or "", "8765309") as board:
        first = await board.join()
        await asyncio.sleep(300 * MS)
        resume = await board.join(token=first.reply.session_token if first.reply else None)
        again = await board.join()
    assert resume.code is ErrorCode.USER_NOT_FOUND  # the session it names is gone
    assert again.ok
    assert again.reply
    assert first.reply
    assert again.reply.session_token != first.reply.session_token


def test_sigterm_closes_connections_going_away_and_exits_zero(
    server_process: Callable[..., ServerProcess],
) -> None:
    process = server_process()

    async def connect_then_terminate() -> int | None:
        async with connect(process.url) as ws:
            await ws.send(json.dumps({"v": 1, "requestId": "1", "userId": "u", "action": "join"}))
            await ws.recv()
            process.signal(signal.SIGTERM)
            try:
                await ws.recv()
            except ConnectionClosedOK as closed:
                return closed.rcvd.code if closed.rcvd else None
        return None

    assert asyncio.run(connect_then_terminate()) == 1001
    assert process.process.wait(timeout=10) == 0
    events = [e["event"] for e in process.events()]
    assert events[0] == "server_started"
    assert events[-2:] == ["server_stopping", "server_stopped"]


def test_sigint_exits_zero(server_process: Callable[..., ServerProcess]) -> None:
    process = server_process()
    process.signal(signal.SIGINT)
    assert process.process.wait(timeout=10) == 0
    assert "server_stopped" in [e["event"] for e in process.events()]


async def test_failed_requests_are_logged_with_their_ids(
    server_process: Callable[..., ServerProcess],
) -> None:
    process = server_process()
    async with RemoteBoard(process.url, "8765309") as board:
        result = await board.find("pacman")  # never joined
    await asyncio.sleep(100 * MS)
    failures = [e for e in process.events() if e["event"] == "request_failed"]
    assert failures, process.events()
    logged = failures[-1]
    assert logged["requestId"] == result.request_id
    assert logged["userId"] == "8765309"
    assert logged["action"] == "find"
    assert logged["code"] == "USER_NOT_FOUND"
    assert isinstance(logged["latencyMs"], float)


async def test_successful_requests_are_not_logged(
    server_process: Callable[..., ServerProcess],
) -> None:
    process = server_process()
    async with RemoteBoard(process.url, "8765309") as board:
        await board.join()
        for _ in range(10):
            await board.find("pacman")
    await asyncio.sleep(100 * MS)
    assert [e["event"] for e in process.events()] == ["server_started"]


def test_a_server_whose_stderr_is_closed_still_stops_on_sigterm(tmp_path: Path) -> None:
    """``pacnet serve 2>&1 | head -1``, then ``kill -TERM``: the log's pipe has no reader, and
    the server still stops, promptly and with status 0."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pacnet", "serve", "--no-state", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT,
    )  # fmt: skip
    assert process.stdout is not None
    assert process.stdout.readline()  # the first line, as head -1 reads it
    process.stdout.close()  # head exits: nobody reads the pipe any more
    time.sleep(0.3)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


async def test_a_command_plays_on_its_server_flag_or_on_an_embedded_server() -> None:
    config = ServerConfig(port=0, layout="small")
    async with board_url("ws://192.0.2.1:9", config) as url:
        assert url == "ws://192.0.2.1:9"  # given: nothing is started
    async with board_url(None, config) as url, RemoteBoard(url, "8765309") as board:
        assert (await board.join()).ok


async def test_an_embedded_server_that_cannot_start_is_one_line_for_the_command() -> None:
    # An address this machine does not have (TEST-NET-1): listening on it fails at once.
    config = ServerConfig(host="192.0.2.1", port=0, layout="small")
    with pytest.raises(CannotStart, match=r"^cannot start the embedded server: \S"):
        async with board_url(None, config):
            raise AssertionError("no server, no block")
