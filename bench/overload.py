"""A server pushed past what it can serve: does it shed, or collapse?

    uv run python bench/overload.py [--users 200,400,600,800,1000,1200] [--hold 5]
                                    [--workload playing|bots] [--json FILE]

Users join in stages, as in ``bench/users.py``, and each makes 10 calls a second (the
window's loop by default, whose ``findAll :pacman`` grows with the crowd, so each stage costs
the server more per user than the last). Unlike there, the users are an **open loop**: a user
sends on every turn whether or not its last replies came back, so the offered load does not
fall when the server slows, as a crowd's does not. Three runs, each on a fresh server process
on a core of its own:

- **no shedding** (``pacnet serve --max-wait 0``): every request is served, however late;
- **shedding** (``pacnet serve``'s defaults), users that take no notice of ``OVERLOADED``;
- **shedding, clients wait** as pacnet's do: told ``OVERLOADED``, a user lets its turns pass
  for the reply's ``retryAfterMs``.

For each stage, over ``--hold`` seconds: the calls offered and served ``ok`` per second, and
those served in time (within the client's 500 ms: the goodput), those shed, the p50 and p99
of the served calls' round trips (the **admitted** latency), the oldest call still without a
reply at the end of the hold (how far behind the server is), and the server's CPU. A stage
whose calls wait ever longer, past the client's deadline, has collapsed: its players' calls
end UNKNOWN although the server does all the work.
"""

import argparse
import asyncio
import functools
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from fleet import Fleet, OpenUser
from messages import article_text, join_text, leave_text, window_text
from servers import (
    Server,
    Target,
    machine,
    own_cpu_seconds,
    pacnet,
    pick_cpus,
    raise_fd_limit,
    running,
)
from users import counts

from pacnet.client.tally import percentile

PERIOD = 0.1
"""Seconds between a user's calls: 10 a second."""
DEADLINE = 0.5
"""The client's reply timeout: a round trip longer than this ends UNKNOWN."""
SETTLE = 1.0
"""Seconds after a stage's users joined before it is measured."""
WORKLOADS = {"playing": window_text, "bots": article_text}

RUNS: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("no shedding", ("--max-wait", "0"), False),
    ("shedding", (), False),
    ("shedding, clients wait", (), True),
)
"""Each run: its name, ``pacnet serve``'s flags, whether the users obey ``retryAfterMs``."""


@dataclass
class Stage:
    """One run at one number of users, and what its hold saw."""

    run: str
    users: int
    seconds: float
    offered: float
    """Calls sent per second."""
    goodput: float
    """Calls answered ``ok`` per second."""
    shed: float
    """Calls answered ``OVERLOADED`` per second."""
    deferred: float
    """Turns per second users let pass, told to wait."""
    wrong: int
    p50_ms: float
    p99_ms: float
    """Of the calls served ``ok`` (the admitted ones)."""
    shed_p99_ms: float
    """How long a shed call took to be told so."""
    late: float
    """Share of the served calls slower than the client's deadline (they end UNKNOWN)."""
    behind_s: float
    """The oldest call still without a reply when the hold ended."""
    server_cpu: float
    load_cpu: float


def _ms(values: Sequence[float], q: float) -> float:
    found = percentile(values, q)
    return float("nan") if found is None else round(found * 1000, 1)


async def ramp(
    name: str, target: Target, obeys: bool, users: int, rates: Sequence[float], hold: float,
    workload: str, cpu: int | None,
) -> list[Stage]:  # fmt: skip
    """Join ``users`` to a fresh server, then raise their calls a second stage by stage."""
    stages: list[Stage] = []
    async with running(target, cpu) as server:
        await asyncio.sleep(SETTLE)
        make_user = functools.partial(OpenUser, obeys=obeys)
        fleet = Fleet(server.name, server.url, WORKLOADS[workload], join_text, leave_text,
                      make_user=make_user, rejoin=True)  # fmt: skip
        try:
            opened = await fleet.add(range(users))
            if opened.refused:
                print(f"{name}: {opened.refused} users not joined: "
                      f"{(opened.first_refusal or '')[:120]}", file=sys.stderr)  # fmt: skip
            for rate in rates:
                async with fleet.pacing(1.0 / rate):
                    await asyncio.sleep(SETTLE)
                    stage = await _hold(name, server, fleet, hold)
                stages.append(stage)
                _progress(stage)
        finally:
            await fleet.close()
    return stages


async def _hold(name: str, server: Server, fleet: Fleet, hold: float) -> Stage:
    tally = fleet.tally
    tally.reset()
    server_cpu, load_cpu = server.cpu_seconds(), own_cpu_seconds()
    began = time.perf_counter()
    await asyncio.sleep(hold)
    ended = time.perf_counter()
    seconds = ended - began
    server_cpu = server.cpu_seconds() - server_cpu
    load_cpu = own_cpu_seconds() - load_cpu
    served = sorted(tally.latencies)
    behind = max((user.oldest(ended) for user in fleet.users if isinstance(user, OpenUser)),
                 default=0.0)  # fmt: skip
    return Stage(
        run=name, users=len(fleet.users), seconds=round(seconds, 2),
        offered=round(tally.sent / seconds), goodput=round(len(served) / seconds),
        shed=round(tally.shed / seconds), deferred=round(tally.deferred / seconds),
        wrong=tally.wrong, p50_ms=_ms(served, 0.5), p99_ms=_ms(served, 0.99),
        shed_p99_ms=_ms(sorted(tally.shed_latencies), 0.99),
        late=round(sum(1 for s in served if s > DEADLINE) / len(served), 3) if served else 0.0,
        behind_s=round(behind, 2), server_cpu=round(server_cpu / seconds, 2),
        load_cpu=round(load_cpu / seconds, 2),
    )  # fmt: skip


def _progress(stage: Stage) -> None:
    print(
        f"{stage.run:>22} {stage.users:>5} users  offered {stage.offered:>6,}/s  "
        f"ok {stage.goodput:>6,}/s  shed {stage.shed:>6,}/s  p50 {stage.p50_ms} ms  "
        f"p99 {stage.p99_ms} ms  behind {stage.behind_s} s  CPU server {stage.server_cpu:.0%} "
        f"load {stage.load_cpu:.0%}",
        file=sys.stderr,
    )


def table(stages: Sequence[Stage]) -> str:
    """Every stage of every run, as a markdown table."""
    lines = [
        "| run | offered/s | ok/s | ok in time/s | shed/s | ok p50 ms | ok p99 ms "
        "| oldest waiting s | server CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in stages:
        lines.append(
            f"| {s.run} | {s.offered:,} | {s.goodput:,} | {round(s.goodput * (1 - s.late)):,} | "
            f"{s.shed:,} | {s.p50_ms} | {s.p99_ms} | {s.behind_s} | {s.server_cpu:.0%} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=500, help="users, joined before the stages")
    parser.add_argument(
        "--rates",
        type=counts,
        default=[4, 8, 12, 16, 20],
        help="calls a second each user makes, stage by stage",
    )
    parser.add_argument("--hold", type=float, default=5.0, help="seconds each stage is measured")
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="playing")
    parser.add_argument("--runs", default="all", help="'all', or a run's index (0, 1, 2)")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument(
        "--shed-flags",
        default="",
        help="more flags for the shedding runs' "
        "server, e.g. '--max-wait 0.25 --overload-wait 0.025'",
    )
    args = parser.parse_args(argv)
    raise_fd_limit()
    load_cpu, server_cpu = pick_cpus()
    if load_cpu is not None:
        os.sched_setaffinity(0, {load_cpu})
    runs = RUNS if args.runs == "all" else (RUNS[int(args.runs)],)
    stages: list[Stage] = []
    for name, flags, obeys in runs:
        target = pacnet(*(flags or args.shed_flags.split()))
        stages += asyncio.run(
            ramp(name, target, obeys, args.users, args.rates, args.hold, args.workload, server_cpu)
        )
    print(table(stages))
    if args.json:
        args.json.write_text(json.dumps({
            "machine": machine(load_cpu, server_cpu), "workload": args.workload,
            "hold": args.hold, "stages": [asdict(s) for s in stages],
        }, indent=2))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
