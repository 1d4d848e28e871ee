"""``pacnet chaos``: switch faults on a running server and proxy, or play a scenario.

    pacnet chaos list                    the faults on, on the server and on the proxy
    pacnet chaos add drop --direction reply --probability 0.2
    pacnet chaos remove s1
    pacnet chaos clear
    pacnet chaos run workshop            a scenario's timeline, with a countdown
    pacnet chaos scenarios               the shipped scenarios

Every fault goes to the component of its domain: network faults to the proxy's ``/admin``,
server faults to the server's. Client faults are switched in the window (or on the client).
Each ``/admin`` needs its component's admin token: the ``--admin-token`` or
``$PACNET_ADMIN_TOKEN`` it was started with, else the one it printed on its terminal.

Errors are one line on stderr (``pacnet chaos: error: ...``) and a non-zero exit: 2 for a
bad command line (a flag, or a fault that makes no sense), 1 when a component cannot be
reached or refuses, 130 when a run is interrupted.

This module is the command line: its flags, and which command runs. The rest of the package:
``commands`` (what each command does), ``switchboard`` (talking to the ``/admin`` endpoints),
``fault_flags`` (the fault's fields as ``add`` flags) and ``output`` (what is shown).
"""

import argparse
import asyncio
import sys
from pathlib import Path

from rich.console import Console

from pacnet.chaos.commands import COMMANDS, EXIT_FAILED, PROG, list_scenarios
from pacnet.chaos.fault_flags import add_fault_arguments
from pacnet.cmdline.args import EXIT_USAGE, Usage, fail, positive_float, ws_url
from pacnet.cmdline.defaults import PROXY_URL, SERVER_URL, TOKEN_ENV
from pacnet.faults.scenario import ScenarioError, SwitchError

DESCRIPTION = (
    "Switch faults on a running server (its faults) and proxy (the network's) through their "
    "/admin endpoints, or play a scenario: a timeline of faults for a workshop. Each needs "
    "the admin token it was started with, or the one it printed on its terminal."
)

_EXAMPLES = """examples:
  pacnet chaos add drop --direction reply --probability 0.2 --action findAll
  pacnet chaos add crash --crash abort --count 1
  pacnet chaos add --json '{"kind": "no_reply", "action": "move", "user": "8765309", "count": 1}'
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags and commands of ``pacnet chaos``; ``run`` runs what they parse to."""
    _add_target_arguments(parser, top=True)
    commands = parser.add_subparsers(dest="chaos_command", metavar="COMMAND", required=True)

    listing = commands.add_parser(
        "list", help="the faults on, on the server and the proxy",
        description="List the faults on, on the server and on the proxy (a proxy that is not "
        "running is shown as such: not every workshop uses one).",
    )  # fmt: skip
    _add_target_arguments(listing, top=False)
    listing.add_argument("--json", action="store_true", help="JSON, for machines")

    add = commands.add_parser(
        "add", help="switch a fault on",
        description="Switch a fault on where it is injected: network faults on the proxy,\n"
        "server faults on the server. Filters narrow what it hits; --count and\n"
        "--duration end it.", epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    _add_target_arguments(add, top=False)
    add_fault_arguments(add)

    remove = commands.add_parser(
        "remove", help="switch one fault off",
        description="Switch one fault off by its id (as list shows it). Ids are numbered by "
        "each component: if the server and the proxy both have it, say which with --on.",
    )  # fmt: skip
    _add_target_arguments(remove, top=False)
    remove.add_argument("id", metavar="ID")
    remove.add_argument("--on", choices=("server", "proxy"), help="where the fault is")

    clear = commands.add_parser(
        "clear", help="switch every fault off",
        description="Switch every fault off on the server and on the proxy (if it is running).",
    )  # fmt: skip
    _add_target_arguments(clear, top=False)

    run = commands.add_parser(
        "run", help="play a scenario: a timeline of faults, with a countdown",
        description="Play a scenario file: each step at its time, with what to tell the room "
        "and a countdown to the next. At the end, or on Ctrl-C, every fault it switched on is "
        "switched off.",
    )  # fmt: skip
    _add_target_arguments(run, top=False)
    run.add_argument(
        "scenario", metavar="SCENARIO",
        help="a shipped scenario's name (see pacnet chaos scenarios) or a .toml file",
    )  # fmt: skip
    run.add_argument(
        "--cluster", type=Path, default=None, metavar="DIR",
        help="the group whose balancer a scenario switches (lobby_check), as pacnet cluster "
        "up --dir named it (default: pacnet cluster's own folder)",
    )  # fmt: skip
    run.add_argument(
        "--time-scale", type=positive_float, default=1.0, metavar="F",
        help="multiply every time by F: below 1 plays faster, for rehearsals (%(default)s)",
    )  # fmt: skip

    commands.add_parser(
        "scenarios", help="the shipped scenarios",
        description="List the shipped scenarios with what each is for.",
    )  # fmt: skip
    for command in commands.choices.values():
        # A flag this command does not take is reported as ``pacnet chaos add: error: ...``.
        command.set_defaults(parser=command)


def _add_target_arguments(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """--server, --proxy and their tokens: on ``chaos`` itself (``top``) and again on each
    command (so ``pacnet chaos list --server URL`` works too) without overriding."""

    def default(value: object) -> object:
        return value if top else argparse.SUPPRESS

    parser.add_argument(
        "--server", type=ws_url, default=default(None), metavar="URL",
        help=f"the board server, for server faults ({SERVER_URL})",
    )  # fmt: skip
    parser.add_argument(
        "--proxy", type=ws_url, default=default(None), metavar="URL",
        help=f"the chaos proxy, for network faults ({PROXY_URL})",
    )  # fmt: skip
    parser.add_argument(
        "--token", default=default(None), metavar="TOKEN",
        help=f"admin token (default: ${TOKEN_ENV}); a component started without one prints "
        "its own on its terminal",
    )  # fmt: skip
    parser.add_argument(
        "--proxy-token", default=default(None), metavar="TOKEN",
        help="the proxy's admin token, if not the same as --token",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Run the ``pacnet chaos`` command ``args`` describe; returns the exit status."""
    out = Console(highlight=False, soft_wrap=not sys.stdout.isatty())
    try:
        if args.chaos_command == "scenarios":
            return list_scenarios(args, out)
        return asyncio.run(COMMANDS[args.chaos_command](args, out))
    except Usage as exc:
        fail(PROG, str(exc))
        return EXIT_USAGE
    except (SwitchError, ScenarioError) as exc:
        fail(PROG, str(exc))
        return EXIT_FAILED
