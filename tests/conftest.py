"""Shared fixtures: real servers on 127.0.0.1 ephemeral ports, in-process and as processes.

Time in tests is written in ``MS`` (one millisecond, scaled by ``PACNET_TEST_TIME_FACTOR``)
so a slow CI machine can stretch every timeout at once instead of flaking.
"""

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, Protocol

import pytest
import structlog
from websockets.asyncio.client import ClientConnection, connect

from pacnet.cluster.components import Redis, free_port
from pacnet.faults.admin import AdminClient, AdminEndpoint
from pacnet.protocol.models import GhostState
from pacnet.server.config import ServerConfig, ServerLimits
from pacnet.server.embedded import running_server
from pacnet.server.net import BoardServer
from pacnet.server.pipeline import Exchange, Stage, StageHook

MS = 0.001 * float(os.environ.get("PACNET_TEST_TIME_FACTOR", "1"))
ROOT = Path(__file__).resolve().parent.parent

StartServer = Callable[..., Awaitable[BoardServer]]


class Acted:
    """A tracing hook for a real server (``start_server(hooks=(acted,))``): how often each
    request got past UPDATE_STATE, that is, the server ran it, and its board clock then."""

    def __init__(self) -> None:
        self.times: Counter[str] = Counter()
        self.clock: dict[str, int] = {}

    def __call__(self, stage: Stage, exchange: Exchange) -> None:
        if stage is Stage.REPLY and exchange.request is not None:
            self.times[exchange.request["request_id"]] += 1
            if isinstance(exchange.reply, dict):
                self.clock[exchange.request["request_id"]] = exchange.reply["clock"]


class Controlled(Protocol):
    """A server or a proxy: what has an ``/admin`` endpoint."""

    url: str | None
    admin: AdminEndpoint


async def switch_on(target: Controlled, **fault: Any) -> str:
    """Switch ``fault`` on at ``target`` through its ``/admin`` endpoint; returns its id."""
    assert target.url is not None
    async with AdminClient(target.url, target.admin.token) as admin:
        reply = await admin.add(fault)
    assert reply.ok, reply.error
    return str(reply.faults[-1].fault.id)


@pytest.fixture(autouse=True)
def own_logging() -> Iterator[None]:
    """A command run in-process configures logging for the whole process: each test ends with
    the configuration it began with, so one command's level (``pacnet matrix`` logs warnings
    only) never hides the lines a later test captures."""
    config = structlog.get_config()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    structlog.configure(**config)
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(autouse=True)
def own_data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's `pacnet serve` keeps its game, and `pacnet play` its session tokens, in the
    test's own directory, never in the user's (where another test's would be resumed)."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state-home"))


@pytest.fixture
async def start_server() -> AsyncIterator[StartServer]:
    """Start in-process board servers on free ports; all stop when the test ends."""
    async with AsyncExitStack() as stack:

        async def start(
            *,
            hooks: tuple[StageHook, ...] = (),
            seed: int = 7,
            tick_rate: float = 60.0,
            calm: bool = False,
            **limits: Any,
        ) -> BoardServer:
            config = ServerConfig(
                port=0,
                layout="small",
                seed=seed,
                tick_rate=tick_rate,
                calm=calm,
                limits=ServerLimits(**limits),
            )
            return await stack.enter_async_context(running_server(config, hooks=hooks))

        yield start


@pytest.fixture
async def server(start_server: StartServer) -> BoardServer:
    """One in-process board server with default limits."""
    return await start_server()


def ghost_at_start(server: BoardServer, state: GhostState = "normal") -> None:
    """Blinky standing still, in ``state``, where every pac-man appears."""
    board = server.game.board
    blinky = board.get("blinky")
    assert blinky is not None
    blinky.x, blinky.y = board.layout.pacman_start
    blinky.moving, blinky.state = False, state


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[Redis]:
    """A real ``redis-server`` on a free port, its files in the test's folder."""
    server = Redis.start(tmp_path / "redis")
    yield server
    server.component.process.send_signal(signal.SIGCONT)  # if a test left it stopped
    server.stop()


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    return free_port()


class RawClient:
    """A bare WebSocket to send hand-written frames and read the replies as dicts."""

    def __init__(self, websocket: ClientConnection) -> None:
        self.ws = websocket
        self._n = 0

    async def send(self, frame: str | bytes) -> dict[str, Any]:
        await self.ws.send(frame)
        reply: dict[str, Any] = json.loads(await self.ws.recv())
        return reply

    async def call(self, user_id: str, action: str, **fields: Any) -> dict[str, Any]:
        self._n += 1
        message = {"v": 1, "requestId": f"raw-{self._n}", "userId": user_id, "action": action}
        return await self.send(json.dumps({**message, **fields}))


@pytest.fixture
async def raw_client() -> AsyncIterator[Callable[[str], Awaitable[RawClient]]]:
    """Open bare WebSockets to a URL; all close when the test ends."""
    async with AsyncExitStack() as stack:

        async def open_raw(url: str) -> RawClient:
            return RawClient(await stack.enter_async_context(connect(url, compression=None)))

        yield open_raw


class ServerProcess:
    """``pacnet serve`` (or ``command``, e.g. ``cluster serve``) as a real child process, for
    signals (SIGSTOP, SIGKILL, SIGTERM)."""

    def __init__(self, *args: str, tmp_path: Path, command: Sequence[str] = ("serve",)) -> None:
        self.log_path = tmp_path / f"server-{time.monotonic_ns()}.log"
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pacnet",
                *command,
                "--port",
                "0",
                "--log-format",
                "json",
                *args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            cwd=ROOT,
        )
        self.url = self._wait_for_url()

    def _wait_for_url(self, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events():
                if event.get("event") == "server_started":
                    return str(event["url"])
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()}")
            time.sleep(0.02)
        raise RuntimeError("server did not start in time")

    def events(self) -> list[dict[str, Any]]:
        """Every JSON log line the server has written so far."""
        lines = self.log_path.read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
        self.process.wait(timeout=10)
        self._log.close()


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start ``pacnet serve`` child processes; all are killed when the test ends."""
    started: list[ServerProcess] = []

    def start(*args: str, command: Sequence[str] = ("serve",)) -> ServerProcess:
        started.append(ServerProcess(*args, tmp_path=tmp_path, command=command))
        return started[-1]

    yield start
    for process in started:
        process.stop()
