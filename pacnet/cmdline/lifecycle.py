"""Running a long-lived component (the server, the proxy) until SIGINT or SIGTERM, or for
the length of an ``async with`` block (the embedded server of the demo, the window, the bots
and the tests); and stopping a command's own work on those signals (``stop_on_signals``)."""

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager
from typing import Any, Literal, Protocol, TypeVar

import structlog

from pacnet.cmdline.args import EXIT_USAGE, fail
from pacnet.cmdline.defaults import TOKEN_ENV


class _Address(Protocol):
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...


class _Admin(Protocol):
    @property
    def token(self) -> str: ...
    @property
    def generated_token(self) -> bool: ...


class Component(Protocol):
    """What ``run_until_signalled`` runs: a server or a proxy."""

    @property
    def config(self) -> _Address: ...
    @property
    def admin(self) -> _Admin: ...
    async def start(self) -> str: ...
    async def serve_until_stopped(self) -> None: ...
    def stop(self) -> None: ...


async def run_until_signalled(component: Component, prog: str, name: str) -> int:
    """Listen, then serve until SIGINT or SIGTERM (logged as ``{name}_stopping``); returns
    the exit status: 0, or 1 with one line on stderr when the address cannot be listened on."""
    log = structlog.get_logger(f"pacnet.{name}")
    loop = asyncio.get_running_loop()

    def stop(signum: int) -> None:
        component.stop()  # first: a log line that cannot be written must not keep it running
        log.info(f"{name}_stopping", signal=signal.Signals(signum).name)

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop, signum)
    try:
        await component.start()
    except OSError as exc:
        config = component.config
        where = f"cannot listen on {config.host}:{config.port}"
        if isinstance(exc, socket.gaierror):  # the --host flag names no address: a bad flag
            fail(prog, f"{where}: no such host ({exc.strerror or exc})")
            return EXIT_USAGE
        reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
        return fail(prog, f"{where}: {reason}")
    if component.admin.generated_token:
        show_token(prog, component.admin.token)
    await component.serve_until_stopped()
    return 0


def show_token(prog: str, token: str) -> None:
    """Show a generated admin token once, on stdout: the terminal of whoever started the
    component, never the log (stderr), so a shared or collected log does not carry it."""
    with contextlib.suppress(OSError, ValueError):  # no terminal to show it on: nothing lost
        print(
            f"{prog}: admin token {token} (for pacnet chaos --token; set {TOKEN_ENV} to "
            "choose one that survives a restart)",
            flush=True,
        )


T = TypeVar("T")
LoopChoice = Literal["auto", "uvloop", "asyncio"]


def loop_factory(choice: LoopChoice) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop a component runs on: uvloop (about a fifth more round trips for the
    same CPU, docs/performance.md) where it is installed, asyncio's own elsewhere. None:
    asyncio's default. (``--loop uvloop`` where it is not installed is refused as a bad flag.)
    """
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    new_loop: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return new_loop


def loop_name() -> str:
    """Which event loop runs this code: ``uvloop`` or ``asyncio``, for the started line."""
    return (
        "uvloop" if type(asyncio.get_running_loop()).__module__.startswith("uvloop") else "asyncio"
    )


def started_fields(admin: _Admin) -> dict[str, str]:
    """What a server's and a proxy's started lines both say about how they run: whether the
    admin token was generated (never the token itself) and which event loop runs them."""
    return {"adminToken": "generated" if admin.generated_token else "given", "loop": loop_name()}


@contextlib.contextmanager
def stop_on_signals() -> Iterator[asyncio.Event]:
    """An event that Ctrl-C (SIGINT) and SIGTERM set while inside, so a command ends its work
    its own way (a scenario switches its faults off, the bots still print their report). Only
    the main thread can take signals; elsewhere (tests) nothing but the caller sets it."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
            installed.append(signum)
    try:
        yield stop
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


def run_on(choice: LoopChoice, main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` on the loop ``choice`` names."""
    with asyncio.Runner(loop_factory=loop_factory(choice)) as runner:
        return runner.run(main)


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
