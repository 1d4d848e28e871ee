"""``pacnet demo``: the article's loop, headless, one printed line per call."""

import argparse
import logging

from pacnet.client.timeouts import Timeouts
from pacnet.cmdline.args import (
    add_room_argument,
    fail,
    in_room,
    non_negative_seconds,
    player_name,
    positive_float,
    positive_int,
)
from pacnet.demo.settings import DemoSettings
from pacnet.server import embedded

PROG = "pacnet demo"
DESCRIPTION = (
    "Play the article's Pac-Man loop (find, move, findAll, remove) against a board server, "
    "printing one line per call and a table of the outcomes. Without --server it starts its "
    "own server in-process."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``pacnet demo``."""
    embedded.add_server_arguments(parser, layout="small", why="small keeps a short run eventful")
    add_room_argument(parser, "play in")
    parser.add_argument(
        "--iterations", type=positive_int, default=DemoSettings.iterations,
        help="turns of the loop (%(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--interval", type=non_negative_seconds, default=DemoSettings.interval, metavar="SECONDS",
        help="pause between turns (%(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--timeout", type=positive_float, default=Timeouts.reply, metavar="SECONDS",
        help="how long a call waits for its reply before it is UNKNOWN (%(default)s)",
    )  # fmt: skip
    parser.add_argument("--user", type=player_name, metavar="USER_ID", help="play as this user id")
    parser.add_argument("--seed", type=int, help="seed for the joystick and the embedded board")
    parser.add_argument("--verbose", action="store_true", help="show server and client logs")


def run(args: argparse.Namespace) -> int:
    """Play the demo the flags describe; exit status 1 if no call succeeded."""
    # Imported here, not above: `pacnet demo --help` has no use for the client, its event
    # loop, its logging or its console, which take most of a second to import.
    import asyncio

    from rich.console import Console

    from pacnet.cmdline.logs import configure_logging
    from pacnet.demo.loop import DemoReport, run_demo

    configure_logging("console", level=logging.INFO if args.verbose else logging.WARNING)
    settings = DemoSettings(
        iterations=args.iterations, interval=args.interval, seed=args.seed, user_id=args.user,
        timeouts=Timeouts(reply=args.timeout),
    )  # fmt: skip
    console = Console(highlight=False)

    async def demo() -> DemoReport:
        config = embedded.ServerConfig(port=0, layout=args.layout, seed=settings.seed)
        async with embedded.board_url(args.server, config) as url:
            return await run_demo(in_room(url, args.room), settings, console)

    try:
        report = asyncio.run(demo())
    except embedded.CannotStart as exc:
        return fail(PROG, str(exc))
    if report.successes == 0:
        failure = report.last_failure
        why = failure.describe() if failure else "no call was made"
        return fail(
            PROG, f"no call succeeded against {args.server or 'the embedded server'}: {why}"
        )
    return 0
