"""How the matrix looks: the grids for a projector (rich), and every case for machines (JSON).

Two grids, each under 80 columns. By scenario: a column per outcome, headed by the steps
whose faults provoke it, each cell counting every way the scenario's calls were made to end
that outcome. In total: a row per way to an outcome (the outcome, the step its fault breaks,
the domain that injects it), a column per call. A cell is the cases passed out of those run;
a cell with a failure is marked and reversed, so it shows from the back of the room.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from pacnet.client.report import outcome_text
from pacnet.matrix.case import CaseResult
from pacnet.matrix.command import MatrixRun
from pacnet.matrix.provoke import WAYS, Way
from pacnet.matrix.scenarios import CALLS
from pacnet.protocol.outcome import Outcome


def _steps(outcome: Outcome) -> str:
    """Where ``outcome``'s faults strike: ``step 1``, ``steps 2 5 6``, ``no fault``."""
    steps = [way.step for way in WAYS if way.outcome is outcome and way.step is not None]
    if not steps:
        return "no fault"
    return f"step{'s' if len(steps) > 1 else ''} {' '.join(str(s.value) for s in steps)}"


def _heading(outcome: Outcome) -> Text:
    """``UNKNOWN`` in its colour, and under it the steps its faults break."""
    text = outcome_text(outcome)
    text.append(f"\n{_steps(outcome)}", style="dim")
    return text


def _cell(results: Sequence[CaseResult], outcome: Outcome) -> Text:
    if not results:
        return Text("-", style="dim")
    passed = sum(r.passed for r in results)
    if passed == len(results):
        return Text(f"{passed}/{len(results)}", style=outcome.colour)
    return Text(f"x {passed}/{len(results)}", style="bold reverse red")


def _table(title: str) -> Table:
    # Two spaces between columns, not rich's three, so that the grids fit 80 columns.
    return Table(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
        padding=(0, 0, 0, 1),
    )  # fmt: skip


def _total(results: Sequence[CaseResult]) -> Text:
    passed = sum(r.passed for r in results)
    style = "bold" if passed == len(results) else "bold reverse red"
    return Text(f"{passed}/{len(results)}", style=style)


def calls_grid(results: Sequence[CaseResult], title: str) -> Table:
    """A row per way to an outcome, a column per call, over ``results``."""
    table = _table(title)
    table.add_column("outcome")
    table.add_column("step", justify="right")
    table.add_column("domain")
    calls = [call for call in CALLS if any(r.case.call == call for r in results)]
    for call in calls:
        table.add_column(call, justify="right")
    table.add_column("passed", justify="right")
    for way in WAYS:
        row = [r for r in results if r.case.way == way]
        if row:
            cells = [_cell([r for r in row if r.case.call == call], way.outcome) for call in calls]
            table.add_row(*_way(way), *cells, _total(row))
    return table


def _way(way: Way) -> tuple[Text, str, str]:
    """A row's heading: the outcome in its colour, the step its fault breaks, the domain."""
    step = way.step
    return outcome_text(way.outcome), str(step.value) if step is not None else "-", way.domain


def scenarios_grid(results: Sequence[CaseResult]) -> Table:
    """Scenario by outcome: each cell counts the scenario's calls, every way."""
    table = _table("by scenario: each cell counts the scenario's calls, every way")
    table.add_column("scenario")
    for outcome in Outcome:
        table.add_column(_heading(outcome), justify="right")
    table.add_column("passed", justify="right")
    for name in dict.fromkeys(r.case.scenario.name for r in results):
        row = [r for r in results if r.case.scenario.name == name]
        cells = [_cell([r for r in row if r.case.outcome is o], o) for o in Outcome]
        table.add_row(name, *cells, _total(row))
    return table


def failures(results: Iterable[CaseResult]) -> list[Text]:
    """One line per failed case: which, what the client did, and why it failed."""
    lines = []
    for result in results:
        if not result.passed:
            line = Text(f"FAILED {result.case.id}: ", style="bold red")
            line.append(f"{result.did()}; ")
            line.append("; ".join(result.reasons), style="red")
            lines.append(line)
    return lines


def grid(run: MatrixRun, *, one_scenario: bool) -> Group:
    """Everything ``pacnet matrix`` prints: the grids, the failures, and the count."""
    results = run.results
    parts: list[Any] = []
    if one_scenario:
        title = f"{results[0].case.scenario.title}: each call, each way" if results else "no cases"
        parts.append(calls_grid(results, title))
    else:
        parts.append(scenarios_grid(results))
        parts.append(calls_grid(results, "in total: each call, each way to each outcome"))
    parts.extend(failures(results))
    failed = sum(not r.passed for r in results)
    summary = Text(f"{len(results)} cases, {len(results) - failed} passed, ")
    summary.append(f"{failed} failed", style="bold red" if failed else "")
    summary.append(f", in {run.seconds:.1f} s")
    parts.append(summary)
    return Group(*parts)


def as_json(run: MatrixRun, jobs: int) -> dict[str, Any]:
    """Every case, as ``pacnet matrix --json`` writes it."""
    results = run.results
    return {
        "total": len(results),
        "passed": sum(r.passed for r in results),
        "failed": sum(not r.passed for r in results),
        "seconds": round(run.seconds, 3),
        "jobs": jobs,
        "cases": [_case(r) for r in results],
    }


def _case(result: CaseResult) -> dict[str, Any]:
    case, how, observed = result.case, result.provocation, result.observed
    return {
        "id": case.id,
        "scenario": case.scenario.name,
        "title": case.scenario.title,
        "call": case.call,
        "outcome": case.outcome.value,
        "way": case.way.name or None,
        "step": how.step,
        "stepName": how.step_name,
        "domain": how.domain,
        "fault": how.as_json(),
        "expected": {
            "attempts": [o.value for o in result.expected.attempts],
            "serverRuns": result.expected.server_runs,
            "client": result.expected.says,
            "end": result.end.checked(),
        },
        "did": {
            "attempts": [o.value for o in observed.attempts] if observed.attempts else None,
            "serverRuns": observed.server_runs,
            "removes": observed.removes,
            "summary": result.did(),
        },
        "end": observed.truth.as_json(),
        "seen": list(observed.seen) if observed.seen else None,
        "passed": result.passed,
        "why": list(result.reasons),
        "seconds": round(result.seconds, 3),
    }
