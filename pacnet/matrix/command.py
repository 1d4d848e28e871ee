"""Run the matrix: every (scenario, call, way to an outcome), a few at a time, each on its
own server behind its own proxy.

A case spends most of its time waiting (the loop's tenth of a second between turns, a lost
request's or reply's 300 ms), so cases run side by side in one event loop, ``jobs`` at a time.
"""

import asyncio
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pacnet.matrix.case import Case, CaseResult, run_case
from pacnet.matrix.provoke import WAYS
from pacnet.matrix.scenarios import Scenario


@dataclass(frozen=True)
class MatrixRun:
    results: tuple[CaseResult, ...]
    seconds: float

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.results)


def cases_of(scenarios: Sequence[Scenario]) -> list[Case]:
    """Every case: each scenario's every call ending each of the five outcomes, each way."""
    return [Case(s, call, way) for s in scenarios for call in s.calls for way in WAYS]


async def run_matrix(
    scenarios: Sequence[Scenario],
    *,
    jobs: int,
    done: Callable[[CaseResult], None] = lambda result: None,
) -> MatrixRun:
    """Run every case of ``scenarios``, ``jobs`` at a time; ``done`` hears of each as it ends."""
    started = time.perf_counter()
    cases = cases_of(scenarios)
    slots = asyncio.Semaphore(jobs)
    with tempfile.TemporaryDirectory(prefix="pacnet-matrix-") as folder:
        mazes = {s.name: _write_maze(Path(folder), s) for s in scenarios}

        async def one(index: int, case: Case) -> CaseResult:
            async with slots:
                result = await run_case(case, mazes[case.scenario.name], index=index)
            done(result)
            return result

        results = await asyncio.gather(*(one(i, case) for i, case in enumerate(cases)))
    return MatrixRun(tuple(results), time.perf_counter() - started)


def _write_maze(folder: Path, scenario: Scenario) -> Path:
    """The scenario's maze as a layout file, which is what a server is started with."""
    path = folder / f"{scenario.name}.txt"
    path.write_text(f"; {scenario.title}\n{scenario.maze.strip(chr(10))}\n", encoding="utf-8")
    return path
