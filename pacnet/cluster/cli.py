"""``pacnet cluster``: a group of board servers on real components, on one machine.

pacnet cluster serve --name s1 --redis 127.0.0.1:6379   one board server of a group
"""

import argparse
import re

from pacnet.cmdline.args import fail, positive_float

PROG = "pacnet cluster"
DESCRIPTION = (
    "A group of board servers behind HAProxy, their rooms kept in Redis: rooms move to "
    "another server when theirs dies, and each room has one owner at a time."
)
REDIS = "127.0.0.1:6379"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")


def redis_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` of a Redis (an argparse type)."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def server_name(text: str) -> str:
    """A board server's name in its group (an argparse type): it names an HAProxy backend
    and sits in Redis keys, so it is plain."""
    if _NAME.fullmatch(text) is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} cannot name a server: 1 to 32 letters, digits, '.', '-' or '_'"
        )
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from pacnet.cluster.keeper import LEASE
    from pacnet.server.cli import add_arguments as add_server_arguments

    commands = parser.add_subparsers(dest="cluster_command", metavar="COMMAND", required=True)
    serve = commands.add_parser(
        "serve", help="run one board server of a group",
        description="Run a board server whose rooms live in a group's Redis: it claims a "
        "room (a lease with a fencing token) before opening it, saves it there, and gives it "
        "up when it stops. Every flag of pacnet serve but --state.",
    )  # fmt: skip
    serve.add_argument(
        "--name", type=server_name, required=True,
        help="this server's name in the group (its HAProxy backend's, too)",
    )  # fmt: skip
    serve.add_argument(
        "--redis", type=redis_address, default=REDIS, metavar="HOST:PORT",
        help="the group's Redis (%(default)s)",
    )  # fmt: skip
    serve.add_argument(
        "--lease", type=positive_float, default=LEASE, metavar="SECONDS",
        help="how long a room's lease lasts unless renewed: a server frozen longer loses its "
        "rooms (%(default)s)",
    )  # fmt: skip
    add_server_arguments(serve, own_state=False)
    for command in commands.choices.values():
        command.set_defaults(parser=command)


def run(args: argparse.Namespace) -> int:
    from pacnet.cluster.keeper import RedisKeeper
    from pacnet.cluster.link import StoreLink
    from pacnet.cmdline.lifecycle import run_on, run_until_signalled
    from pacnet.server.cli import prepare, server_config
    from pacnet.server.layout import LayoutError
    from pacnet.server.net import BoardServer

    prog = f"{PROG} {args.cluster_command}"
    if (status := prepare(prog, args)) is not None:
        return status
    host, port = args.redis
    keeper = RedisKeeper(StoreLink(host, port, trace=args.trace), args.name, args.lease)
    try:
        server = BoardServer(server_config(args), keeper=keeper)
    except (LayoutError, ValueError) as exc:
        return fail(prog, str(exc))
    return run_on(args.loop, run_until_signalled(server, prog, "server"))
