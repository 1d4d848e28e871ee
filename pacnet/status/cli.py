"""``pacnet status``: a room's keepalive table beside what the network knows, under the rooms
the server holds.

The server only sees silence: it suspects a user it has not heard from, and cannot tell
whether they are gone, paused, cut off, or alive and slow. The proxy sees one hop earlier:
whether that user's requests still reach it, and whether they go on. Side by side::

    user     server: silent   suspected   network: heard   passed on   held   really
    alice            4.2 s    yes                  0.1 s       4.2 s      0   alive, cut off...

Read-only: both feeds need no admin token.
"""

import argparse

from pacnet.cmdline.args import add_room_argument, fail, ws_url
from pacnet.cmdline.defaults import PROXY_URL, SERVER_URL

PROG = "pacnet status"
DESCRIPTION = (
    "Which users of a room the server suspects of being gone (silent too long), beside what "
    "the proxy sees of their requests: still arriving but lost on the way, held up, or silent "
    "there too; above it, the rooms the server holds and their players. Read-only: no admin "
    "token needed."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``pacnet status``."""
    parser.add_argument(
        "--server", type=ws_url, default=SERVER_URL, metavar="URL",
        help="the board server (%(default)s)",
    )  # fmt: skip
    add_room_argument(parser, "the keepalive table of")
    parser.add_argument(
        "--proxy", type=ws_url, default=PROXY_URL, metavar="URL",
        help="the proxy players go through, if any (%(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--once", action="store_true", help="print the table once and exit (else: live)"
    )


def run(args: argparse.Namespace) -> int:
    """Run ``pacnet status``; returns the exit status."""
    # Imported here, not above: `pacnet status --help` has no use for the feeds' reader or
    # the console, which take most of a second to import.
    import asyncio

    from rich.console import Console

    from pacnet.status.table import run_status

    try:
        return asyncio.run(run_status(args, Console(highlight=False)))
    except ConnectionError as exc:
        return fail(PROG, str(exc))
