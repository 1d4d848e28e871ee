"""Hostile input over real sockets: every frame gets a definite answer, never INTERNAL, the
connection and the game go on, and a flood of refusals cannot fill the log."""

import asyncio
import json
import string
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect

from pacnet.cmdline.logs import LineQuota
from pacnet.protocol.errors import ErrorCode
from pacnet.server.config import ServerConfig
from pacnet.server.embedded import running_server
from pacnet.server.net import FAILURE_LINES
from tests.conftest import MS, ServerProcess

ACTIONS = ["join", "find", "move", "findAll", "remove", "ping", "leave", "report", "fly", ""]
FIELDS = ["v", "action", "requestId", "userId", "name", "kind", "direction", "seq", "token",
          "exercise", "counts", "x"]  # fmt: skip

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text()
    | st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3),  # lone surrogates
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def request_like(draw: st.DrawFn) -> str:
    """A frame shaped like a request, with any field missing, extra, or of any value."""
    fields: dict[str, Any] = {"v": 1, "requestId": "r", "userId": "fuzz"}
    fields["action"] = draw(st.sampled_from(ACTIONS))
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=5)):
        fields[name] = draw(json_values)
    return json.dumps(fields)


frames = st.one_of(
    request_like(),
    json_values.map(json.dumps),
    st.text(max_size=200),  # anything, JSON or not, lone surrogates included (escaped below)
    st.sampled_from(string.punctuation).map(lambda c: c * 3000),
    st.integers(1, 3000).map(lambda depth: "[" * depth + "]" * depth),
    st.binary(max_size=200),
)


def text_of(frame: str | bytes) -> str | bytes:
    """What a client can put in a text frame: a lone surrogate only as a JSON escape."""
    if isinstance(frame, bytes):
        return frame
    return frame.encode("utf-8", "backslashreplace").decode("utf-8").replace("\\x", "\\u00")


def test_the_quota_lets_a_burst_through_then_counts_and_says_so_once_a_second() -> None:
    quota = LineQuota(rate=10, burst=3)
    allowed = [quota.allow(0.0, "INVALID_MESSAGE") for _ in range(10)]
    assert allowed == [True] * 3 + [False] * 7
    assert quota.suppressed(0.0) == {"INVALID_MESSAGE": 7}
    assert not quota.allow(0.05, "THROTTLED")  # half a token back: not yet
    assert quota.allow(0.1, "THROTTLED")  # a whole one
    assert quota.suppressed(0.5) == {}  # the next summary waits for its second
    assert quota.suppressed(1.0) == {"THROTTLED": 1}
    assert quota.suppressed(5.0) == {}  # nothing more to say


FULL_FUZZ = 5000
"""Frames the full fuzz sends (``-m explore``); the default run sends 300."""


def fuzz(frames_sent: int) -> None:
    """Send ``frames_sent`` hypothesis-made frames of every kind to one server, each on a
    connection of its own followed by a ping: each gets a definite answer, never INTERNAL,
    and the connection still answers."""

    async def exchange(url: str, frame: str | bytes) -> tuple[dict[str, Any], dict[str, Any]]:
        async with connect(url, max_size=None) as ws:
            await ws.send(text_of(frame))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
            await ws.send(
                json.dumps({"v": 1, "requestId": "p", "userId": "fuzz", "action": "ping"})
            )
            after = json.loads(await asyncio.wait_for(ws.recv(), 5))
            return reply, after

    async def run() -> None:
        async with running_server(ServerConfig(port=0, layout="small", seed=1)) as server:
            url = server.url or ""

            @settings(
                max_examples=frames_sent, deadline=None, suppress_health_check=list(HealthCheck)
            )
            @given(frames)
            def check(frame: str | bytes) -> None:
                reply, after = asyncio.run_coroutine_threadsafe(exchange(url, frame), loop).result(
                    30
                )
                assert reply["v"] == 1, reply
                assert reply["status"] in ("ok", "error"), reply
                if reply["status"] == "error":
                    assert reply["error"]["code"] != ErrorCode.INTERNAL.value, (frame, reply)
                assert after["requestId"] == "p"  # the connection still answers

            loop = asyncio.get_running_loop()
            await asyncio.to_thread(check)

    asyncio.run(run())


def test_any_frame_gets_a_definite_answer_and_the_connection_goes_on() -> None:
    fuzz(300)


@pytest.mark.explore
@pytest.mark.timeout(3600)
def test_thousands_of_frames_each_get_a_definite_answer_and_the_connection_goes_on() -> None:
    fuzz(FULL_FUZZ)


def test_a_flood_of_refusals_costs_the_log_a_few_lines_and_a_count(
    server_process: Callable[..., ServerProcess],
) -> None:
    refused = 20_000
    process = server_process()

    async def flood() -> float:
        """Returns the board's ticks a second while the flood was being answered."""
        async with connect(process.url) as ws:
            for i in range(refused):
                await ws.send(f'{{"v": 1, "requestId": "r-{i}", "action": "teleport"}}')
            first = json.loads(await ws.recv())["clock"]
            began = time.monotonic()
            for _ in range(refused - 2):
                await ws.recv()  # every one answered
            last = json.loads(await ws.recv())["clock"]
            ticks_a_second = (last - first) / (time.monotonic() - began)
        await asyncio.sleep(2500 * MS)  # the next summary lines
        return ticks_a_second

    # One connection's flood must not hold the event loop: the tick (60 a second) goes on.
    # (It ran at 2-3 a second when the loop answered a connection's queued frames unbroken.)
    assert asyncio.run(flood()) > 20
    events = process.events()
    failed = [e for e in events if e["event"] == "request_failed"]
    unlogged = [e for e in events if e["event"] == "request_failures_unlogged"]
    assert len(failed) < refused / 4, "most refusals are counted, not written"
    assert len(failed) >= FAILURE_LINES[1], "a burst of them is written"
    assert sum(e["count"] for e in unlogged) + len(failed) == refused
    # Each is refused as invalid, or, once it has waited past --max-wait behind the
    # connection's own earlier frames, as OVERLOADED: either way once, and counted.
    assert all(e["byCode"].keys() <= {"INVALID_MESSAGE", "OVERLOADED"} for e in unlogged)


def test_a_fragmented_request_is_one_request_and_an_endless_one_is_cut_at_the_size_limit() -> None:
    async def run() -> None:
        async with running_server(ServerConfig(port=0, layout="small", seed=1)) as server:
            url = server.url or ""
            join = json.dumps({"v": 1, "requestId": "j", "userId": "frag", "action": "join"})
            async with connect(url) as ws:
                await ws.send(iter(join))  # one fragment a character
                assert json.loads(await ws.recv())["status"] == "ok"
            async with connect(url) as ws:
                await ws.send(iter(["[" * 1000] * 100))  # 100 KB in fragments: past 64 KiB
                await ws.wait_closed()
                assert ws.close_code == 1009  # message too big
            async with connect(url) as ws:  # and the server serves the next one
                await ws.send(join.replace('"j"', '"k"'))
                assert json.loads(await ws.recv())["requestId"] == "k"

    asyncio.run(run())
