"""Each of the article's four calls ending in each of the five outcomes: 20 cases, each
provoked by a real condition over real sockets."""

import signal
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from pacnet.client.remote import CallResult, RemoteBoard
from pacnet.client.timeouts import Timeouts
from pacnet.protocol.errors import ErrorCode
from pacnet.protocol.models import OkReply
from pacnet.protocol.outcome import Outcome, Step
from tests.conftest import MS, ServerProcess, StartServer

Call = Callable[[RemoteBoard], Awaitable[CallResult[OkReply]]]

CALLS: dict[str, Call] = {
    "find": lambda board: board.find("pacman"),
    "move": lambda board: board.move("pacman", "left"),
    "findAll": lambda board: board.find_all(":ghost"),
    "remove": lambda board: board.remove("pacman"),
}

FAST = Timeouts(connect=2.0, reply=300 * MS)


@pytest.mark.parametrize("action", CALLS)
async def test_call_on_a_live_server_is_success(server: Any, action: str) -> None:
    async with RemoteBoard(server.url, "8765309", timeouts=FAST) as board:
        assert (await board.join()).ok
        result = await CALLS[action](board)
    assert result.outcome is Outcome.SUCCESS, result.describe()
    assert result.reply is not None
    assert result.code is None
    assert result.message == ""


@pytest.mark.parametrize("action", CALLS)
async def test_call_to_a_closed_port_is_post_failed(closed_port: int, action: str) -> None:
    async with RemoteBoard(f"ws://127.0.0.1:{closed_port}", "8765309", timeouts=FAST) as board:
        result = await CALLS[action](board)
    assert result.outcome is Outcome.POST_FAILED
    assert result.step is Step.POST_REQUEST
    assert "connection refused" in result.message


@pytest.mark.parametrize("action", CALLS)
async def test_call_past_the_throttle_is_retryable(start_server: StartServer, action: str) -> None:
    server = await start_server(rate=0.5, burst=2)
    async with RemoteBoard(server.url, "8765309", timeouts=FAST) as board:
        assert (await board.join()).ok
        assert (await board.ping()).ok
        assert (await board.ping()).ok  # the user's burst is spent
        result = await CALLS[action](board)
    assert result.outcome is Outcome.RETRYABLE, result.describe()
    assert result.code is ErrorCode.THROTTLED
    assert result.retry_after is not None
    assert 0 < result.retry_after <= 2.0


@pytest.mark.parametrize("action", CALLS)
async def test_call_as_a_user_who_never_joined_is_fatal(server: Any, action: str) -> None:
    async with RemoteBoard(server.url, "8765309", timeouts=FAST) as board:
        result = await CALLS[action](board)
    assert result.outcome is Outcome.FATAL
    assert result.code is ErrorCode.USER_NOT_FOUND
    assert result.step is Step.VALIDATE_REQUEST


async def while_stopped(
    process: ServerProcess, call: Call, board: RemoteBoard
) -> CallResult[OkReply]:
    """Make ``call`` while the server process is frozen with SIGSTOP; it resumes afterwards."""
    process.signal(signal.SIGSTOP)
    try:
        return await call(board)
    finally:
        process.signal(signal.SIGCONT)


@pytest.mark.parametrize("action", CALLS)
async def test_call_to_a_stopped_server_is_unknown(
    server_process: Callable[..., ServerProcess], action: str
) -> None:
    process = server_process()
    async with RemoteBoard(process.url, "8765309", timeouts=FAST) as board:
        assert (await board.join()).ok
        result = await while_stopped(process, CALLS[action], board)
        assert result.outcome is Outcome.UNKNOWN, result.describe()
        assert result.step is None  # the client cannot tell where it died
        assert result.message == f"no reply in {round(300 * MS * 1000)} ms"
        # The server resumes and answers again on the same connection.
        assert (await board.ping()).ok


async def test_unknown_remove_was_applied_once_the_stopped_server_resumed(
    server_process: Callable[..., ServerProcess],
) -> None:
    """UNKNOWN means "maybe": the request sat in the stopped server's socket buffer."""
    process = server_process()
    async with RemoteBoard(process.url, "8765309", timeouts=FAST) as board:
        assert (await board.join()).ok
        removed = await while_stopped(process, CALLS["remove"], board)
        assert removed.outcome is Outcome.UNKNOWN
        after = await board.find("pacman")
    assert after.code is ErrorCode.NOT_FOUND  # it happened after all
