"""``pacnet serve``: run a board server until SIGINT or SIGTERM."""

import argparse
import asyncio
import os
import signal
import sys

import structlog

from protocol.logs import configure_logging
from server.config import ServerConfig, ServerLimits
from server.layout import LayoutError, builtin_layouts
from server.net import BoardServer

log = structlog.get_logger("pacnet.server")


def positive_float(text: str) -> float:
    """An argparse type: a number greater than zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a number greater than 0")
    return value


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
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


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``pacnet serve``."""
    defaults, limits = ServerConfig(), ServerLimits()
    parser.add_argument("--host", default=defaults.host, help="address to listen on (%(default)s)")
    parser.add_argument(
        "--port",
        type=port_number,
        default=defaults.port,
        help="port, 0 for any free one (%(default)s)",
    )
    parser.add_argument(
        "--keepalive-timeout", type=positive_float, default=limits.keepalive_timeout,
        metavar="SECONDS", help="drop a user silent this long, and their pac-man (%(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--rate", type=positive_float, default=limits.rate, metavar="PER_SECOND",
        help="requests per second each user may sustain (%(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--burst", type=positive_int, default=limits.burst, metavar="REQUESTS",
        help="requests each user may send at once (%(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--max-users", type=positive_int, default=limits.max_users, metavar="USERS",
        help="users the board holds before joins get OVERLOADED (%(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--layout", default=defaults.layout, metavar="NAME_OR_PATH",
        help=f"maze: one of {', '.join(builtin_layouts())}, or a layout file (%(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--tick-rate", type=positive_float, default=defaults.tick_rate, metavar="HZ",
        help="board clock ticks per second (%(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--seed", type=int, default=None,
        help="seed for the board's and the faults' randomness (a run can be replayed)",
    )  # fmt: skip
    parser.add_argument(
        "--admin-token", default=os.environ.get("PACNET_ADMIN_TOKEN"), metavar="TOKEN",
        help="token for the /admin endpoint (fault injection); default: $PACNET_ADMIN_TOKEN, "
        "else a new one, printed at start",
    )  # fmt: skip
    parser.add_argument(
        "--trace", action="store_true",
        help="log every request's stages with their timing, for pacnet trace",
    )  # fmt: skip
    parser.add_argument(
        "--log-format", choices=("json", "console"), default="console",
        help="one JSON object per line, or text for people (%(default)s)",
    )  # fmt: skip


def run_serve(args: argparse.Namespace) -> int:
    """Run the server the flags describe; returns the process's exit status."""
    configure_logging(args.log_format)
    try:
        limits = ServerLimits(
            keepalive_timeout=args.keepalive_timeout, rate=args.rate, burst=args.burst,
            max_users=args.max_users,
        )  # fmt: skip
        config = ServerConfig(
            host=args.host, port=args.port, layout=args.layout, tick_rate=args.tick_rate,
            seed=args.seed, limits=limits, admin_token=args.admin_token or None, trace=args.trace,
            crash_exits=True,
        )  # fmt: skip
        server = BoardServer(config)
    except (LayoutError, ValueError) as exc:
        return _fail(str(exc))
    return asyncio.run(_serve(server))


async def _serve(server: BoardServer) -> int:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, _stop, server, signum)
    try:
        await server.start()
    except OSError as exc:
        config = server.config
        reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
        return _fail(f"cannot listen on {config.host}:{config.port}: {reason}")
    await server.serve_until_stopped()
    return 0


def _stop(server: BoardServer, signum: int) -> None:
    log.info("server_stopping", signal=signal.Signals(signum).name)
    server.stop()


def _fail(message: str) -> int:
    print(f"pacnet serve: error: {message}", file=sys.stderr)
    return 1
