"""What ``pacnet chaos`` shows: status lines, fault tables, and a scenario run as it plays.

Everything here turns results into rich text; nothing here reaches a component.
"""

import math
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from pacnet.chaos.switchboard import NotRunning, Target, components
from pacnet.cluster.config import LOBBY_CHECKED
from pacnet.faults.admin import AdminReply
from pacnet.faults.scenario import (
    CleanedUp,
    PlayEvent,
    Scenario,
    StepDone,
    SwitchError,
    Waiting,
)
from pacnet.faults.spec import Domain, Fault, FaultStatus
from pacnet.protocol.outcome import Step


def status_line(target: Target, result: AdminReply | SwitchError) -> Text:
    """``server ws://...: 3 faults on (seed 7)``, or why it could not say."""
    line = Text(f"{target.name} {target.url}: ")
    match result:
        case NotRunning():
            line.append("not running", style="dim")
        case SwitchError():
            line.append("failed (the error says why)", style="bold red")
        case AdminReply(faults=faults, seed=seed):
            line.append(f"{faults_count(len(faults))} on (seed {seed})")
    return line


def added_line(fault: Fault, target: Target) -> Text:
    """``s1 on the server: crash abort x2 (server, step 2)``."""
    return Text.assemble((str(fault.id), "bold"), f" on the {target.name}: ", fault.describe())


def fault_table(statuses: Sequence[FaultStatus]) -> Table:
    """A row for each fault that is on: where, at which step, and what it has done."""
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


def as_json(target: Target, result: AdminReply | SwitchError) -> dict[str, Any]:
    """What ``list --json`` says of one target."""
    shown: dict[str, Any] = {"url": target.url, "running": not isinstance(result, NotRunning)}
    if isinstance(result, AdminReply):
        return {**shown, **result.model_dump(mode="json", include={"seed", "faults"})}
    return shown if isinstance(result, NotRunning) else {**shown, "error": str(result)}


def scenario_table(scenarios: Iterable[tuple[str, Scenario]]) -> Table:
    """The shipped scenarios by name: how long, what they need, what they are for."""
    table = Table(title="shipped scenarios (pacnet chaos run NAME)", title_justify="left")
    for column in ("name", "steps", "length", "needs", "description"):
        table.add_column(column, justify="right" if column in ("steps", "length") else "left")
    for name, scenario in scenarios:
        table.add_row(
            name, str(len(scenario.steps)), _clock(scenario.length),
            " + ".join(components(scenario)), scenario.description,
        )  # fmt: skip
    return table


def run_header(ref: str, scenario: Scenario, time_scale: float) -> Text:
    """What a run plays, and for how long."""
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
            text.append(
                f"\n       cleared: {faults_count(event.cleared)} switched off", style="dim"
            )
        for fault in event.added:
            text.append(f"\n       on: {fault.id} on the {_component(fault)}: {fault.describe()}")
        if event.lobby_check is not None:
            text.append(f"\n       the lobby's balancer checks: {LOBBY_CHECKED[event.lobby_check]}")
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
        if event.lobby_check is not None:
            text.append(f"; the lobby's balancer checks {LOBBY_CHECKED[event.lobby_check]} again")
        for problem in event.problems:
            text.append(f"\n       not switched off: {problem}", style="bold red")
        return text


def _component(fault: Fault) -> str:
    return "proxy" if fault.domain is Domain.NETWORK else "server"


def faults_count(n: int) -> str:
    """``1 fault``, ``3 faults``."""
    return f"{n} fault" if n == 1 else f"{n} faults"


def _clock(seconds: float) -> str:
    """``1:30`` (minutes:seconds) for a scenario's times."""
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"
