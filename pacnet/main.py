"""The ``pacnet`` command: the front door that wires each subcommand to the package that runs it.

Every subcommand is one module, ``pacnet/<package>/cli.py``, with the same three names:
``DESCRIPTION`` (its ``--help``), ``add_arguments(parser)`` and ``run(args) -> int`` (the exit
status). The table below is the whole wiring; ``pacnet X --help`` ends with the path of X's
module, so a reader goes from the command to its code in one step. A module is imported only
when its command runs (or ``completion`` lists every flag), so ``pacnet --version`` is quick
and ``pacnet bots`` never loads the window.

Errors are one line on stderr and a non-zero exit status (2 for a bad flag); never a traceback.
"""

import argparse
import contextlib
import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType

from pacnet import __version__
from pacnet.cmdline.args import OneLineParser
from pacnet.cmdline.completion import SHELLS, completion_script

EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class Command:
    """One subcommand: its name, the module that runs it, and its line in ``pacnet --help``."""

    name: str
    module: str
    help: str

    @property
    def source(self) -> str:
        """The module's file, relative to the project's root."""
        return self.module.replace(".", "/") + ".py"

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)


COMMANDS = (
    Command("play", "pacnet.window.cli", "play in a window, over the network"),
    Command("demo", "pacnet.demo.cli",
            "play the article's loop headless, printing every call's outcome"),
    Command("bots", "pacnet.bots.cli",
            "play with a fleet of headless bots, and report every call's outcome"),
    Command("serve", "pacnet.server.cli", "run a board server"),
    Command("proxy", "pacnet.proxy.cli",
            "relay between clients and a server, injecting the network's faults"),
    Command("chaos", "pacnet.chaos.cli",
            "switch faults on a server and proxy, or play a workshop scenario"),
    Command("status", "pacnet.status.cli",
            "the server's keepalive table beside what the network sees of each user"),
    Command("trace", "pacnet.trace.cli",
            "the truth behind an outcome: one call as every domain logged it"),
    Command("workshop", "pacnet.workshop.cli",
            "open a room: the server and the proxy, a fresh game, what to hand out"),
    Command("matrix", "pacnet.matrix.cli",
            "run the article's test matrix: every call of ten scenarios by five outcomes"),
    Command("cluster", "pacnet.cluster.cli",
            "a group of board servers behind HAProxy, their rooms in Redis"),
)  # fmt: skip


def build_parser(only: str | None = None, *, every: bool = False) -> OneLineParser:
    """The ``pacnet`` parser. ``only``: the one command whose flags are needed (its module is
    the only one imported); ``every``: every command's, as ``completion`` lists them. The
    others are a name and a line of help, all that ``pacnet --help`` shows of them."""
    parser = OneLineParser(
        prog="pacnet",
        description="A networked Pac-Man whose board lives on a server: every call ends in "
        "one of five outcomes (SUCCESS, POST_FAILED, RETRYABLE, FATAL, UNKNOWN).",
    )
    parser.add_argument("--version", action="version", version=f"pacnet {__version__}")
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=OneLineParser
    )
    for command in COMMANDS:
        if not every and command.name != only:
            commands.add_parser(command.name, help=command.help)
            continue
        module = command.load()
        sub = commands.add_parser(
            command.name, help=command.help, description=module.DESCRIPTION,
            epilog=_epilog(module, command), formatter_class=argparse.RawDescriptionHelpFormatter,
        )  # fmt: skip
        module.add_arguments(sub)
        sub.set_defaults(run=module.run, parser=sub)
    completion = commands.add_parser(
        "completion", help="print a shell completion script (bash, zsh)",
        description="Print a completion script for your shell. Install it with, for bash: "
        "pacnet completion bash > ~/.local/share/bash-completion/completions/pacnet; "
        "for zsh: pacnet completion zsh > \"${fpath[1]}/_pacnet\".",
    )  # fmt: skip
    completion.add_argument("shell", choices=SHELLS)
    completion.set_defaults(run=_print_completion, parser=completion)
    return parser


def _epilog(module: ModuleType, command: Command) -> str:
    """The command's own epilog (examples), then where its code is."""
    own: str | None = getattr(module, "EPILOG", None)
    where = f"code: {command.source}"
    return f"{own.rstrip()}\n\n{where}" if own else where


def _print_completion(args: argparse.Namespace) -> int:
    print(completion_script(build_parser(every=True), args.shell))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pacnet`` console script and of ``python -m pacnet``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    named = next((a for a in argv if not a.startswith("-")), None)
    wanted = named if named in {c.name for c in COMMANDS} else None
    parser = build_parser(only=wanted)
    args, extra = parser.parse_known_args(argv)
    if extra:
        # Reported by the subcommand's parser, so the line reads ``pacnet serve: error: ...``.
        args.parser.error(f"unrecognized arguments: {' '.join(extra)}")
    with contextlib.suppress(KeyboardInterrupt):
        status: int = args.run(args)
        return status
    return EXIT_INTERRUPTED
