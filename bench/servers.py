"""The servers the benchmarks measure: how to start each, and what it costs in CPU and memory.

Each runs in a process of its own, pinned to one core when there are two, with as many file
descriptors as the hard limit allows; its URL comes from its first log line
(``{"event": "server_started", "url": ...}``), which ``bench/echo.py`` logs as
``pacnet serve --log-format json`` does.
"""

import asyncio
import json
import math
import os
import platform
import resource
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
MAZE = BENCH / "penned.txt"
"""The small maze with its ghosts shut in their house: they move, so a ``findAll :ghost`` has
them to send, but no bench pac-man is ever caught, so every call it makes takes the success
path."""
START_TIMEOUT = 20.0
"""Seconds a server may take to log its URL."""


@dataclass(frozen=True)
class Target:
    """A server under test: how to start it, and what a right reply to a request is."""

    name: str
    command: tuple[str, ...]
    accepts: Callable[[bytes, bytes], bool]
    """``accepts(request, reply)``: whether the reply is a right answer to the request."""
    cwd: Path = ROOT
    """Where it runs: the checkout whose code it runs, for ``python -m``."""
    keeps_state: bool = False
    """Whether it takes ``--state FILE`` (it is given one of the run's own)."""


def _echoes(request: bytes, reply: bytes) -> bool:
    return reply == request


def _is_ok(request: bytes, reply: bytes) -> bool:
    return bool(json.loads(reply).get("status") == "ok")


ECHO = Target("echo", (sys.executable, str(BENCH / "echo.py")), _echoes)


def package_prefix(checkout: Path) -> str | None:
    """How ``checkout``'s modules are named: ``"pacnet."`` (one package), ``""`` (the older
    layout of four top-level packages, which baselines from before it still have), or None
    when it is no pacnet checkout at all."""
    if (checkout / "pacnet" / "server" / "pipeline.py").is_file():
        return "pacnet."
    if (checkout / "server" / "pipeline.py").is_file():
        return ""
    return None


def pacnet(*flags: str, name: str = "pacnet", checkout: Path = ROOT) -> Target:
    """``pacnet serve`` on the penned maze with JSON logs, plus ``flags``, running the code of
    ``checkout`` (another copy of the project, to hold a change against the code before it).

    Validation, the throttle, keepalive, the tick loop, snapshots of the game (to a file of
    the run's own, never the user's) and logging all stay on, as in ``pacnet serve``.
    """
    command = (
        sys.executable, "-m", "pacnet" if package_prefix(checkout) else "client.cli", "serve",
        "--port", "0", "--log-format", "json", "--layout", str(MAZE), *flags,
    )  # fmt: skip
    return Target(name, command, _is_ok, cwd=checkout, keeps_state=True)


UNTHROTTLED = ("--rate", "1e9", "--burst", "1000000000")
"""For closed loops, which send far faster than a player: the throttle still runs, with a
rate nobody reaches."""


def closed_loop_targets(baseline: Path | None, *flags: str) -> list[Target]:
    """The servers a closed-loop benchmark sets side by side: echo, pacnet with the throttle
    nobody reaches and ``flags``, and, given a checkout, that checkout's pacnet alike."""
    targets = [ECHO, pacnet(*UNTHROTTLED, *flags)]
    if baseline is not None:
        targets.append(pacnet(*UNTHROTTLED, *flags, name="baseline", checkout=baseline))
    return targets


@dataclass(frozen=True)
class Server:
    """A running server process."""

    name: str
    url: str
    pid: int

    def cpu_seconds(self) -> float:
        """User and system CPU time the process has used so far (Linux), or NaN."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return math.nan
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_bytes(self) -> int:
        """The process's resident memory now (Linux), or 0 when it cannot be read."""
        with suppress(OSError, ValueError, IndexError):
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0


def raise_fd_limit() -> int:
    """Raise this process's open-file limit to its hard limit; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard
    return soft


def _in_child() -> None:
    # Runs in the server's process between fork and exec (asyncio's preexec_fn).
    raise_fd_limit()


@asynccontextmanager
async def running(
    target: Target, cpu: int | None, *, start_timeout: float = START_TIMEOUT
) -> AsyncIterator[Server]:
    """Run ``target`` in a subprocess on ``cpu``, until the ``async with`` block ends; it has
    ``start_timeout`` seconds to log its URL.

    Raises:
        RuntimeError: the server exited or did not log where it listens.
    """
    with tempfile.TemporaryDirectory(prefix="pacnet-bench-") as work:
        command = target.command
        if target.keeps_state:  # its snapshots go to this run's file, not ~/.local
            command = (*command, "--state", str(Path(work) / "state.sqlite"))
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=target.cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            preexec_fn=_in_child,
        )
        assert process.stderr is not None
        if cpu is not None:
            os.sched_setaffinity(process.pid, {cpu})
        try:
            url = await _read_url(target.name, process.stderr, start_timeout)
            # Keep reading the log, so that a chatty server never blocks on a full pipe; the
            # task ends with the process, which this block always stops.
            drain = asyncio.create_task(_drain(process.stderr))
            try:
                yield Server(target.name, url, process.pid)
            finally:
                await _stop(process)
                await drain
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


async def _read_url(name: str, stderr: asyncio.StreamReader, within: float) -> str:
    line = b""
    try:
        async with asyncio.timeout(within):
            line = await stderr.readline()
        url = json.loads(line)["url"]
        if isinstance(url, str):
            return url
    except (TimeoutError, ValueError, KeyError, TypeError):
        pass
    with suppress(TimeoutError):
        async with asyncio.timeout(1.0):
            line += await stderr.read(4000)
    raise RuntimeError(f"{name} did not log its URL: {line.decode(errors='replace')!r}")


async def _drain(stderr: asyncio.StreamReader) -> None:
    while await stderr.read(65536):
        pass


async def _stop(process: asyncio.subprocess.Process) -> None:
    process.terminate()
    try:
        async with asyncio.timeout(30.0):  # thousands of connections take a while to close
            await process.wait()
    except TimeoutError:
        process.kill()
        await process.wait()


def own_cpu_seconds() -> float:
    """User and system CPU time this process has used so far."""
    times = os.times()
    return times.user + times.system


def pick_cpus() -> tuple[int | None, int | None]:
    """(load CPU, server CPU): two different cores when this process may use two."""
    allowed = sorted(os.sched_getaffinity(0))
    return (allowed[0], allowed[-1]) if len(allowed) >= 2 else (None, None)


def machine(load_cpu: int | None, server_cpu: int | None) -> dict[str, Any]:
    """What the figures were measured on."""
    model = ""
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "load_cpu": load_cpu,
        "server_cpu": server_cpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "websockets": version("websockets"),
        "pydantic": version("pydantic"),
        "fd_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[1],
    }
