"""``pacnet bots``: a fleet of headless bots against one server, a live display while they
play, and a report (``--json``, ``--plot``) when they stop.

Every flag is checked before the first bot starts: a bad number, a strategy that does not
load, a server that cannot be reached and a ``--plot`` without matplotlib each get one line
on stderr and exit status 2.
"""

import argparse
import json
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

from pacnet.bots.plot import PlotUnavailable, plot, require_matplotlib
from pacnet.bots.strategies import SHIPPED, StrategyError, load_strategy
from pacnet.cmdline.args import (
    EXIT_USAGE,
    add_room_argument,
    fail,
    in_room,
    missing_directory,
    non_negative_seconds,
    positive_float,
    positive_int,
    whole_number,
)
from pacnet.server import embedded

PROG = "pacnet bots"
RAMP_PER_BOT = 0.005
"""Seconds of ramp per bot (200 a second), up to ``RAMP_CAP``: a thousand bots join over
five seconds instead of in one burst."""
RAMP_CAP = 5.0
SPREAD_ROOMS = "bots-{}"
"""The rooms ``--rooms K`` spreads the bots over: bots-1 to bots-K."""
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
    where = parser.add_mutually_exclusive_group()
    add_room_argument(where, "every bot in")
    where.add_argument(
        "--rooms", type=positive_int, metavar="K",
        help=f"spread the bots over K rooms, {SPREAD_ROOMS.format(1)} to "
        f"{SPREAD_ROOMS.format('K')}, dealt in turn (default: all in one room)",
    )  # fmt: skip
    parser.add_argument(
        "--processes", type=positive_int, default=1, metavar="K",
        help="spread the bots over K processes, one event loop each (%(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--ramp", type=non_negative_seconds, metavar="SECONDS",
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


def dealt_rooms(args: argparse.Namespace) -> tuple[str, ...]:
    """The rooms the bots are dealt into (``FleetPlan.rooms``): ``--rooms``'s, or
    ``--room``'s; empty: the room ``--server`` names, else the default room."""
    if args.rooms is not None:
        return tuple(SPREAD_ROOMS.format(k) for k in range(1, args.rooms + 1))
    return () if args.room is None else (args.room,)


def run(args: argparse.Namespace) -> int:
    """``pacnet bots``: check the flags, play, report. Exit 0, 1 if no call succeeded, 2
    for a flag that cannot be honoured."""
    problem = _output_problem(args)
    if problem is not None:
        return _unusable(problem)
    if args.rooms is not None and args.rooms > args.bots:
        return _unusable(f"--rooms {args.rooms} is more rooms than the {args.bots} bots")
    # Imported here, not above: `pacnet bots --help` has no use for the fleet, its display or
    # its logging, which take most of a second to import.
    import asyncio
    import logging

    from rich.console import Console

    from pacnet.bots.command import CurrentStderr, Run, Unusable, check_reachable, play
    from pacnet.bots.report import report, summary
    from pacnet.cmdline.logs import configure_logging

    stream: Any = CurrentStderr()  # a TextIO in all it is asked to do
    configure_logging("console", level=logging.WARNING, stream=stream)
    console = Console(highlight=False)
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    ramp = args.ramp if args.ramp is not None else min(RAMP_CAP, RAMP_PER_BOT * args.bots)
    ramp = min(ramp, args.duration / 2)

    rooms = dealt_rooms(args)

    async def bots() -> Run:
        if args.server is not None:
            for room in rooms or (None,):  # a room the server cannot open: one line too
                await check_reachable(in_room(args.server, room))
        config = embedded.ServerConfig(port=0, layout=args.layout, seed=seed)
        if len(rooms) >= config.limits.max_rooms:  # its default room is open too
            config = replace(config, limits=replace(config.limits, max_rooms=len(rooms) + 1))
        async with embedded.board_url(args.server, config, announce_as=PROG) as url:
            return await play(args, console, url=url, seed=seed, ramp=ramp, rooms=rooms)

    try:
        run = asyncio.run(bots())
    except Unusable as exc:
        return _unusable(str(exc))
    except embedded.CannotStart as exc:
        return fail(PROG, str(exc))
    data = summary(run.counts, run.info, run.elapsed(), run.problems)
    console.print(report(data))
    return _write_outputs(args, data) or (0 if _succeeded(data) else 1)


def _output_problem(args: argparse.Namespace) -> str | None:
    """Why --json or --plot cannot be written, before any bot plays (None: they can)."""
    for flag, path in (("--json", args.json), ("--plot", args.plot)):
        if (problem := missing_directory(flag, path)) is not None:
            return problem
    if args.plot is not None:
        try:
            require_matplotlib()
        except PlotUnavailable as exc:
            return str(exc)
    return None


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
