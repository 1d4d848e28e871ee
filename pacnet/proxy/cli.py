"""``pacnet proxy``: relay between clients and a board server, injecting network faults,
until SIGINT or SIGTERM.
"""

import argparse

from pacnet.cmdline.args import (
    add_component_arguments,
    add_connection_limits,
    fail,
    host_port,
    ws_url,
)
from pacnet.cmdline.defaults import HOST, PROXY_PORT, SERVER_URL

PROG = "pacnet proxy"
DESCRIPTION = (
    "Relay WebSocket messages between clients and a board server, and lose, delay, damage, "
    "duplicate or cut them on command (pacnet chaos, or the /admin endpoint with the admin "
    "token). Players connect here instead of to the server."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``pacnet proxy``."""
    parser.add_argument(
        "--listen", type=host_port, default=(HOST, PROXY_PORT),
        metavar="HOST:PORT", help=f"address to listen on ({HOST}:{PROXY_PORT})",
    )  # fmt: skip
    parser.add_argument(
        "--upstream", type=ws_url, default=SERVER_URL, metavar="URL",
        help="the board server to relay to (%(default)s)",
    )  # fmt: skip
    add_connection_limits(parser)
    add_component_arguments(parser, seeds="every random choice of the faults")


def run(args: argparse.Namespace) -> int:
    """Run the proxy the flags describe; returns the process's exit status."""
    # Imported here, not above: `pacnet proxy --help` has no use for the relay, its logging,
    # its event loop or websockets, which take most of a second to import.
    from pacnet.cmdline.lifecycle import run_on, run_until_signalled
    from pacnet.cmdline.logs import configure_logging
    from pacnet.feeds.doors import raise_file_limit
    from pacnet.proxy.config import ProxyConfig
    from pacnet.proxy.relay import Proxy

    configure_logging(args.log_format)
    raise_file_limit()  # so the connection limits' default is the system's, not select()'s
    host, port = args.listen
    try:
        config = ProxyConfig(
            host=host, port=port, upstream=args.upstream, seed=args.seed,
            admin_token=args.admin_token or None, trace=args.trace,
            max_connections=args.max_connections,
            max_connections_per_peer=args.max_connections_per_peer,
        )  # fmt: skip
    except ValueError as exc:
        return fail(PROG, str(exc))
    return run_on(args.loop, run_until_signalled(Proxy(config), PROG, "proxy"))
