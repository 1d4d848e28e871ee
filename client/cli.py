"""The ``pacnet`` command line: one program, a subcommand per job.

Errors are one line on stderr and a non-zero exit status; never a traceback.
"""

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from client import embedded
from client.bots_cli import add_bots_arguments, run_bots_command
from client.demo import DemoReport, DemoSettings, run_demo
from client.status import add_status_arguments, run_status
from client.timeouts import Timeouts
from client.trace import add_trace_arguments, run_trace
from faults.chaos import DESCRIPTION as CHAOS_DESCRIPTION
from faults.chaos import HELP as CHAOS_HELP
from faults.chaos import add_chaos_arguments
from faults.proxy_cli import add_proxy_arguments, run_proxy
from protocol.cli import OneLineParser, fail, positive_float, positive_int


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="pacnet",
        description="A networked Pac-Man whose board lives on a server: every call ends in "
        "one of five outcomes (SUCCESS, POST_FAILED, RETRYABLE, FATAL, UNKNOWN).",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = commands.add_parser(
        "serve", help="run a board server", description="Run a board server until Ctrl-C/SIGTERM."
    )
    embedded.add_serve_arguments(serve)
    serve.set_defaults(run=embedded.run_serve)

    demo = commands.add_parser(
        "demo",
        help="play the article's loop headless, printing every call's outcome",
        description="Play the article's Pac-Man loop (find, move, findAll, remove) against a "
        "board server, printing one line per call and a table of the outcomes. Without "
        "--server it starts its own server in-process.",
    )
    _add_server_options(demo, "small", "small keeps a short run eventful")
    demo.add_argument(
        "--iterations", type=positive_int, default=DemoSettings.iterations,
        help="turns of the loop (%(default)s)",
    )  # fmt: skip
    demo.add_argument(
        "--interval", type=float, default=DemoSettings.interval, metavar="SECONDS",
        help="pause between turns (%(default)s)",
    )  # fmt: skip
    demo.add_argument(
        "--timeout", type=positive_float, default=Timeouts.reply, metavar="SECONDS",
        help="how long a call waits for its reply before it is UNKNOWN (%(default)s)",
    )  # fmt: skip
    demo.add_argument("--user", metavar="USER_ID", help="play as this user id")
    demo.add_argument("--seed", type=int, help="seed for the joystick and the embedded board")
    demo.add_argument("--verbose", action="store_true", help="show server and client logs")
    demo.set_defaults(run=run_demo_command)

    bots = commands.add_parser(
        "bots",
        help="play with a fleet of headless bots, and report every call's outcome",
        description="Run N headless bots against a board server, each a full client (the "
        "window's remote board, retry policy and article loop) steered by a strategy. Shows "
        "the calls by outcome while they play, and a report at the end: outcomes, attempts, "
        "latency, re-joins, reconnections, deaths and scores. Without --server it starts "
        "its own server in-process. Ctrl-C stops the bots and still prints the report.",
    )
    add_bots_arguments(bots)
    bots.set_defaults(run=run_bots_command)

    play = commands.add_parser(
        "play",
        help="play in a window, over the network",
        description="Play pac-man in a window. The board lives on a server: an embedded one "
        "on a free port unless --server is given. Arrows or WASD (or a gamepad) steer; H shows "
        "the calls panel; I the request inspector; F7 and F8 switch the client's own faults "
        "(network down, replies not applied); Esc quits.",
    )
    _add_server_options(play, "classic", "the arcade's")
    play.add_argument(
        "--name", metavar="NAME", help="your name on the board (a random one by default)"
    )
    play.add_argument(
        "--exit-after", type=positive_float, metavar="SECONDS",
        help="close the window after this long (for automation)",
    )  # fmt: skip
    play.add_argument(
        "--screenshot", type=Path, metavar="PATH", help="save the last frame as a PNG on exit"
    )
    play.add_argument("--hud", action="store_true", help="start with the H panel open")
    play.add_argument(
        "--inspector", action="store_true", help="start with the I request inspector open"
    )
    play.add_argument(
        "--no-retries",
        action="store_true",
        help="make every call one attempt, so its first outcome shows (docs/resilience.md)",
    )
    play.add_argument(
        "--no-prediction",
        action="store_true",
        help="draw your pac-man from the replies alone, not predicted between them: a lost "
        "reply then shows as a stall and a leap (docs/resilience.md)",
    )
    play.add_argument(
        "--trace", type=Path, metavar="FILE",
        help="log every call (and the embedded server's side) as JSON to FILE, for pacnet trace",
    )  # fmt: skip
    play.set_defaults(run=run_play_command)

    proxy = commands.add_parser(
        "proxy",
        help="relay between clients and a server, injecting the network's faults",
        description="Relay WebSocket messages between clients and a board server, and lose, "
        "delay, damage, duplicate or cut them on command (pacnet chaos, or the /admin "
        "endpoint with the admin token). Players connect here instead of to the server.",
    )
    add_proxy_arguments(proxy)
    proxy.set_defaults(run=run_proxy)

    chaos = commands.add_parser("chaos", help=CHAOS_HELP, description=CHAOS_DESCRIPTION)
    add_chaos_arguments(chaos)

    status = commands.add_parser(
        "status",
        help="the server's keepalive table beside what the network sees of each user",
        description="Which users the server suspects of being gone (silent too long), beside "
        "what the proxy sees of their requests: still arriving but lost on the way, held up, "
        "or silent there too. Read-only: no admin token needed.",
    )
    add_status_arguments(status)
    status.set_defaults(run=run_status_command)

    trace = commands.add_parser(
        "trace",
        help="the truth behind an outcome: one call as every domain logged it",
        description="Join the JSON logs of clients, proxies and servers by requestId: what "
        "each domain saw of one call, where the time went, and whether the server really "
        "acted (the client may say UNKNOWN while the server applied the move). Servers "
        "trace with pacnet serve --trace --log-format json; the window with --trace FILE.",
    )
    add_trace_arguments(trace)
    trace.set_defaults(run=run_trace_command)
    return parser


def _add_server_options(parser: argparse.ArgumentParser, layout: str, why: str) -> None:
    """--server, or --layout for the embedded server a command starts without one."""
    parser.add_argument("--server", metavar="URL", help="a running server (ws://HOST:PORT)")
    parser.add_argument(
        "--layout", default=layout, metavar="NAME_OR_PATH",
        help=f"maze of the embedded server: {why} (%(default)s)",
    )  # fmt: skip


def _bad_server_url(args: argparse.Namespace) -> str | None:
    if args.server is not None and not args.server.startswith(("ws://", "wss://")):
        return f"--server must be a ws:// or wss:// URL, not {args.server!r}"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pacnet`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        status: int = args.run(args)
        return status
    return 130


def run_demo_command(args: argparse.Namespace) -> int:
    if problem := _bad_server_url(args):
        return fail("pacnet demo", problem)
    if args.interval < 0:
        return fail("pacnet demo", "--interval must be 0 or more seconds")
    embedded.configure_logging("console", level=logging.INFO if args.verbose else logging.WARNING)
    settings = DemoSettings(
        iterations=args.iterations, interval=args.interval, seed=args.seed, user_id=args.user,
        timeouts=Timeouts(reply=args.timeout),
    )  # fmt: skip
    console = Console(highlight=False)
    try:
        report = asyncio.run(_demo(args.server, args.layout, settings, console))
    except embedded.LayoutError as exc:
        return fail("pacnet demo", str(exc))
    except OSError as exc:
        return fail("pacnet demo", f"cannot start the embedded server: {exc.strerror or exc}")
    if report.successes == 0:
        failure = report.last_failure
        why = failure.describe() if failure else "no call was made"
        return fail(
            "pacnet demo",
            f"no call succeeded against {args.server or 'the embedded server'}: {why}",
        )
    return 0


async def _demo(
    url: str | None, layout: str, settings: DemoSettings, console: Console
) -> DemoReport:
    if url is not None:
        return await run_demo(url, settings, console)
    config = embedded.ServerConfig(port=0, layout=layout, seed=settings.seed)
    async with embedded.running_server(config) as server:
        assert server.url is not None
        return await run_demo(server.url, settings, console)


def run_play_command(args: argparse.Namespace) -> int:
    if problem := _bad_server_url(args):
        return fail("pacnet play", problem)
    if not _has_display():
        return fail(
            "pacnet play",
            "no display to open a window on: run it on a desktop, or under a virtual screen "
            "(xvfb-run uv run pacnet play); for a game without a window, try pacnet demo",
        )
    trace_log = None
    if args.trace is not None:
        try:
            trace_log = args.trace.open("a")
        except OSError as exc:
            return fail("pacnet play", f"cannot write the trace to {args.trace}: {exc.strerror}")
        embedded.configure_logging("json", stream=trace_log)
    else:
        embedded.configure_logging("console", level=logging.WARNING)
    name = args.name or f"player-{secrets.token_hex(2)}"
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # no banner in the player's terminal
    from client.window import run_window  # pygame only for the window, never for bots

    async def play() -> int:
        options = {
            "exit_after": args.exit_after, "screenshot": args.screenshot, "hud": args.hud,
            "inspector": args.inspector, "trace": trace_log is not None,
        }  # fmt: skip
        if args.no_retries:
            options["retries"] = None
        if args.no_prediction:
            options["predict"] = False
        if args.server is not None:
            await run_window(args.server, name, **options)
            return 0
        # Tracing on, so the window can hold its outcomes against the server's truth.
        config = embedded.ServerConfig(port=0, layout=args.layout, trace=True)
        async with embedded.running_server(config) as server:
            assert server.url is not None
            print(
                f"pacnet play: the board is on {server.url}; switch its faults with: "
                f"pacnet chaos --server {server.url} --token {server.admin.token} ...",
                file=sys.stderr,
            )
            await run_window(server.url, name, **options)
        return 0

    try:
        return asyncio.run(play())
    except embedded.LayoutError as exc:
        return fail("pacnet play", str(exc))
    except OSError as exc:
        return fail("pacnet play", f"cannot start the embedded server: {exc.strerror or exc}")
    finally:
        if trace_log is not None:
            trace_log.close()


def run_status_command(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(run_status(args, Console(highlight=False)))
    except ConnectionError as exc:
        return fail("pacnet status", str(exc))


def run_trace_command(args: argparse.Namespace) -> int:
    try:
        return run_trace(args, sys.stdout)
    except ValueError as exc:
        return fail("pacnet trace", str(exc))
    except OSError as exc:
        return fail("pacnet trace", f"cannot read {exc.filename}: {exc.strerror}")


def _has_display() -> bool:
    driver = os.environ.get("SDL_VIDEODRIVER", "")
    return bool(
        os.environ.get("DISPLAY")
        or os.environ.get("WAYLAND_DISPLAY")
        or driver in ("dummy", "offscreen", "windows", "cocoa")
    )


if __name__ == "__main__":
    sys.exit(main())
