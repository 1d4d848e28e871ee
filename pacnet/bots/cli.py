"""``pacnet bots``: a fleet of headless bots against one server, a live display while they
play, and a report (``--json``, ``--plot``) when they stop.

Every flag is checked before the first bot starts: a bad number, a strategy that does not
load, a server that cannot be reached and a ``--plot`` without matplotlib each get one line
on stderr and exit status 2.
"""

import argparse
import asyncio
import contextlib
import json
import logging
import random
import secrets
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live

from pacnet.bots.counts import FleetCounts
from pacnet.bots.fleet import Fleet, FleetPlan
from pacnet.bots.plot import PlotUnavailable, plot, require_matplotlib
from pacnet.bots.report import Rates, RunInfo, live_view, plain_line, report, summary
from pacnet.bots.strategies import SHIPPED, StrategyError, load_strategy
from pacnet.bots.workers import run_in_processes
from pacnet.client.errors import ConnectFailed
from pacnet.client.retry import DEFAULT_RETRIES
from pacnet.client.timeouts import Timeouts
from pacnet.client.transport import Connection
from pacnet.cmdline.args import (
    EXIT_USAGE,
    fail,
    finite_number,
    positive_float,
    positive_int,
    whole_number,
)
from pacnet.cmdline.logs import configure_logging
from pacnet.server import embedded

PROG = "pacnet bots"
RAMP_PER_BOT = 0.005
"""Seconds of ramp per bot (200 a second), up to ``RAMP_CAP``: a thousand bots join over
five seconds instead of in one burst."""
RAMP_CAP = 5.0
LIVE_EVERY = 0.5
"""Seconds between refreshes of the live display."""
PLAIN_EVERY = 5.0
"""Seconds between progress lines when stdout is not a terminal."""


class Unusable(Exception):
    """A flag that cannot be honoured; the message is one line, for stderr (exit 2)."""


DESCRIPTION = (
    "Run N headless bots against a board server, each a full client (the window's remote "
    "board, retry policy and article loop) steered by a strategy. Shows the calls by outcome "
    "while they play, and a report at the end: outcomes, attempts, latency, re-joins, "
    "reconnections, deaths and scores. Without --server it starts its own server in-process. "
    "Ctrl-C stops the bots and still prints the report."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``pacnet bots``."""
    parser.add_argument(
        "-n", "--bots", type=positive_int, default=50, metavar="N",
        help="bots in the fleet (%(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--strategy", type=strategy_spec, default="greedy", metavar="NAME|MODULE:NAME",
        help=f"each bot's brain: {', '.join(SHIPPED)}, or your own as module:name "
        "(docs/bots.md) (%(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--duration", type=positive_float, default=30.0, metavar="SECONDS",
        help="how long the bots play, the ramp included (%(default)s)",
    )  # fmt: skip
    embedded.add_server_arguments(parser, layout="classic", why="the arcade's")
    parser.add_argument(
        "--processes", type=positive_int, default=1, metavar="K",
        help="spread the bots over K processes, one event loop each (%(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--ramp", type=ramp_seconds, metavar="SECONDS",
        help=f"start the bots evenly over this long (default: {RAMP_PER_BOT * 1000:g} ms a "
        f"bot, at most {RAMP_CAP:g} s)",
    )  # fmt: skip
    parser.add_argument(
        "--seed", type=whole_number, metavar="S",
        help="seed for every bot's randomness and the embedded board (a run replays); "
        "default: a new one, printed in the report",
    )  # fmt: skip
    parser.add_argument(
        "--json", type=Path, metavar="FILE", help="also write the report as JSON to FILE"
    )
    parser.add_argument(
        "--plot", type=Path, metavar="FILE.png",
        help="draw outcome rates and latency over time to FILE.png (needs: uv sync --extra plot)",
    )  # fmt: skip
    parser.add_argument(
        "--no-retries", action="store_true",
        help="make every call one attempt, so its first outcome shows (docs/resilience.md)",
    )  # fmt: skip
    parser.add_argument(
        "--no-room-report", action="store_true",
        help="do not report the bots' outcomes to the server each second (the projector's "
        "/watch counts the room from these reports; a load test may leave them out)",
    )  # fmt: skip


def strategy_spec(text: str) -> str:
    """An argparse type: a strategy ``load_strategy`` can load (checked now, loaded again in
    every process)."""
    try:
        load_strategy(text)
    except StrategyError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def ramp_seconds(text: str) -> float:
    """An argparse type: 0 or more seconds."""
    value = finite_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or more seconds")
    return value


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


def run(args: argparse.Namespace) -> int:
    """``pacnet bots``: check the flags, play, report. Exit 0, 1 if no call succeeded, 2
    for a flag that cannot be honoured."""
    try:
        _check_outputs(args)
    except Unusable as exc:
        return _unusable(str(exc))
    stream: Any = _CurrentStderr()  # a TextIO in all it is asked to do
    configure_logging("console", level=logging.WARNING, stream=stream)
    console = Console(highlight=False)
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    try:
        run = asyncio.run(_play(args, seed, console))
    except (Unusable, embedded.LayoutError) as exc:
        return _unusable(str(exc))
    except OSError as exc:
        return _unusable(f"cannot start the embedded server: {exc.strerror or exc}")
    data = summary(run.counts, run.info, run.elapsed(), run.problems)
    console.print(report(data))
    return _write_outputs(args, data) or (0 if _succeeded(data) else 1)


def _check_outputs(args: argparse.Namespace) -> None:
    for flag, path in (("--json", args.json), ("--plot", args.plot)):
        if path is not None and not path.parent.is_dir():
            raise Unusable(f"{flag}: no directory {str(path.parent)!r} to write {path.name} in")
    if args.plot is not None:
        try:
            require_matplotlib()
        except PlotUnavailable as exc:
            raise Unusable(str(exc)) from None


async def _play(args: argparse.Namespace, seed: int, console: Console) -> Run:
    async with _server(args, seed) as (url, is_embedded):
        ramp = args.ramp if args.ramp is not None else min(RAMP_CAP, RAMP_PER_BOT * args.bots)
        ramp = min(ramp, args.duration / 2)
        info = RunInfo(
            bots=args.bots, strategy=args.strategy, processes=args.processes, server=url,
            embedded=is_embedded, duration=args.duration, ramp=ramp, seed=seed,
            retries=not args.no_retries,
        )  # fmt: skip
        plan = FleetPlan(
            url=url, bots=args.bots, strategy=args.strategy, duration=args.duration, seed=seed,
            ramp=ramp, retries=None if args.no_retries else DEFAULT_RETRIES,
            tag=f"bot-{secrets.token_hex(3)}", report=not args.no_room_report,
        )  # fmt: skip
        run = Run(info)
        async with _stopped_by_signals() as stop, _display(run, console):
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


@contextlib.asynccontextmanager
async def _server(args: argparse.Namespace, seed: int) -> AsyncIterator[tuple[str, bool]]:
    """The server's URL, and whether it is the embedded one this run started."""
    if args.server is not None:
        await _check_reachable(args.server)
        yield args.server, False
        return
    config = embedded.ServerConfig(port=0, layout=args.layout, seed=seed)
    async with embedded.running_server(config) as server:
        assert server.url is not None
        embedded.announce(PROG, server)
        yield server.url, True


async def _check_reachable(url: str) -> None:
    """One connection before the fleet, so an unreachable server is one line, not a
    thousand POST_FAILED calls."""
    try:
        connection = await Connection.open(url, Timeouts())
    except ConnectFailed as exc:
        reason = str(exc).removeprefix(f"cannot connect to {url}: ")  # it names the URL too
        raise Unusable(f"cannot reach {url}: {reason}") from None
    await connection.close()


@contextlib.asynccontextmanager
async def _stopped_by_signals() -> AsyncIterator[asyncio.Event]:
    """An event set by Ctrl-C or SIGTERM: the bots stop, and the report is still printed."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        yield stop
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


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


class _CurrentStderr:
    """Whatever ``sys.stderr`` is when a log line is written: the live display redirects it,
    so the server's warnings (``tick_overrun``: the loop is overloaded) print above it."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def _write_outputs(args: argparse.Namespace, data: dict[str, Any]) -> int:
    """Write --json and --plot; 1 with one line on stderr if one cannot be written."""
    try:
        if args.json is not None:
            args.json.write_text(json.dumps(data, indent=2) + "\n")
        if args.plot is not None:
            plot(data, args.plot)
    except OSError as exc:
        return fail(PROG, f"cannot write {exc.filename}: {exc.strerror}")
    return 0


def _succeeded(data: dict[str, Any]) -> bool:
    return any(row["SUCCESS"] for row in data["calls"].values())


def _unusable(message: str) -> int:
    fail(PROG, message)
    return EXIT_USAGE
