"""What ``pacnet bots`` does once its flags are good: the fleet (in one process or several)
against a server, the live display while the bots play, and the counts the report is made of
when they stop.

``pacnet.bots.cli`` reads the flags, starts the embedded server, and imports this module only
then, so ``pacnet bots --help`` does not load the client and the display.
"""

import argparse
import asyncio
import contextlib
import secrets
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace

from rich.console import Console
from rich.live import Live

from pacnet.bots.counts import FleetCounts
from pacnet.bots.fleet import Fleet, FleetPlan
from pacnet.bots.report import Rates, RunInfo, live_view, plain_line
from pacnet.bots.workers import run_in_processes
from pacnet.client.errors import ConnectFailed
from pacnet.client.retry import DEFAULT_RETRIES
from pacnet.client.timeouts import Timeouts
from pacnet.client.transport import Connection
from pacnet.cmdline.lifecycle import stop_on_signals
from pacnet.protocol.rooms import room_of

LIVE_EVERY = 0.5
"""Seconds between refreshes of the live display."""
PLAIN_EVERY = 5.0
"""Seconds between progress lines when stdout is not a terminal."""


class Unusable(Exception):
    """A flag that cannot be honoured; the message is one line, for stderr (exit 2)."""


@dataclass
class Run:
    """One ``pacnet bots`` run as it goes: what the display and the report read."""

    info: RunInfo
    counts: FleetCounts = field(default_factory=FleetCounts)
    epoch: float | None = None
    """Wall-clock time the bots' clock started (None until then)."""
    problems: list[str] = field(default_factory=list)

    def elapsed(self) -> float:
        return 0.0 if self.epoch is None else min(time.time() - self.epoch, self.info.duration)


async def play(
    args: argparse.Namespace,
    console: Console,
    *,
    url: str,
    seed: int,
    ramp: float,
    rooms: tuple[str, ...] = (),
) -> Run:
    """Play the run the flags ``args`` describe against the server at ``url``, its bots
    started over ``ramp`` seconds and dealt into ``rooms`` (``FleetPlan.rooms``), until its
    end, or Ctrl-C or SIGTERM."""
    info = RunInfo(
        bots=args.bots, strategy=args.strategy, processes=args.processes, server=url,
        embedded=args.server is None, duration=args.duration, ramp=ramp, seed=seed,
        retries=not args.no_retries, rooms=rooms or (room_of(url),),
    )  # fmt: skip
    plan = FleetPlan(
        url=url, bots=args.bots, strategy=args.strategy, duration=args.duration, seed=seed,
        ramp=ramp, retries=None if args.no_retries else DEFAULT_RETRIES,
        tag=f"bot-{secrets.token_hex(3)}", report=not args.no_room_report, rooms=rooms,
    )  # fmt: skip
    run = Run(info)
    with stop_on_signals() as stop:  # the bots stop, and the report is still printed
        async with _display(run, console):
            if args.processes == 1:
                plan = replace(plan, epoch=time.time())
                run.epoch = plan.epoch
                await Fleet(plan, range(args.bots), run.counts.receive).run(stop)
            else:
                run.problems = await run_in_processes(
                    plan, args.processes, run.counts, stop, started=_set_epoch(run)
                )
    return run


def _set_epoch(run: Run) -> Callable[[float], None]:
    def started(epoch: float) -> None:
        run.epoch = epoch

    return started


async def check_reachable(url: str) -> None:
    """One connection before the fleet, so an unreachable server is one line, not a
    thousand POST_FAILED calls.

    Raises:
        Unusable: it cannot be reached.
    """
    try:
        connection = await Connection.open(url, Timeouts())
    except ConnectFailed as exc:
        reason = str(exc).removeprefix(f"cannot connect to {url}: ").removeprefix(f"{url} ")
        raise Unusable(f"cannot reach {url}: {reason}") from None  # said once, not twice
    await connection.close()


@contextlib.asynccontextmanager
async def _display(run: Run, console: Console) -> AsyncIterator[None]:
    """The live display on a terminal; elsewhere, a plain line every few seconds."""
    rates = Rates()
    live = Live(console=console, auto_refresh=False, transient=True)

    async def refresh() -> None:
        next_line = time.monotonic() + PLAIN_EVERY
        while True:
            await asyncio.sleep(LIVE_EVERY)
            gauges = run.counts.gauges()
            now = time.monotonic()
            shown = rates.update(now, gauges.calls.total(), gauges.attempts.total())
            if console.is_terminal:
                live.update(live_view(gauges, run.info, run.elapsed(), shown), refresh=True)
            elif now >= next_line:
                next_line = now + PLAIN_EVERY
                print(plain_line(gauges, run.info, run.elapsed(), shown), flush=True)

    with live if console.is_terminal else contextlib.nullcontext():
        async with asyncio.TaskGroup() as tasks:
            task = tasks.create_task(refresh())
            try:
                yield
            finally:
                task.cancel()


class CurrentStderr:
    """Whatever ``sys.stderr`` is when a log line is written: the live display redirects it,
    so the server's warnings (``tick_overrun``: the loop is overloaded) print above it."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()
