"""A group of servers behind HAProxy against one server alone: what HAProxy adds to a round
trip, and how many playing users each way holds.

    uv run python bench/cluster.py [--users 200,400,600,800,1000,1200] [--hold 5]
                                   [--rooms 8] [--json FILE]

Three runs, each on fresh processes: ``pacnet cluster serve`` board servers keeping their
rooms in a ``redis-server`` of the run's own, and HAProxy from the OS's packages with the
configuration ``pacnet cluster up`` writes (``pacnet/cluster/haproxy.cfg``):

- **direct**: one server, the users connecting to it;
- **haproxy**: the same, the users connecting through HAProxy;
- **two**: two servers behind HAProxy, the rooms placed over them by their names' hash.

Users join in stages, each making 10 calls a second (the bots' loop: ``move``, ``findAll
:ghost``, ``find``), dealt over ``--rooms`` rooms (user N plays in ``bench-(N mod rooms)``). A
stage **holds** when every user joined, no connection was lost, every reply was right, at most
1% of turns were skipped (a reply slower than the pace) and the p99 round trip is within
500 ms, the client's reply timeout. Latency is per round trip, from writing a request to
reading its reply.

The board servers share one core; HAProxy, Redis and the load generator the other. On a
machine of two cores this is all that can be shown: the two servers of **two** split one
core between them, so the run measures what splitting costs, not what a second core would
add. What N cores would hold follows from the figures: the rooms of a group share nothing but
Redis (a few calls a second each) and HAProxy (its CPU per call is measured here).
"""

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from fleet import Fleet
from messages import article_text, join_text, leave_text
from servers import MAZE, ROOT, Server, Target, machine, own_cpu_seconds, pick_cpus, running

from pacnet.client.tally import percentile
from pacnet.cluster.components import HAProxy, Redis, free_port
from pacnet.cluster.config import Member, haproxy_config, write_maps
from pacnet.protocol.rooms import room_url

PERIOD = 0.1
"""Seconds between a user's calls: 10 a second."""
LATENCY_LIMIT = 0.5
SKIP_LIMIT = 0.01
SETTLE = 1.0
RUNS = ("direct", "haproxy", "two")


@dataclass
class Stage:
    """One run holding one number of users, and how that went."""

    run: str
    users: int
    joined: int
    calls_per_second: float
    p50_ms: float
    p99_ms: float
    skipped: float
    lost: int
    wrong: int
    servers_cpu: float
    """Cores the board servers used, together."""
    haproxy_cpu: float
    """Cores HAProxy used (0 when it is not in the path)."""
    broke: str | None

    @property
    def held(self) -> bool:
        return self.broke is None


def member_target(name: str, redis_port: int) -> Target:
    """``pacnet cluster serve`` on the bench's penned maze, keeping its rooms in Redis."""
    command = (
        sys.executable, "-m", "pacnet", "cluster", "serve", "--name", name, "--port", "0",
        "--redis", f"127.0.0.1:{redis_port}", "--log-format", "json", "--layout", str(MAZE),
    )  # fmt: skip
    return Target(name, command, lambda _request, reply: b'"status":"ok"' in reply, cwd=ROOT)


@asynccontextmanager
async def group(
    run: str, work: Path, cpus: tuple[int | None, int | None]
) -> AsyncIterator[tuple[str, list[Server], int | None]]:
    """The run's servers (and HAProxy in front, but for ``direct``); yields the URL users
    connect to, the servers, and HAProxy's process id (None: not in the path)."""
    load_cpu, server_cpu = cpus
    redis = Redis.start(work / "redis")
    if load_cpu is not None:
        os.sched_setaffinity(redis.component.process.pid, {load_cpu})
    try:
        async with AsyncExitStack() as stack:
            names = ["s1", "s2"] if run == "two" else ["s1"]
            servers = [
                await stack.enter_async_context(running(member_target(n, redis.port), server_cpu))
                for n in names
            ]
            if run == "direct":
                yield servers[0].url, servers, None
                return
            port = free_port()
            members = [Member(s.name, "127.0.0.1", int(s.url.rsplit(":", 1)[1])) for s in servers]
            (work / "haproxy").mkdir()
            write_maps(work / "haproxy")
            config = haproxy_config(
                work / "haproxy", members, host="127.0.0.1", port=port, stats_port=free_port()
            )
            haproxy = HAProxy.start(work / "haproxy", config, ready_port=port)
            if load_cpu is not None:
                os.sched_setaffinity(haproxy.component.process.pid, {load_cpu})
            try:
                for _ in range(100):  # until HAProxy's health checks see every server up
                    seen = haproxy.servers()
                    if all(
                        r["status"].startswith("UP") for (b, _), r in seen.items() if b == "boards"
                    ):
                        break
                    await asyncio.sleep(0.1)
                yield f"ws://127.0.0.1:{port}", servers, haproxy.component.process.pid
            finally:
                haproxy.stop()
    finally:
        redis.stop()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def ramp(run: str, counts: Sequence[int], rooms: int, hold: float) -> list[Stage]:
    """Add users to a fresh group, stage by stage, until a stage breaks."""
    stages: list[Stage] = []
    with tempfile.TemporaryDirectory(prefix="pacnet-bench-cluster-") as folder:
        async with group(run, Path(folder), pick_cpus()) as (url, servers, haproxy):
            fleets = [
                Fleet("pacnet", room_url(url, f"bench-{r}"), article_text, join_text, leave_text)
                for r in range(rooms)
            ]
            async with AsyncExitStack() as stack:
                for fleet in fleets:
                    await stack.enter_async_context(fleet.pacing(PERIOD))
                have = 0
                try:
                    for users in counts:
                        numbers = range(have, max(have, users))
                        opened = await asyncio.gather(*(
                            fleet.add([n for n in numbers if n % rooms == r])
                            for r, fleet in enumerate(fleets)
                        ))  # fmt: skip
                        have = max(have, users)
                        refused = sum(o.refused for o in opened)
                        stage = await _hold(run, users, refused, fleets, servers, haproxy, hold)
                        stages.append(stage)
                        print(f"  {run:8} {users:5} users: {stage.calls_per_second:7.0f} "
                              f"calls/s, p99 {stage.p99_ms:7.1f} ms"
                              f"{'' if stage.held else '  BROKE: ' + str(stage.broke)}",
                              file=sys.stderr)  # fmt: skip
                        if not stage.held:
                            break
                finally:
                    for fleet in fleets:
                        await fleet.close()
    return stages


async def _hold(
    run: str, users: int, refused: int, fleets: list[Fleet], servers: list[Server],
    haproxy: int | None, hold: float,
) -> Stage:  # fmt: skip
    await asyncio.sleep(SETTLE)
    for fleet in fleets:
        fleet.tally.reset()
    before = [s.cpu_seconds() for s in servers]
    proxy_before = cpu_seconds(haproxy) if haproxy is not None else 0.0
    began = time.perf_counter()
    await asyncio.sleep(hold)
    seconds = time.perf_counter() - began
    servers_cpu = sum(s.cpu_seconds() - b for s, b in zip(servers, before, strict=True))
    proxy_cpu = (cpu_seconds(haproxy) - proxy_before) if haproxy is not None else 0.0
    latencies = sorted(x for f in fleets for x in f.tally.latencies)
    sent = sum(f.tally.sent for f in fleets)
    skipped_turns = sum(f.tally.skipped for f in fleets)
    lost = sum(f.tally.lost for f in fleets)
    wrong = sum(f.tally.wrong for f in fleets)
    skipped = skipped_turns / (sent + skipped_turns) if sent + skipped_turns else 0.0
    p99 = percentile(latencies, 0.99) or float("nan")
    broke = (
        f"{refused} users not joined" if refused
        else f"{lost} connections lost" if lost
        else f"{wrong} wrong replies" if wrong
        else f"{skipped:.1%} of turns skipped" if skipped > SKIP_LIMIT
        else f"p99 {p99 * 1000:.0f} ms" if p99 > LATENCY_LIMIT
        else None
    )  # fmt: skip
    return Stage(
        run=run, users=users, joined=sum(len(f.users) for f in fleets),
        calls_per_second=round(len(latencies) / seconds, 1),
        p50_ms=round((percentile(latencies, 0.5) or float("nan")) * 1000, 2),
        p99_ms=round(p99 * 1000, 2), skipped=round(skipped, 4), lost=lost, wrong=wrong,
        servers_cpu=round(servers_cpu / seconds, 3), haproxy_cpu=round(proxy_cpu / seconds, 3),
        broke=broke,
    )  # fmt: skip


def table(stages: Sequence[Stage]) -> str:
    """The results as a Markdown table, for docs/cluster.md."""
    lines = [
        "| run | users | calls/s | p50 ms | p99 ms | skipped | servers' CPU | HAProxy's CPU "
        "| held |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in stages:
        lines.append(
            f"| {s.run} | {s.users:,} | {s.calls_per_second:,.0f} | {s.p50_ms:.1f} | "
            f"{s.p99_ms:.1f} | {s.skipped:.1%} | {s.servers_cpu:.0%} | {s.haproxy_cpu:.0%} | "
            f"{'yes' if s.held else s.broke} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", default="200,400,600,800,1000,1200")
    parser.add_argument("--hold", type=float, default=5.0)
    parser.add_argument("--rooms", type=int, default=8)
    parser.add_argument("--runs", default=",".join(RUNS))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.users.split(",")]
    stages: list[Stage] = []
    for run in args.runs.split(","):
        stages += asyncio.run(ramp(run, counts, args.rooms, args.hold))
    print(table(stages))
    held = {run: max((s.users for s in stages if s.run == run and s.held), default=0)
            for run in args.runs.split(",")}  # fmt: skip
    print("\nheld: " + ", ".join(f"{run} {n:,}" for run, n in held.items()))
    if args.json is not None:
        load_cpu, server_cpu = pick_cpus()
        args.json.write_text(json.dumps({
            "machine": machine(load_cpu, server_cpu), "stages": [asdict(s) for s in stages],
            "held": held, "load_cpu_seconds": own_cpu_seconds(),
        }, indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
