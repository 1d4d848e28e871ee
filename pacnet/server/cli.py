"""``pacnet serve``: run a board server until SIGINT or SIGTERM."""

import argparse
from pathlib import Path

from pacnet.cmdline.args import (
    EXIT_USAGE,
    add_component_arguments,
    add_connection_limits,
    fail,
    non_negative_seconds,
    port_number,
    positive_float,
    positive_int,
)
from pacnet.server.config import ServerConfig, ServerLimits
from pacnet.server.layout import LayoutError, builtin_layouts, layout_argument
from pacnet.server.store import StateError, default_state_path

PROG = "pacnet serve"
DESCRIPTION = "Run a board server until Ctrl-C or SIGTERM."


def add_arguments(parser: argparse.ArgumentParser, *, own_state: bool = True) -> None:
    """The flags of ``pacnet serve``; ``own_state``: with --state and --no-state (a server of
    a group keeps its rooms in the group's store instead)."""
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
        help="users each room's board holds before joins get OVERLOADED (%(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--max-rooms", type=positive_int, default=limits.max_rooms, metavar="ROOMS",
        help="rooms open at once, the default room included; another is refused (%(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--send-timeout", type=positive_float, default=limits.send_timeout, metavar="SECONDS",
        help="cut a client whose replies cannot be written this long: it stopped reading "
        "(%(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--handshake-timeout", type=positive_float, default=limits.handshake_timeout,
        metavar="SECONDS", help="close a connection that has not completed its WebSocket "
        "handshake in this long (%(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--max-wait", type=non_negative_seconds, default=limits.max_wait, metavar="SECONDS",
        help="refuse a request OVERLOADED if it waited this long to be read; 0: serve every "
        "request however late (%(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--overload-wait", type=non_negative_seconds, default=limits.overload_wait,
        metavar="SECONDS", help="once the server's loop has run this late for a whole --max-wait, "
        "it is saturated: it refuses whatever waited longer, and new players (%(default)s)",
    )  # fmt: skip
    add_connection_limits(parser)
    parser.add_argument(
        "--layout", type=layout_argument, default=defaults.layout, metavar="NAME_OR_PATH",
        help=f"maze: one of {', '.join(builtin_layouts())}, or a layout file (%(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--tick-rate", type=positive_float, default=defaults.tick_rate, metavar="HZ",
        help="board clock ticks per second (%(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--calm", action="store_true",
        help="ghosts cannot catch anyone: for exercises, where every death or NOT_FOUND on "
        "screen should be the fault's",
    )  # fmt: skip
    if own_state:
        state = parser.add_mutually_exclusive_group()
        state.add_argument(
            "--state", type=Path, default=default_state_path(), metavar="PATH",
            help="where the game is kept, so a restart resumes it (%(default)s)",
        )  # fmt: skip
        state.add_argument(
            "--no-state", action="store_true", help="keep nothing: every start is a new game"
        )
    parser.add_argument(
        "--snapshot-interval", type=positive_float, default=defaults.snapshot_interval,
        metavar="SECONDS", help="how often the game is saved: the most a crash loses (%(default)s)",
    )  # fmt: skip
    add_component_arguments(parser, seeds="the board's and the faults' randomness")


def run(args: argparse.Namespace) -> int:
    """Run the server the flags describe; returns the process's exit status."""
    # Imported here, not above: `pacnet serve --help` has no use for the server, its logging
    # or its event loop, which take most of a second to import.
    from pacnet.cmdline.lifecycle import run_on, run_until_signalled
    from pacnet.server.net import BoardServer

    if (status := prepare(PROG, args)) is not None:
        return status
    try:
        server = BoardServer(server_config(args))
    except (LayoutError, StateError, ValueError) as exc:
        return fail(PROG, str(exc))
    return run_on(args.loop, run_until_signalled(server, PROG, "server"))


def prepare(prog: str, args: argparse.Namespace) -> int | None:
    """Check what the flags' types cannot check alone, set logging up and raise the open-file
    limit; returns the exit status if the flags do not fit together."""
    from pacnet.cmdline.logs import configure_logging
    from pacnet.feeds.doors import raise_file_limit

    if args.max_wait and args.overload_wait > args.max_wait:
        fail(prog, f"--overload-wait ({args.overload_wait:g} s) must not exceed --max-wait "
                   f"({args.max_wait:g} s)")  # fmt: skip
        return EXIT_USAGE
    configure_logging(args.log_format)
    raise_file_limit()  # so the connection limits' default is the system's, not select()'s
    return None


def server_config(args: argparse.Namespace) -> ServerConfig:
    """The server the flags of ``add_arguments`` describe.

    Raises:
        ValueError: the flags do not make a valid configuration.
    """
    limits = ServerLimits(
        keepalive_timeout=args.keepalive_timeout, rate=args.rate, burst=args.burst,
        max_users=args.max_users, max_rooms=args.max_rooms, max_connections=args.max_connections,
        max_connections_per_peer=args.max_connections_per_peer,
        send_timeout=args.send_timeout, handshake_timeout=args.handshake_timeout,
        max_wait=args.max_wait, overload_wait=args.overload_wait,
    )  # fmt: skip
    own_state = hasattr(args, "state")
    return ServerConfig(
        host=args.host, port=args.port, layout=args.layout, tick_rate=args.tick_rate,
        seed=args.seed, limits=limits, admin_token=args.admin_token or None, trace=args.trace,
        calm=args.calm, state=args.state if own_state and not args.no_state else None,
        snapshot_interval=args.snapshot_interval, crash_exits=True,
    )  # fmt: skip
