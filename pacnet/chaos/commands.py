"""What each ``pacnet chaos`` command does, once its command line is parsed.

Each takes the parsed arguments and a console and returns the exit status: 0, 1
(``EXIT_FAILED``: a component could not be reached or refused) or 130 (``EXIT_INTERRUPTED``).
A command line that makes no sense raises ``Usage``; a component that cannot do what was
asked raises ``SwitchError`` (one line each: ``cli.run`` prints it).
"""

import argparse
import asyncio
import json
import os
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from rich.console import Console

from pacnet.chaos.fault_flags import fault_from
from pacnet.chaos.output import (
    RunView,
    added_line,
    as_json,
    fault_table,
    faults_count,
    run_header,
    scenario_table,
    status_line,
)
from pacnet.chaos.switchboard import (
    AdminSwitchboard,
    NotRunning,
    Target,
    clear,
    listing,
    problems,
)
from pacnet.cmdline.args import Usage, fail
from pacnet.cmdline.defaults import PROXY_URL, SERVER_URL, TOKEN_ENV
from pacnet.cmdline.lifecycle import stop_on_signals
from pacnet.faults.admin import AdminReply
from pacnet.faults.scenario import (
    ScenarioPlayer,
    SwitchError,
    find_scenario,
    load_scenario,
    shipped_scenarios,
)

PROG = "pacnet chaos"
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


Command = Callable[[argparse.Namespace, Console], Coroutine[Any, Any, int]]


def switchboard(args: argparse.Namespace) -> AdminSwitchboard:
    """The server and the proxy the flags (or their defaults, and ``$PACNET_ADMIN_TOKEN``)
    point at."""
    token = args.token if args.token is not None else os.environ.get(TOKEN_ENV, "")
    proxy_token = args.proxy_token if args.proxy_token is not None else token
    proxy_flag = "--proxy-token" if args.proxy_token is not None else "--proxy-token or --token"
    return AdminSwitchboard(
        Target("server", args.server or SERVER_URL, token, "--token"),
        Target("proxy", args.proxy or PROXY_URL, proxy_token, proxy_flag),
        cluster=getattr(args, "cluster", None) or _cluster_directory(),
    )


def _cluster_directory() -> Path:
    from pacnet.cluster.stack import default_directory

    return default_directory()


async def list_faults(args: argparse.Namespace, out: Console) -> int:
    board = switchboard(args)
    targets = (board.server, board.proxy)
    replies = await asyncio.gather(*(listing(target) for target in targets))
    if args.json:
        shown = {t.name: as_json(t, r) for t, r in zip(targets, replies, strict=True)}
        out.print_json(json.dumps(shown))
    else:
        for target, reply in zip(targets, replies, strict=True):
            out.print(status_line(target, reply))
        statuses = [s for r in replies if isinstance(r, AdminReply) for s in r.faults]
        if statuses:
            out.print(fault_table(statuses))
    return _exit_status(problems(*replies))


async def add_fault(args: argparse.Namespace, out: Console) -> int:
    fault = fault_from(args)
    board = switchboard(args)
    target = board.target_for(fault)
    try:
        added = await board.add(fault)
    except NotRunning as exc:
        if target is board.proxy:
            raise SwitchError(f"{exc}: network faults are injected by pacnet proxy") from None
        raise
    out.print(added_line(added, target))
    return 0


async def remove_fault(args: argparse.Namespace, out: Console) -> int:
    board = switchboard(args)
    if args.on is not None:
        target = board.server if args.on == "server" else board.proxy
    else:
        target = await _holding(board, args.id)
    reply = await target.send(lambda admin: admin.remove(args.id))
    if not reply.ok:
        raise SwitchError(f"the {target.name} refused: {reply.error}")
    out.print(f"{args.id} is off on the {target.name}")
    return 0


async def _holding(board: AdminSwitchboard, fault_id: str) -> Target:
    """The one target that has a fault ``fault_id`` (ids are per component)."""
    server, proxy = await asyncio.gather(listing(board.server), listing(board.proxy))
    if found := problems(server, proxy):
        raise found[0]
    holding = [
        target
        for target, reply in ((board.server, server), (board.proxy, proxy))
        if isinstance(reply, AdminReply) and any(s.fault.id == fault_id for s in reply.faults)
    ]
    if len(holding) > 1:
        raise Usage(f"{fault_id} is on both the server and the proxy: say which with --on")
    if not holding:
        proxy_said = "is not running" if isinstance(proxy, NotRunning) else "has none either"
        raise SwitchError(f"no fault with id {fault_id!r} on the server (the proxy {proxy_said})")
    return holding[0]


async def clear_faults(args: argparse.Namespace, out: Console) -> int:
    board = switchboard(args)
    results = await asyncio.gather(clear(board.server), clear(board.proxy))
    for target, result in zip((board.server, board.proxy), results, strict=True):
        if isinstance(result, int):
            out.print(f"{target.name} {target.url}: {faults_count(result)} switched off")
        else:
            out.print(status_line(target, result))
    return _exit_status(problems(*results))


async def run_scenario(args: argparse.Namespace, out: Console) -> int:
    scenario = load_scenario(find_scenario(args.scenario))
    board = switchboard(args)
    for target in board.targets_for(scenario):
        reply = await listing(target)
        if isinstance(reply, NotRunning) and target is board.proxy:
            raise SwitchError(f"{reply}: this scenario's network faults need pacnet proxy")
        if isinstance(reply, SwitchError):
            raise reply
    if any(step.lobby_check is not None for step in scenario.steps):
        await board.lobby_check()  # (a scenario for a group: one line now if there is none)
    out.print(run_header(args.scenario, scenario, args.time_scale))
    player = ScenarioPlayer(scenario, board, time_scale=args.time_scale)
    with stop_on_signals() as stop, RunView(out, scenario) as view:
        report = await player.play(view.show, stop)
    if report.interrupted:
        return EXIT_INTERRUPTED
    if report.problems:
        fail(PROG, f"{report.problems} fault(s) could not be switched: see above")
        return EXIT_FAILED
    return 0


def list_scenarios(args: argparse.Namespace, out: Console) -> int:
    out.print(scenario_table((path.stem, load_scenario(path)) for path in shipped_scenarios()))
    return 0


COMMANDS: dict[str, Command] = {
    "list": list_faults,
    "add": add_fault,
    "remove": remove_fault,
    "clear": clear_faults,
    "run": run_scenario,
}
"""The commands that reach a component (``scenarios`` reads only files)."""


def _exit_status(found: list[SwitchError]) -> int:
    """Each problem as one line on stderr; the exit status."""
    for problem in found:
        fail(PROG, str(problem))
    return EXIT_FAILED if found else 0
