"""A fleet of bots over several processes: each runs its share on its own event loop and
streams its counts back to this one, which adds them up for one display and one report.

Workers are spawned (not forked: a fork would copy the parent's event loop and, with an
embedded server, its listening socket) and ignore SIGINT: Ctrl-C reaches the parent, which
stops them through an event, so every worker still sends its final counts.
"""

import asyncio
import contextlib
import logging
import multiprocessing
import queue
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event

from pacnet.bots.counts import FleetCounts, Gauges, Progress, Samples
from pacnet.bots.fleet import Fleet, FleetPlan
from pacnet.cmdline.logs import configure_logging

POLL = 0.1
"""Seconds between a worker's looks at the stop event, and the parent's at its queue."""
LATE = 15.0
"""Seconds after the run's end a worker may take to close its connections and report."""


def shares(bots: int, processes: int) -> list[range]:
    """Bot indices for each process: as even as they go, the first ones one larger."""
    size, extra = divmod(bots, processes)
    ranges, start = [], 0
    for k in range(processes):
        end = start + size + (k < extra)
        ranges.append(range(start, end))
        start = end
    return ranges


async def run_in_processes(
    plan: FleetPlan,
    processes: int,
    counts: FleetCounts,
    stop: asyncio.Event,
    started: Callable[[float], None],
) -> list[str]:
    """Run ``plan`` over ``processes`` worker processes until its end or ``stop``, adding
    what they report to ``counts``. The run's clock starts when every worker is ready (a
    spawned interpreter takes a second to import pacnet), and ``started`` hears its epoch.
    Returns what went wrong with workers, in words (empty when every one reported)."""
    context = multiprocessing.get_context("spawn")
    progress: Queue[Progress] = context.Queue()
    halt, go = context.Event(), context.Event()
    epoch = context.Value("d", 0.0)
    with _sigint_ignored():  # inherited through exec: only the parent hears Ctrl-C
        workers = [
            context.Process(
                target=work,
                args=(plan, k, part, progress, halt, go, epoch),
                name=f"pacnet-bots-{k}",
                daemon=True,
            )
            for k, part in enumerate(shares(plan.bots, processes))
        ]
        for worker in workers:
            worker.start()
    problems: list[str] = []
    ready = asyncio.get_running_loop().time() + LATE
    while len(counts.gauges_by_worker.keys() | counts.finished) < len(workers):
        if stop.is_set():
            break
        if not await _receive(progress, counts, workers, problems, ready):
            break
    epoch.value = time.time()
    started(epoch.value)
    go.set()
    give_up = asyncio.get_running_loop().time() + plan.duration + LATE
    while len(counts.finished) < len(workers):
        if stop.is_set() and not halt.is_set():
            halt.set()
            give_up = min(give_up, asyncio.get_running_loop().time() + LATE)
        if not await _receive(progress, counts, workers, problems, give_up):
            break
    halt.set()
    for worker in workers:
        await asyncio.to_thread(worker.join, LATE)
        if worker.is_alive():
            worker.kill()
    return problems


async def _receive(
    progress: "Queue[Progress]",
    counts: FleetCounts,
    workers: Sequence[BaseProcess],
    problems: list[str],
    give_up: float,
) -> bool:
    """Take the next message into ``counts`` (or note the workers that died without their
    final one); False when ``give_up`` (loop time) has passed."""
    try:
        counts.receive(await asyncio.to_thread(progress.get, True, POLL))
        return True
    except queue.Empty:
        pass
    for k, worker in enumerate(workers):
        if k not in counts.finished and not worker.is_alive() and progress.empty():
            counts.finished.add(k)
            problems.append(f"worker {k} ended with status {worker.exitcode} before its report")
    if asyncio.get_running_loop().time() > give_up:
        late = [k for k in range(len(workers)) if k not in counts.finished]
        problems.append(f"workers {late} did not report in time; counted as they last were")
        return False
    return True


def work(
    plan: FleetPlan,
    worker: int,
    indices: range,
    progress: "Queue[Progress]",
    halt: Event,
    go: Event,
    epoch: "Synchronized[float]",
) -> None:
    """A worker process: say it is ready, wait for ``go``, then run bots ``indices`` of
    ``plan`` from ``epoch`` and put their counts on ``progress`` until the end or ``halt``."""
    configure_logging("console", level=logging.WARNING)
    progress.put(Progress(worker, Gauges(), Samples()))
    while not go.wait(POLL):
        if halt.is_set():
            progress.put(Progress(worker, Gauges(), Samples(), final=True))
            return
    try:
        asyncio.run(_work(replace(plan, epoch=epoch.value), worker, indices, progress, halt))
    except Exception as exc:  # one line; the parent says the worker ended without reporting
        raise SystemExit(
            f"pacnet bots: error: worker {worker}: {type(exc).__name__}: {exc}"
        ) from None


async def _work(
    plan: FleetPlan, worker: int, indices: range, progress: "Queue[Progress]", halt: Event
) -> None:
    fleet = Fleet(plan, indices, progress.put, worker=worker)
    stop = asyncio.Event()

    async def watch_halt() -> None:
        while not halt.is_set():  # noqa: ASYNC110 (a process's Event: nothing to await)
            await asyncio.sleep(POLL)
        stop.set()

    async with asyncio.TaskGroup() as tasks:
        watcher = tasks.create_task(watch_halt())
        await fleet.run(stop)
        watcher.cancel()


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    before = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_DFL if before is None else before)
