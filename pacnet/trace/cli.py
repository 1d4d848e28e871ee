"""``pacnet trace``: the truth behind an outcome, from every domain's structured logs.

The client knows only its outcome; the server knows whether it acted; the network (the proxy)
knows what it did to the messages. Each logs what it saw with the requestId (``call_traced``,
``request_traced``, ``fault_injected``, ``message_relayed``, ``request_failed``), so joining the
logs by requestId tells the whole story of one call::

    pacnet trace c7-42 --log client.log --log proxy.log --log server.log
    pacnet trace --check --log ...     # every call's belief against the server's truth
    pacnet trace --follow --log ...    # the latest calls, live

The logs must be JSON lines (``--log-format json``, ``pacnet play --trace FILE``), and the
server must trace (``pacnet serve --trace``) for its side to be known. Times come from each
process's wall clock: on one machine they line up; across machines, read them with care.
"""

import argparse
import sys
from pathlib import Path

from pacnet.cmdline.args import fail

PROG = "pacnet trace"
DESCRIPTION = (
    "Join the JSON logs of clients, proxies and servers by requestId: what each domain saw of "
    "one call, where the time went, and whether the server really acted (the client may say "
    "UNKNOWN while the server applied the move). Servers trace with pacnet serve --trace "
    "--log-format json; the window with --trace FILE."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``pacnet trace``."""
    parser.add_argument("request_id", nargs="?", metavar="REQUEST_ID", help="the call to explain")
    parser.add_argument(
        "--log", type=Path, action="append", required=True, metavar="FILE",
        help="a JSON log of a client, proxy or server (repeat for each)",
    )  # fmt: skip
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--check", action="store_true",
        help="hold every call's outcome against the server's truth; exit 1 on a violation",
    )  # fmt: skip
    mode.add_argument(
        "--follow", action="store_true", help="print each call as it ends, live (Ctrl-C stops)"
    )
    mode.add_argument(
        "--faulted", action="store_true",
        help="the stories of the latest requests a fault hit (see --last)",
    )  # fmt: skip
    parser.add_argument(
        "--last", type=int, default=5, metavar="N", help="with --faulted: how many (%(default)s)"
    )


def run(args: argparse.Namespace) -> int:
    """Run ``pacnet trace`` on stdout; returns the exit status."""
    # Imported here, not above: `pacnet trace --help` has no use for the protocol's models,
    # which the verdicts are drawn from and take most of a second to import.
    from pacnet.trace.command import run_trace

    try:
        return run_trace(args, sys.stdout)
    except ValueError as exc:
        return fail(PROG, str(exc))
    except OSError as exc:
        return fail(PROG, f"cannot read {exc.filename}: {exc.strerror}")
