"""``pacnet chaos``: switch faults on a running server and proxy, or play a scenario.

    pacnet chaos list                    the faults on, on the server and on the proxy
    pacnet chaos add drop --direction reply --probability 0.2
    pacnet chaos remove s1
    pacnet chaos clear
    pacnet chaos run workshop            a scenario's timeline, with a countdown
    pacnet chaos scenarios               the shipped scenarios

Every fault goes to the component of its domain: network faults to the proxy's ``/admin``,
server faults to the server's. Client faults are switched in the window (or on the client).
Each ``/admin`` needs the admin token its component printed at start as ``admin_token``.

Errors are one line on stderr (``pacnet chaos: error: ...``) and a non-zero exit: 2 for a
bad command line (a flag, or a fault that makes no sense), 1 when a component cannot be
reached or refuses, 130 when a run is interrupted.
"""

import argparse
import asyncio
import contextlib
import json
import math
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text
from websockets.exceptions import InvalidStatus, WebSocketException

from pacnet.cmdline.args import (
    EXIT_USAGE,
    fail,
    finite_number,
    positive_float,
    whole_number,
    ws_url,
)
from pacnet.faults.admin import AdminClient, AdminReply
from pacnet.faults.scenario import (
    CleanedUp,
    PlayEvent,
    Scenario,
    ScenarioError,
    ScenarioPlayer,
    StepDone,
    SwitchError,
    Waiting,
    client_fault_hint,
    explain,
    find_scenario,
    load_scenario,
    shipped_scenarios,
)
from pacnet.faults.spec import (
    Corruption,
    CrashMode,
    Direction,
    Domain,
    Fault,
    FaultKind,
    FaultStatus,
)
from pacnet.protocol.outcome import Step

PROG = "pacnet chaos"
DESCRIPTION = (
    "Switch faults on a running server (its faults) and proxy (the network's) through their "
    "/admin endpoints, or play a scenario: a timeline of faults for a workshop. Each needs "
    "the admin token it printed at start as admin_token."
)
DEFAULT_SERVER = "ws://127.0.0.1:8765"
"""Where ``pacnet serve`` listens by default."""
DEFAULT_PROXY = "ws://127.0.0.1:8766"
"""Where ``pacnet proxy`` listens by default."""
TOKEN_ENV = "PACNET_ADMIN_TOKEN"
ADMIN_TIMEOUT = 5.0
"""Seconds to reach an ``/admin`` and hear back: it answers in milliseconds when it is up."""

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130

_FLAGS = {
    "direction": "--direction", "probability": "--probability", "action": "--action",
    "user": "--user", "connection": "--connection", "skip": "--skip", "count": "--count",
    "durationS": "--duration", "delayMs": "--delay-ms", "jitterMs": "--jitter-ms",
    "corruption": "--corruption", "crash": "--crash", "id": "--id",
}  # fmt: skip
"""A fault's wire name -> the ``add`` flag that sets it (for error messages)."""


class Usage(Exception):
    """The command line asks for something that makes no sense (exit 2)."""


# --- the targets -------------------------------------------------------------------------


class NotRunning(SwitchError):
    """Nothing listens at the target's address (the connection was refused)."""


@dataclass(frozen=True, slots=True)
class Target:
    """One component's ``/admin``: the server's (server faults) or the proxy's (network)."""

    name: str
    """``server`` or ``proxy``, as the messages say it."""
    url: str
    token: str
    token_flag: str
    """The flag that gives this target's token (for the message when it is refused)."""

    async def send(self, command: Callable[[AdminClient], Awaitable[AdminReply]]) -> AdminReply:
        """Connect, run one admin command, disconnect.

        Raises:
            NotRunning: nothing listens at ``url``.
            SwitchError: anything else kept the command from being heard (one line).
        """
        try:
            async with AdminClient(self.url, self.token, timeout=ADMIN_TIMEOUT) as admin:
                return await command(admin)
        except (OSError, WebSocketException, ValidationError) as exc:
            raise self._explain(exc) from None

    def _explain(self, exc: OSError | WebSocketException | ValidationError) -> SwitchError:
        """What the libraries raised, as one line for the facilitator (the most specific
        first: TimeoutError and ConnectionRefusedError are OSErrors)."""
        where = f"the {self.name} at {self.url}"
        match exc:
            case ConnectionRefusedError():
                return NotRunning(f"{where} is not running (connection refused)")
            case InvalidStatus() if exc.response.status_code == 401:
                if not self.token:
                    return SwitchError(
                        f"{where} needs its admin token: give {self.token_flag} or set "
                        f"{TOKEN_ENV} (it printed the token at start as admin_token)"
                    )
                return SwitchError(
                    f"{where} refused the admin token: it is wrong (use the admin_token it "
                    f"printed at start, or the --admin-token it was started with)"
                )
            case InvalidStatus():
                return SwitchError(
                    f"{where} answered HTTP {exc.response.status_code}: is it a pacnet {self.name}?"
                )
            case TimeoutError():
                return SwitchError(f"{where} did not answer within {ADMIN_TIMEOUT:g} s")
            case OSError():
                return SwitchError(f"cannot reach {where}: {exc.strerror or exc}")
        return SwitchError(f"{where} does not speak pacnet's admin protocol: {exc}")


class AdminSwitchboard:
    """Sends each fault to the ``/admin`` of its domain: network -> proxy, server -> server.

    Implements ``pacnet.faults.scenario.Switchboard`` for the scenario player.
    """

    def __init__(self, server: Target, proxy: Target) -> None:
        self.server = server
        self.proxy = proxy

    def target_for(self, fault: Fault) -> Target:
        """Where ``fault`` is injected.

        Raises:
            Usage: a client fault, which no remote component injects.
        """
        match fault.domain:
            case Domain.NETWORK:
                return self.proxy
            case Domain.SERVER:
                return self.server
        raise Usage(client_fault_hint(fault.kind))

    async def add(self, fault: Fault) -> Fault:
        target = self.target_for(fault)
        reply = await target.send(lambda admin: admin.add(fault))
        if not reply.ok:
            raise SwitchError(f"the {target.name} refused the fault: {reply.error}")
        mine = [s.fault for s in reply.faults if fault.id is None or s.fault.id == fault.id]
        return mine[-1]  # the injector lists its faults in the order they were added

    async def remove(self, fault: Fault) -> bool:
        assert fault.id is not None, "a fault that is on has an id"
        reply = await self.target_for(fault).send(lambda admin: admin.remove(str(fault.id)))
        return reply.ok

    async def clear(self) -> int:
        """Clear the server and, if it is running, the proxy (both, even if one fails)."""
        server, proxy = await asyncio.gather(_clear(self.server), _clear(self.proxy))
        if problems := _problems(server, proxy):
            raise problems[0]
        return sum(result for result in (server, proxy) if isinstance(result, int))


async def _clear(target: Target) -> int | SwitchError:
    """Switch every fault off on ``target``; how many were on, or why it could not."""
    try:
        before = await target.send(lambda admin: admin.list())
        await target.send(lambda admin: admin.clear())
    except SwitchError as exc:
        return exc
    return len(before.faults)


async def _list(target: Target) -> AdminReply | SwitchError:
    try:
        return await target.send(lambda admin: admin.list())
    except SwitchError as exc:
        return exc


def _targets(args: argparse.Namespace) -> AdminSwitchboard:
    token = args.token if args.token is not None else os.environ.get(TOKEN_ENV, "")
    proxy_token = args.proxy_token if args.proxy_token is not None else token
    proxy_flag = "--proxy-token" if args.proxy_token is not None else "--proxy-token or --token"
    return AdminSwitchboard(
        Target("server", args.server or DEFAULT_SERVER, token, "--token"),
        Target("proxy", args.proxy or DEFAULT_PROXY, proxy_token, proxy_flag),
    )


# --- the commands ------------------------------------------------------------------------


async def _list_command(args: argparse.Namespace, out: Console) -> int:
    board = _targets(args)
    targets = (board.server, board.proxy)
    replies = await asyncio.gather(*(_list(target) for target in targets))
    if args.json:
        shown = {t.name: _as_json(t, r) for t, r in zip(targets, replies, strict=True)}
        out.print_json(json.dumps(shown))
    else:
        for target, reply in zip(targets, replies, strict=True):
            out.print(_status_line(target, reply))
        statuses = [s for r in replies if isinstance(r, AdminReply) for s in r.faults]
        if statuses:
            out.print(_fault_table(statuses))
    return _exit_status(_problems(*replies))


async def _add_command(args: argparse.Namespace, out: Console) -> int:
    fault = _fault_from(args)
    board = _targets(args)
    target = board.target_for(fault)
    try:
        added = await board.add(fault)
    except NotRunning as exc:
        if target is board.proxy:
            raise SwitchError(f"{exc}: network faults are injected by pacnet proxy") from None
        raise
    out.print(Text.assemble((str(added.id), "bold"), f" on the {target.name}: ", added.describe()))
    return 0


async def _remove_command(args: argparse.Namespace, out: Console) -> int:
    board = _targets(args)
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
    server, proxy = await asyncio.gather(_list(board.server), _list(board.proxy))
    if problems := _problems(server, proxy):
        raise problems[0]
    found = [
        target
        for target, reply in ((board.server, server), (board.proxy, proxy))
        if isinstance(reply, AdminReply) and any(s.fault.id == fault_id for s in reply.faults)
    ]
    if len(found) > 1:
        raise Usage(f"{fault_id} is on both the server and the proxy: say which with --on")
    if not found:
        proxy_said = "is not running" if isinstance(proxy, NotRunning) else "has none either"
        raise SwitchError(f"no fault with id {fault_id!r} on the server (the proxy {proxy_said})")
    return found[0]


async def _clear_command(args: argparse.Namespace, out: Console) -> int:
    board = _targets(args)
    results = await asyncio.gather(_clear(board.server), _clear(board.proxy))
    for target, result in zip((board.server, board.proxy), results, strict=True):
        if isinstance(result, int):
            out.print(f"{target.name} {target.url}: {_faults(result)} switched off")
        else:
            out.print(_status_line(target, result))
    return _exit_status(_problems(*results))


async def _run_command(args: argparse.Namespace, out: Console) -> int:
    path = find_scenario(args.scenario)
    scenario = load_scenario(path)
    board = _targets(args)
    for target in _needed(board, scenario):
        reply = await _list(target)
        if isinstance(reply, NotRunning) and target is board.proxy:
            raise SwitchError(f"{reply}: this scenario's network faults need pacnet proxy")
        if isinstance(reply, SwitchError):
            raise reply
    out.print(_run_header(args.scenario, scenario, args.time_scale))
    player = ScenarioPlayer(scenario, board, time_scale=args.time_scale)
    stop = asyncio.Event()
    with _stop_on_signals(stop), RunView(out, scenario) as view:
        report = await player.play(view.show, stop)
    if report.interrupted:
        return EXIT_INTERRUPTED
    if report.problems:
        fail(PROG, f"{report.problems} fault(s) could not be switched: see above")
        return EXIT_FAILED
    return 0


def _needed(board: AdminSwitchboard, scenario: Scenario) -> list[Target]:
    targets = {"server": board.server, "proxy": board.proxy}
    return [targets[name] for name in _components(scenario)]


def _components(scenario: Scenario) -> list[str]:
    """The components a scenario cannot run without: the server for its faults and for any
    clear; the proxy for its network faults."""
    needed = []
    if Domain.SERVER in scenario.domains or any(step.clear for step in scenario.steps):
        needed.append("server")
    if Domain.NETWORK in scenario.domains:
        needed.append("proxy")
    return needed


def _scenarios_command(args: argparse.Namespace, out: Console) -> int:
    table = Table(title="shipped scenarios (pacnet chaos run NAME)", title_justify="left")
    for column in ("name", "steps", "length", "needs", "description"):
        table.add_column(column, justify="right" if column in ("steps", "length") else "left")
    for path in shipped_scenarios():
        scenario = load_scenario(path)
        table.add_row(
            path.stem, str(len(scenario.steps)), _clock(scenario.length),
            " + ".join(_components(scenario)), scenario.description,
        )  # fmt: skip
    out.print(table)
    return 0


# --- output ------------------------------------------------------------------------------


def _status_line(target: Target, result: AdminReply | SwitchError) -> Text:
    line = Text(f"{target.name} {target.url}: ")
    match result:
        case NotRunning():
            line.append("not running", style="dim")
        case SwitchError():
            line.append("failed (the error says why)", style="bold red")
        case AdminReply(faults=faults, seed=seed):
            line.append(f"{_faults(len(faults))} on (seed {seed})")
    return line


def _fault_table(statuses: Sequence[FaultStatus]) -> Table:
    table = Table(title_justify="left")
    for column in ("id", "domain", "step", "fault", "matched", "fired"):
        table.add_column(column, justify="right" if column in ("matched", "fired") else "left")
    for status in statuses:
        suffix = f" ({status.domain}, step {status.step})"
        table.add_row(
            status.fault.id,
            status.domain.value,
            f"{status.step} {Step(status.step).name}",
            status.description.removesuffix(suffix),
            str(status.matched),
            Text(str(status.fired), style="bold" if status.fired else "dim"),
        )
    return table


def _as_json(target: Target, result: AdminReply | SwitchError) -> dict[str, Any]:
    shown: dict[str, Any] = {"url": target.url, "running": not isinstance(result, NotRunning)}
    if isinstance(result, AdminReply):
        return {**shown, **result.model_dump(mode="json", include={"seed", "faults"})}
    return shown if isinstance(result, NotRunning) else {**shown, "error": str(result)}


def _run_header(ref: str, scenario: Scenario, time_scale: float) -> Text:
    steps = f"{len(scenario.steps)} steps over {_clock(scenario.length)}"
    if time_scale != 1:
        steps += f"; at time scale {time_scale:g}: {scenario.length * time_scale:.1f} s"
    return Text.assemble(
        "scenario ", (ref, "bold"), f": {scenario.name} ({steps})\n", (scenario.description, "dim")
    )


class RunView:
    """Shows a scenario run: a line per step (with the faults' ids), and a live countdown to
    the next step when the output is a terminal (when it is not, only the lines)."""

    def __init__(self, out: Console, scenario: Scenario) -> None:
        self._out = out
        self._total = len(scenario.steps)
        self._live = (
            Live(console=out, auto_refresh=False, transient=True) if out.is_terminal else None
        )

    def __enter__(self) -> "RunView":
        if self._live is not None:
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()

    async def show(self, event: PlayEvent) -> None:
        match event:
            case Waiting(number=number, step=step, remaining=remaining):
                if self._live is not None:
                    self._live.update(self._countdown(number, step.say, remaining), refresh=True)
            case StepDone():
                self._clear_countdown()
                self._out.print(self._step_lines(event))
            case CleanedUp():
                self._clear_countdown()
                self._out.print(self._end_line(event))

    def _clear_countdown(self) -> None:
        if self._live is not None:
            self._live.update(Text(), refresh=True)

    def _countdown(self, number: int, say: str, remaining: float) -> Text:
        # Rounded up, as a countdown is: "0.0 s" would be a step that has not come yet.
        left = f"{math.ceil(remaining)}" if remaining >= 10 else f"{math.ceil(remaining * 10) / 10}"
        line = Text("next: ", style="dim")
        line.append(f"step {number}/{self._total} in {left} s", style="bold")
        line.append(f"  {say}", style="dim")
        line.truncate(self._out.width, overflow="ellipsis")
        return line

    def _step_lines(self, event: StepDone) -> Text:
        step = event.step
        text = Text.assemble(
            (f"{_clock(step.at):>5}", "cyan"), f"  step {event.number}/{self._total}  ",
            (step.say, "bold"),
        )  # fmt: skip
        if event.cleared is not None:
            text.append(f"\n       cleared: {_faults(event.cleared)} switched off", style="dim")
        for fault in event.added:
            text.append(f"\n       on: {fault.id} on the {_component(fault)}: {fault.describe()}")
        for problem in event.problems:
            text.append(f"\n       not switched: {problem}", style="bold red")
        return text

    def _end_line(self, event: CleanedUp) -> Text:
        off = ", ".join(f"{f.id} on the {_component(f)}" for f in event.removed)
        if off:
            said = f"switched off what it had left on: {off}"
        else:
            said = "none of its faults is on" if event.interrupted else "every fault it set is off"
        text = Text("stopped early: " if event.interrupted else "done: ", style="bold")
        text.append(said)
        for problem in event.problems:
            text.append(f"\n       not switched off: {problem}", style="bold red")
        return text


def _component(fault: Fault) -> str:
    return "proxy" if fault.domain is Domain.NETWORK else "server"


def _faults(n: int) -> str:
    return f"{n} fault" if n == 1 else f"{n} faults"


def _clock(seconds: float) -> str:
    """``1:30`` (minutes:seconds) for a scenario's times."""
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


@contextlib.contextmanager
def _stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    """Ctrl-C and SIGTERM set ``stop`` (so a run can switch its faults off) while inside.
    Only the main thread can take signals; elsewhere (tests) this does nothing."""
    loop = asyncio.get_running_loop()
    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
            installed.append(signum)
    try:
        yield
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


def _problems(server: object, proxy: object) -> list[SwitchError]:
    """What went wrong addressing both, if it matters: the server must answer; a proxy
    that is not running is normal (not every workshop uses one)."""
    return [
        result
        for result in (server, proxy)
        if isinstance(result, SwitchError)
        and not (result is proxy and isinstance(result, NotRunning))
    ]


def _exit_status(problems: list[SwitchError]) -> int:
    """Each problem as one line on stderr; the exit status."""
    for problem in problems:
        fail(PROG, str(problem))
    return EXIT_FAILED if problems else 0


# --- the command line --------------------------------------------------------------------


def _fault_from(args: argparse.Namespace) -> Fault:
    """The fault ``add``'s flags (or ``--json``) describe.

    Raises:
        Usage: no fault, both forms, or a fault that makes no sense.
    """
    flags = {
        "kind": args.kind, "direction": args.direction, "probability": args.probability,
        "action": args.action, "user": args.user, "connection": args.connection,
        "skip": args.skip, "count": args.count, "durationS": args.duration,
        "delayMs": args.delay_ms, "jitterMs": args.jitter_ms, "corruption": args.corruption,
        "crash": args.crash, "id": args.id,
    }  # fmt: skip
    given = {name: value for name, value in flags.items() if value is not None}
    if args.json is not None:
        if given:
            raise Usage("--json takes the whole fault: give no KIND or other fault flags with it")
        try:
            fault = Fault.model_validate_json(args.json)
        except ValidationError as exc:
            raise Usage(f"--json: {explain(exc)}") from None
    elif args.kind is None:
        raise Usage("add needs a KIND (or --json FAULT)")
    else:
        try:
            fault = Fault.model_validate(given)
        except ValidationError as exc:
            raise Usage(_flag_problem(exc)) from None
    if fault.domain is Domain.CLIENT:
        raise Usage(client_fault_hint(fault.kind))
    return fault


def _flag_problem(exc: ValidationError) -> str:
    """The first problem of a fault built from flags, naming the flag (``--probability: ...``)."""
    first = exc.errors()[0]
    message = str(first["msg"]).removeprefix("Value error, ")
    loc = first["loc"]
    return f"{_FLAGS.get(str(loc[0]), loc[0])}: {message}" if loc else message


def _add_target_arguments(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """--server, --proxy and their tokens: on ``chaos`` itself (``top``) and again on each
    command (so ``pacnet chaos list --server URL`` works too) without overriding."""

    def default(value: object) -> object:
        return value if top else argparse.SUPPRESS

    parser.add_argument(
        "--server", type=ws_url, default=default(None), metavar="URL",
        help=f"the board server, for server faults ({DEFAULT_SERVER})",
    )  # fmt: skip
    parser.add_argument(
        "--proxy", type=ws_url, default=default(None), metavar="URL",
        help=f"the chaos proxy, for network faults ({DEFAULT_PROXY})",
    )  # fmt: skip
    parser.add_argument(
        "--token", default=default(None), metavar="TOKEN",
        help=f"admin token (default: ${TOKEN_ENV}); each component prints its own at start "
        "as admin_token",
    )  # fmt: skip
    parser.add_argument(
        "--proxy-token", default=default(None), metavar="TOKEN",
        help="the proxy's admin token, if not the same as --token",
    )  # fmt: skip


def _add_add_arguments(add: argparse.ArgumentParser) -> None:
    add.add_argument(
        "kind", nargs="?", choices=[kind.value for kind in FaultKind], metavar="KIND",
        help="the fault: " + _kinds_by_domain(),
    )  # fmt: skip
    add.add_argument("--direction", choices=[d.value for d in Direction], help="network faults")
    add.add_argument("--probability", type=finite_number, metavar="P", help="chance per match (1)")
    add.add_argument("--action", metavar="ACTION", help="only requests of this action")
    add.add_argument("--user", metavar="USER_ID", help="only requests of this user")
    add.add_argument("--connection", type=whole_number, metavar="N", help="only this connection")
    add.add_argument(
        "--skip", type=whole_number, metavar="N", help="let this many matches pass first"
    )
    add.add_argument("--count", type=whole_number, metavar="N", help="fire at most this many times")
    add.add_argument(
        "--duration", type=finite_number, metavar="SECONDS", help="switch off after this long"
    )
    add.add_argument("--delay-ms", type=whole_number, metavar="MS", help="delay: fixed part")
    add.add_argument("--jitter-ms", type=whole_number, metavar="MS", help="delay: random extra")
    add.add_argument("--corruption", choices=[c.value for c in Corruption], help="corrupt: how")
    add.add_argument("--crash", choices=[c.value for c in CrashMode], help="crash: how (exit)")
    add.add_argument("--id", metavar="ID", help="the fault's id (else the component numbers it)")
    add.add_argument(
        "--json", metavar="FAULT", help="the whole fault as JSON, as the admin endpoint takes it"
    )


def _kinds_by_domain() -> str:
    groups: dict[Domain, list[str]] = {}
    for kind in FaultKind:
        groups.setdefault(Fault.model_construct(kind=kind).domain, []).append(kind.value)
    where = {Domain.NETWORK: "network (the proxy)", Domain.SERVER: "server",
             Domain.CLIENT: "client (switched in the window, not here)"}  # fmt: skip
    return "; ".join(f"{where[domain]}: {', '.join(kinds)}" for domain, kinds in groups.items())


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
    _add_add_arguments(add)

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
        "--time-scale", type=positive_float, default=1.0, metavar="F",
        help="multiply every time by F: below 1 plays faster, for rehearsals (%(default)s)",
    )  # fmt: skip

    commands.add_parser(
        "scenarios", help="the shipped scenarios",
        description="List the shipped scenarios with what each is for.",
    )  # fmt: skip


_COMMANDS: dict[str, Callable[[argparse.Namespace, Console], Coroutine[Any, Any, int]]] = {
    "list": _list_command,
    "add": _add_command,
    "remove": _remove_command,
    "clear": _clear_command,
    "run": _run_command,
}


def run(args: argparse.Namespace) -> int:
    """Run the ``pacnet chaos`` command ``args`` describe; returns the exit status."""
    out = Console(highlight=False, soft_wrap=not sys.stdout.isatty())
    try:
        if args.chaos_command == "scenarios":
            return _scenarios_command(args, out)
        return asyncio.run(_COMMANDS[args.chaos_command](args, out))
    except Usage as exc:
        fail(PROG, str(exc))
        return EXIT_USAGE
    except (SwitchError, ScenarioError) as exc:
        fail(PROG, str(exc))
        return EXIT_FAILED
