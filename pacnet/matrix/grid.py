"""How the matrix looks: the grid for a projector (rich), and every case for machines (JSON).

The grid is call by outcome; each column is headed by its outcome in its colour and the step
its fault breaks, each cell is the cases passed out of those run. A cell with a failure is
marked and reversed, so it shows from the back of the room.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from pacnet.matrix.case import CaseResult
from pacnet.matrix.command import MatrixRun
from pacnet.matrix.provoke import provoke
from pacnet.matrix.scenarios import CALLS
from pacnet.protocol.outcome import Outcome

_HOW = {outcome: provoke("any", outcome, "any") for outcome in Outcome}


def _heading(outcome: Outcome) -> Text:
    """``UNKNOWN`` in its colour, and under it where its fault strikes: ``step 5 server``."""
    how = _HOW[outcome]
    text = Text(outcome.value, style=f"bold {outcome.colour}")
    where = "no fault\n" if how.fault is None else f"step {how.step}\n{how.domain}"
    text.append(f"\n{where}", style="dim")
    return text


def _cell(results: Sequence[CaseResult], outcome: Outcome) -> Text:
    if not results:
        return Text("-", style="dim")
    passed = sum(r.passed for r in results)
    if passed == len(results):
        return Text(f"{passed}/{len(results)}", style=outcome.colour)
    return Text(f"x {passed}/{len(results)}", style="bold reverse red")


def _table(title: str, first: str) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column(first)
    for outcome in Outcome:
        table.add_column(_heading(outcome), justify="right")
    table.add_column("passed", justify="right")
    return table


def _total(results: Sequence[CaseResult]) -> Text:
    passed = sum(r.passed for r in results)
    style = "bold" if passed == len(results) else "bold reverse red"
    return Text(f"{passed}/{len(results)}", style=style)


def calls_grid(results: Sequence[CaseResult], title: str) -> Table:
    """Call by outcome, over ``results``."""
    table = _table(title, "call")
    for call in CALLS:
        row = [r for r in results if r.case.call == call]
        if row:
            cells = [_cell([r for r in row if r.case.outcome is o], o) for o in Outcome]
            table.add_row(call, *cells, _total(row))
    return table


def scenarios_grid(results: Sequence[CaseResult]) -> Table:
    """Scenario by outcome: each cell counts the scenario's calls."""
    table = _table("by scenario: each cell counts the scenario's calls", "scenario")
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
        title = f"{results[0].case.scenario.title}: call by outcome" if results else "no cases"
        parts.append(calls_grid(results, title))
    else:
        parts.append(scenarios_grid(results))
        parts.append(calls_grid(results, "in total: call by outcome"))
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
