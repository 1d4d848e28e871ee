"""The client's classification against real peers that misbehave in specific ways.

The peers here are real WebSocket servers on 127.0.0.1 whose handlers do the wrong thing
on purpose (a corrupt reply, another version, silence, a slammed door): the server-side
fault injection of a later issue will produce the same conditions from the real server.
"""

import asyncio
import json
import signal
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

from pacnet.client.remote import RemoteBoard
from pacnet.client.timeouts import Timeouts
from pacnet.protocol.errors import ErrorCode
from pacnet.protocol.outcome import Outcome, Step
from pacnet.server.net import BoardServer
from tests.conftest import MS, ServerProcess

FAST = Timeouts(connect=500 * MS, reply=300 * MS)

Handler = Callable[[ServerConnection], Awaitable[None]]


@asynccontextmanager
async def peer(handler: Handler, **options: Any) -> AsyncIterator[str]:
    """A WebSocket server on a free port running ``handler`` for each connection."""
    async with serve(handler, "127.0.0.1", 0, **options) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}"


def replying(make_reply: Callable[[dict[str, Any]], str | bytes]) -> Handler:
    async def handler(ws: ServerConnection) -> None:
        async for raw in ws:
            await ws.send(make_reply(json.loads(raw)))

    return handler


def ok_find(request: dict[str, Any], **changes: Any) -> str:
    reply = {"v": 1, "requestId": request["requestId"], "status": "ok", "clock": 1,
             "name": "pacman-u", "kind": ":pacman", "xPos": 1, "yPos": 2}  # fmt: skip
    return json.dumps({**reply, **changes})


async def find_via(url: str) -> Any:
    async with RemoteBoard(url, "u", timeouts=FAST) as board:
        return await board.find("pacman")


async def test_a_well_formed_reply_is_success() -> None:
    async with peer(replying(ok_find)) as url:
        result = await find_via(url)
    assert result.outcome is Outcome.SUCCESS
    assert result.reply.x_pos == 1


async def test_a_corrupt_reply_is_unknown_at_validate_reply() -> None:
    async with peer(replying(lambda r: '{"v": 1, "requestId": "' + r["requestId"][:3])) as url:
        result = await find_via(url)
    assert result.outcome is Outcome.UNKNOWN
    assert result.step is Step.VALIDATE_REPLY


async def test_a_reply_of_the_wrong_shape_is_unknown_at_validate_reply() -> None:
    async with peer(replying(lambda r: ok_find(r, xPos="one"))) as url:
        result = await find_via(url)
    assert result.outcome is Outcome.UNKNOWN
    assert result.step is Step.VALIDATE_REPLY
    assert "xPos" in result.message


async def test_a_reply_of_another_version_is_unknown_not_fatal() -> None:
    """Even an "error" in a version we do not speak cannot be trusted to mean what v1 means."""
    error = {"status": "error", "error": {"code": "FORBIDDEN", "retryable": False, "message": "x"}}

    def version_2(request: dict[str, Any]) -> str:
        return json.dumps({"v": 2, "requestId": request["requestId"], "clock": 1, **error})

    async with peer(replying(version_2)) as url:
        result = await find_via(url)
    assert result.outcome is Outcome.UNKNOWN
    assert result.step is Step.VALIDATE_REPLY


async def test_an_error_reply_without_request_id_belongs_to_the_only_call_in_flight() -> None:
    body = {"code": "INVALID_MESSAGE", "retryable": False, "message": "garbled"}
    error = {"v": 1, "requestId": None, "clock": 1, "status": "error", "error": body}
    async with peer(replying(lambda r: json.dumps(error))) as url:
        result = await find_via(url)
    assert result.outcome is Outcome.FATAL
    assert result.code is ErrorCode.INVALID_MESSAGE


async def test_a_peer_that_hangs_up_after_receiving_is_unknown() -> None:
    async def hang_up(ws: ServerConnection) -> None:
        await ws.recv()
        await ws.close(1011, "crashed")

    async with peer(hang_up) as url, RemoteBoard(url, "u", timeouts=FAST) as board:
        lost = await board.find("pacman")
        after = await board.find("pacman")
    assert lost.outcome is Outcome.UNKNOWN
    assert "1011" in lost.message
    assert after.outcome is Outcome.POST_FAILED  # known closed: nothing was sent
    assert after.step is Step.POST_REQUEST


async def test_a_rejected_handshake_is_post_failed() -> None:
    def reject(connection: ServerConnection, request: Request) -> Response:
        return connection.respond(403, "no\n")

    async with peer(replying(ok_find), process_request=reject) as url:
        result = await find_via(url)
    assert result.outcome is Outcome.POST_FAILED
    assert "403" in result.message


async def test_a_listener_that_never_handshakes_is_post_failed() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        result = await find_via(f"ws://127.0.0.1:{listener.getsockname()[1]}")
    assert result.outcome is Outcome.POST_FAILED
    assert "handshake" in result.message


async def test_many_calls_in_flight_on_one_connection_get_their_own_replies() -> None:
    async def out_of_order(ws: ServerConnection) -> None:
        batch = [json.loads(await ws.recv()) for _ in range(5)]
        for _i, request in reversed(list(enumerate(batch))):
            await ws.send(ok_find(request, xPos=int(request["name"][1:])))

    async with peer(out_of_order) as url, RemoteBoard(url, "u", timeouts=FAST) as board:
        results = await asyncio.gather(*(board.find(f"p{i}") for i in range(5)))
    assert [r.reply.x_pos for r in results] == [0, 1, 2, 3, 4]


async def test_a_reply_after_the_deadline_is_counted_late_not_misdelivered() -> None:
    async def slow_then_fast(ws: ServerConnection) -> None:
        first = json.loads(await ws.recv())
        await asyncio.sleep(400 * MS)
        await ws.send(ok_find(first, xPos=9))
        second = json.loads(await ws.recv())
        await ws.send(ok_find(second, xPos=5))

    async with peer(slow_then_fast) as url, RemoteBoard(url, "u", timeouts=FAST) as board:
        slow = await board.find("pacman")
        await asyncio.sleep(200 * MS)
        fast = await board.find("pacman")
        late = board._connection.statistics.late_replies if board._connection else -1
    assert slow.outcome is Outcome.UNKNOWN
    assert fast.reply.x_pos == 5
    assert late == 1


async def test_a_killed_server_process_is_unknown_for_calls_in_flight(
    server_process: Callable[..., ServerProcess],
) -> None:
    process = server_process()
    async with RemoteBoard(process.url, "u", timeouts=Timeouts(reply=5.0)) as board:
        assert (await board.join()).ok
        process.signal(signal.SIGSTOP)
        in_flight = asyncio.create_task(board.move("pacman", "left"))
        await asyncio.sleep(100 * MS)
        process.signal(signal.SIGKILL)
        result = await in_flight
    assert result.outcome is Outcome.UNKNOWN
    assert result.latency < 4.0


async def test_every_call_reports_its_latency(server: BoardServer) -> None:
    async with RemoteBoard(server.url or "", "u") as board:
        results = [await board.join(), await board.find("pacman"), await board.ping()]
    assert all(0 < r.latency < 1.0 for r in results)
    assert board.tally.total() == 3
    stats = board.statistics()
    assert stats["calls"]["find SUCCESS"] == 1
    assert stats["transport"]["replies"] == 3
    assert board.tally.count("find", Outcome.SUCCESS) == 1
