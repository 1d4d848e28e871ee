"""``pacnet matrix``: the article's test matrix, run: every call of ten single-machine
scenarios made to end in each of the five outcomes by a real fault in each domain that causes
it, the client's reaction and the board it ends as checked, and the grids printed for a
projector."""

import argparse
from pathlib import Path

from pacnet.cmdline.args import EXIT_USAGE, fail, missing_directory, positive_int
from pacnet.matrix.scenarios import BY_NAME

PROG = "pacnet matrix"
JOBS = 12
"""Cases at once: enough to keep two cores busy while most cases wait, few enough that no
reply waits long for the event loop (a late reply would end a call UNKNOWN)."""
DESCRIPTION = (
    "Run the article's test matrix: ten single-machine scenarios of the game (move into a "
    "wall, eat a pellet, ... join while a ghost sits on the start tile), each call in each "
    "made to end SUCCESS, POST_FAILED, RETRYABLE, FATAL or UNKNOWN by a real fault in its "
    "own domain (the client's offline; the server's update_fails, reject and no_reply; the "
    "network's corrupted request, dropped request and dropped reply), each case on a server "
    "of its own behind a chaos proxy of its own, in this process. Every case checks what the "
    "client did next and the board it ended as. Prints the grids, passed out of run; exit "
    "status 1 if a case failed."
)
EPILOG = "docs/matrix.md says what each case checks and why."


def scenario_name(text: str) -> str:
    """An argparse type: one of the scenarios' names."""
    if text not in BY_NAME:
        raise argparse.ArgumentTypeError(
            f"no scenario {text!r}; the scenarios are {', '.join(BY_NAME)}"
        )
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``pacnet matrix``."""
    parser.add_argument(
        "--scenario", type=scenario_name, metavar="NAME",
        help=f"run this scenario's cases only: one of {', '.join(BY_NAME)}",
    )  # fmt: skip
    parser.add_argument(
        "--json", type=Path, metavar="FILE",
        help="also write every case (scenario, call, outcome, step, domain, fault, what the "
        "client did, the end state, passed, why not) as JSON to FILE",
    )  # fmt: skip
    parser.add_argument(
        "--jobs", type=positive_int, default=JOBS, metavar="N",
        help="cases run at once, each with its own server (%(default)s)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Run the matrix; exit 0 if every case passed, 1 if one failed, 2 for a bad flag."""
    if (problem := missing_directory("--json", args.json)) is not None:
        fail(PROG, problem)
        return EXIT_USAGE
    # Imported here, not above: `pacnet matrix --help` has no use for the server, the client
    # or the console, which take most of a second to import.
    import asyncio
    import json
    import logging

    from rich.console import Console
    from rich.progress import Progress

    from pacnet.cmdline.logs import configure_logging
    from pacnet.matrix.command import cases_of, run_matrix
    from pacnet.matrix.grid import as_json, grid
    from pacnet.matrix.scenarios import SCENARIOS

    configure_logging("console", level=logging.WARNING)
    scenarios = [BY_NAME[args.scenario]] if args.scenario else list(SCENARIOS)
    console = Console(highlight=False)
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("cases", total=len(cases_of(scenarios)))
        matrix = asyncio.run(
            run_matrix(scenarios, jobs=args.jobs, done=lambda _: progress.advance(task))
        )
    console.print(grid(matrix, one_scenario=args.scenario is not None))
    if args.json is not None:
        try:
            args.json.write_text(json.dumps(as_json(matrix, args.jobs), indent=2) + "\n")
        except OSError as exc:
            return fail(PROG, f"cannot write {exc.filename}: {exc.strerror}")
    return 0 if matrix.passed else 1
