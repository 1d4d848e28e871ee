"""What every pacnet command shares: one-line errors, argument types, the flags a long-running
component takes, and running one until SIGINT or SIGTERM.

The server, the proxy, chaos and the client's commands all use it, so a bad flag reads the
same everywhere (``pacnet X: error: ... (see pacnet X --help)``, exit 2) and never shows a
traceback.
"""

import argparse
import asyncio
import math
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import NoReturn, Protocol, TypeVar
from urllib.parse import urlsplit

import structlog

EXIT_USAGE = 2


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, naming the flag and pointing at --help."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def fail(prog: str, message: str) -> int:
    """Print ``prog: error: message`` on stderr; returns the exit status 1."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    return 1


# --- argument types ---


def finite_number(text: str) -> float:
    """An argparse type: any finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite number greater than zero."""
    value = finite_number(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a number greater than 0")
    return value


def whole_number(text: str) -> int:
    """An argparse type: an integer."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    value = whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def port_number(text: str) -> int:
    """An argparse type: a TCP port, 0 meaning any free port."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)")
    return value


def ws_url(text: str) -> str:
    """An argparse type: a ``ws://`` or ``wss://`` URL with a host."""
    parts = urlsplit(text)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"{text!r} is not a ws:// or wss:// URL")
    return text


# --- long-running components (the server, the proxy) ---


def add_component_arguments(parser: argparse.ArgumentParser, *, seeds: str) -> None:
    """The flags every long-running pacnet component takes: --seed, --admin-token, --trace,
    --log-format. ``seeds``: what its seed decides, for the help."""
    parser.add_argument(
        "--seed", type=int, default=None,
        help=f"seed for {seeds} (a run can be replayed)",
    )  # fmt: skip
    parser.add_argument(
        "--admin-token", default=os.environ.get("PACNET_ADMIN_TOKEN"), metavar="TOKEN",
        help="token for the /admin endpoint (fault injection); default: $PACNET_ADMIN_TOKEN, "
        "else a new one, printed at start",
    )  # fmt: skip
    parser.add_argument(
        "--trace", action="store_true",
        help="log every request with its timing, for pacnet trace",
    )  # fmt: skip
    parser.add_argument(
        "--log-format", choices=("json", "console"), default="console",
        help="one JSON object per line, or text for people (%(default)s)",
    )  # fmt: skip


class _Address(Protocol):
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...


class Component(Protocol):
    """What ``run_until_signalled`` runs: a server or a proxy."""

    @property
    def config(self) -> _Address: ...
    async def start(self) -> str: ...
    async def serve_until_stopped(self) -> None: ...
    def stop(self) -> None: ...


async def run_until_signalled(component: Component, prog: str, name: str) -> int:
    """Listen, then serve until SIGINT or SIGTERM (logged as ``{name}_stopping``); returns
    the exit status: 0, or 1 with one line on stderr when the address cannot be listened on."""
    log = structlog.get_logger(f"pacnet.{name}")
    loop = asyncio.get_running_loop()

    def stop(signum: int) -> None:
        log.info(f"{name}_stopping", signal=signal.Signals(signum).name)
        component.stop()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop, signum)
    try:
        await component.start()
    except OSError as exc:
        config = component.config
        reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
        return fail(prog, f"cannot listen on {config.host}:{config.port}: {reason}")
    await component.serve_until_stopped()
    return 0


C = TypeVar("C", bound=Component)


@asynccontextmanager
async def running(component: C) -> AsyncIterator[C]:
    """Run ``component`` in this event loop for the duration of the ``async with`` block
    (embedded servers and proxies: the demo, the window, the tests).

    Raises:
        OSError: the address cannot be listened on.
    """
    await component.start()
    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(component.serve_until_stopped())
        try:
            yield component
        finally:
            component.stop()
