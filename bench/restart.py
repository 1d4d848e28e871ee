"""How a fleet of bots recovers from a server restart, or from a server of a cluster killed.

    uv run python bench/restart.py [--bots 500] [--down 2.0] [--json FILE]
    uv run python bench/restart.py --cluster [--bots 500] [--rooms 8] [--json FILE]

Starts ``pacnet serve`` (with a state file, on the small maze) as a child process and a
fleet of real bots in this process: the runner ``pacnet bots`` uses (``pacnet.bots.fleet.Fleet``),
each bot a full client with the window's retry policy playing the article loop with the
greedy strategy. Once every bot has joined and played a second, it kills the server with
SIGKILL, starts it again on the same port and file after ``--down`` seconds, and measures,
per bot:

- every try to reconnect after the kill (the spread of tries is what jittered backoff is for:
  no wave of N at once);
- when it was back: its first successful call after the kill, its session resumed.

With ``--cluster``, ``pacnet cluster up`` starts Redis, two board servers and HAProxy, the bots
are dealt over ``--rooms`` rooms through HAProxy, and the server holding the most rooms is
killed and not started again: its rooms move to the other server, which restores each from its
last snapshot in Redis once its lease has run out. The figures are then those of the bots whose
room moved (for docs/cluster.md).

Prints a table for docs/performance.md; ``--json FILE`` writes the same figures.
"""

import argparse
import asyncio
import bisect
import json
import logging
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pacnet.bots.counts import FleetCounts  # noqa: E402
from pacnet.bots.fleet import Bot, Fleet, FleetPlan  # noqa: E402
from pacnet.client.remote import CallResult  # noqa: E402
from pacnet.client.tally import percentile  # noqa: E402
from pacnet.cluster.components import free_port  # noqa: E402
from pacnet.cluster.stack import Stack  # noqa: E402
from pacnet.cmdline.logs import configure_logging  # noqa: E402

RUN_LIMIT = 600.0
"""Seconds the fleet may play at most; the benchmark stops it when it has its figures."""


def start_server(port: int, state: Path, log: Path) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", "pacnet", "serve", "--port", str(port), "--state",
         str(state), "--snapshot-interval", "0.2", "--log-format", "json", "--layout", "small",
         "--max-users", "100000", "--rate", "1000", "--burst", "1000"],
        stderr=log.open("a"), cwd=ROOT,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return server
        time.sleep(0.05)
    raise RuntimeError("the server did not start")


def watched(plan: FleetPlan) -> tuple["Stopwatch", FleetCounts, asyncio.Event, Fleet]:
    """The fleet of ``plan``, a stopwatch on its calls, its counts, and the event that stops it."""
    watch, counts = Stopwatch(), FleetCounts()
    return (
        watch,
        counts,
        asyncio.Event(),
        Fleet(plan, range(plan.bots), counts.receive, watch=watch),
    )


class Stopwatch:
    """Watches every call of every bot: when each joined, and when each was back."""

    def __init__(self) -> None:
        self.joined: set[int] = set()
        self.killed_at: float | None = None
        self.back_at: dict[int, float] = {}

    async def all_joined(self, bots: int) -> None:
        """Until ``bots`` bots have joined."""
        while len(self.joined) < bots:  # noqa: ASYNC110 (a poll keeps the watch plain)
            await asyncio.sleep(0.1)

    def __call__(self, bot: Bot, result: CallResult[Any]) -> None:
        if not result.ok:
            return
        if self.killed_at is None:
            self.joined.add(bot.index)
            return
        # Back: a success after trying to reconnect. Replies the old server sent before it
        # died may still be read after the kill (a busy loop reads them late): not a return.
        tries = bot.reconnects.try_times
        if bot.index not in self.back_at and tries and tries[-1] >= self.killed_at:
            self.back_at[bot.index] = asyncio.get_running_loop().time()


async def run(bots: int, down: float, ramp: float) -> dict[str, Any]:
    configure_logging("console", level=logging.CRITICAL)
    work = Path(tempfile.mkdtemp(prefix="pacnet-restart-"))
    port, state, log = free_port(), work / "state.sqlite", work / "server.log"
    server = start_server(port, state, log)
    plan = FleetPlan(
        url=f"ws://127.0.0.1:{port}", bots=bots, strategy="greedy", duration=RUN_LIMIT,
        seed=1, ramp=ramp, tag=f"restart-{os.getpid()}",
    )  # fmt: skip
    watch, counts, stop, fleet = watched(plan)
    loop = asyncio.get_running_loop()
    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(fleet.run(stop))
        await watch.all_joined(bots)
        await asyncio.sleep(1.0)
        lag = await loop_lag()
        killed_at = watch.killed_at = loop.time()
        server.send_signal(signal.SIGKILL)
        await asyncio.to_thread(server.wait)
        await asyncio.sleep(down / 2)
        lag_down = await loop_lag()
        await asyncio.sleep(max(0.0, killed_at + down - loop.time()))
        # In a thread: waiting for the port here would stall every bot's loop for the
        # second the server takes to start, and bunch their tries up behind it.
        server = await asyncio.to_thread(start_server, port, state, log)
        up_at = loop.time()
        while len(watch.back_at) < bots and loop.time() < up_at + 30:  # noqa: ASYNC110 (as above)
            await asyncio.sleep(0.1)
        stop.set()
    server.send_signal(signal.SIGTERM)
    server.wait()
    return figures(fleet, counts, watch, killed_at, up_at, (lag, lag_down))


async def loop_lag(samples: int = 20) -> float:
    """Seconds a 10 ms sleep overshoots at p50: how busy the bots keep this event loop."""
    loop = asyncio.get_running_loop()
    late = []
    for _ in range(samples):
        before = loop.time()
        await asyncio.sleep(0.01)
        late.append(loop.time() - before - 0.01)
    return statistics.median(late)


def busiest(times: list[float], window: float = 0.01) -> tuple[int, float]:
    """The most of ``times`` (sorted) within any ``window`` seconds, wherever it starts, and
    where that window starts."""
    windows = ((bisect.bisect_left(times, t + window) - i, t) for i, t in enumerate(times))
    return max(windows, default=(0, math.nan))


def cluster_up() -> Stack:
    """``pacnet cluster up`` in a folder of the run's own, on free ports."""
    directory = Path(tempfile.mkdtemp(prefix="pacnet-failover-")) / "cluster"
    up = subprocess.run(
        [sys.executable, "-m", "pacnet", "cluster", "up", "--dir", str(directory), "--port",
         str(free_port()), "--stats-port", str(free_port()), "--layout", "small"],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    if up.returncode != 0:
        raise RuntimeError(up.stderr)
    return Stack.load(directory)


async def run_cluster(stack: Stack, bots: int, ramp: float, rooms: int) -> dict[str, Any]:
    """Kill the server holding the most rooms of a running cluster; the other takes them."""
    configure_logging("console", level=logging.CRITICAL)
    plan = FleetPlan(
        url=stack.url, bots=bots, strategy="greedy", duration=RUN_LIMIT, seed=1, ramp=ramp,
        tag=f"failover-{os.getpid()}", rooms=tuple(f"bench-{n}" for n in range(rooms)),
    )  # fmt: skip
    watch, counts, stop, fleet = watched(plan)
    loop = asyncio.get_running_loop()
    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(fleet.run(stop))
        await watch.all_joined(bots)
        await asyncio.sleep(1.5)  # every room saved in Redis, and routed by HAProxy
        held = {room: stack.holder(room) for room in plan.rooms}
        victim = max(stack.members, key=lambda m: sum(s == m.name for s in held.values()))
        moved = {i for i in range(bots) if held[plan.rooms[i % rooms]] == victim.name}
        killed_at = watch.killed_at = loop.time()
        os.kill(victim.pid, signal.SIGKILL)
        while not moved <= set(watch.back_at) and loop.time() < killed_at + 30:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        stop.set()
    back = sorted(watch.back_at[i] - killed_at for i in moved if i in watch.back_at)
    tries = sorted(
        t - killed_at for i in moved for t in fleet.bots[i].reconnects.try_times
        if t >= killed_at
    )  # fmt: skip
    nan = float("nan")
    return {
        "bots": bots,
        "rooms": rooms,
        "rooms moved": sum(s == victim.name for s in held.values()),
        "bots whose room moved": len(moved),
        "resumed": len(back),
        "sessions lost (re-joins)": counts.gauges().rejoins,
        "all back after the kill s": back[-1] if len(back) == len(moved) else nan,
        "back p50 s": statistics.median(back) if back else nan,
        "back p90 s": percentile(back, 0.9) or nan,
        "reconnect tries": len(tries),
        "most tries in any 10 ms": busiest(tries)[0],
    }


def figures(
    fleet: Fleet,
    counts: FleetCounts,
    watch: Stopwatch,
    killed_at: float,
    up_at: float,
    lags: tuple[float, float],
) -> dict[str, Any]:
    bots = len(fleet.bots)
    down = up_at - killed_at
    back = sorted(t - up_at for t in watch.back_at.values())
    tries = sorted(
        t - killed_at for bot in fleet.bots for t in bot.reconnects.try_times if t >= killed_at
    )
    first_tries = sorted(
        min(t for t in bot.reconnects.try_times if t >= killed_at) - killed_at
        for bot in fleet.bots
        if any(t >= killed_at for t in bot.reconnects.try_times)
    )
    gauges = counts.gauges()
    nan = float("nan")
    return {
        "bots": bots,
        "resumed": len(back),
        "sessions lost (re-joins)": gauges.rejoins,
        "all back after restart s": back[-1] if len(back) == bots else nan,
        "back p50 s": statistics.median(back) if back else nan,
        "back p90 s": percentile(back, 0.9) or nan,
        "server down s": down,
        "reconnect tries while down": sum(1 for t in tries if t < down),
        "reconnect tries in all": len(tries),
        "most tries in any 10 ms while down": busiest([t for t in tries if t < down])[0],
        "most tries in any 10 ms": busiest(tries)[0],
        "busiest 10 ms began, s after the kill": busiest(tries)[1],
        "first try spread s": (first_tries[-1] - first_tries[0]) if first_tries else nan,
        "event loop lag before the kill ms": lags[0] * 1000,
        "event loop lag while down ms": lags[1] * 1000,
    }


def report(what: str, figures: dict[str, Any], json_file: Path | None) -> None:
    """The figures as a table for the docs, after a line on the machine and one on ``what``
    was measured; also as JSON, to stderr and to ``json_file``."""
    print(f"- {time.strftime('%Y-%m-%d')}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(f"- {what}")
    print()
    print("| figure | value |")
    print("|---|---:|")
    for name, value in figures.items():
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        print(f"| {name} | {shown} |")
    print(json.dumps(figures), file=sys.stderr)
    if json_file is not None:
        json_file.write_text(json.dumps(figures, indent=2) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bots", type=int, default=500)
    parser.add_argument("--down", type=float, default=2.0, help="seconds the server stays down")
    parser.add_argument(
        "--ramp", type=float, default=None, help="seconds over which the bots start (5 ms each)"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    parser.add_argument(
        "--cluster", action="store_true",
        help="a cluster (pacnet cluster up): kill the server holding the most rooms",
    )  # fmt: skip
    parser.add_argument("--rooms", type=int, default=8, help="with --cluster: rooms (8)")
    args = parser.parse_args()
    ramp = args.ramp if args.ramp is not None else min(5.0, 0.005 * args.bots)
    if args.cluster:
        stack = cluster_up()
        try:
            figures = asyncio.run(run_cluster(stack, args.bots, ramp, args.rooms))
        finally:
            subprocess.run(
                [sys.executable, "-m", "pacnet", "cluster", "down", "--dir", stack.directory],
                capture_output=True, cwd=ROOT,
            )  # fmt: skip
        report(f"{args.bots} greedy bots over {args.rooms} rooms through HAProxy, two "
               "servers; the one holding the most rooms killed", figures, args.json)  # fmt: skip
        return 0 if figures["resumed"] == figures["bots whose room moved"] else 1
    figures = asyncio.run(run(args.bots, args.down, ramp))
    report(f"{args.bots} greedy bots (pacnet bots' runner) in one process; server killed, "
           f"restarted after {args.down:g} s", figures, args.json)  # fmt: skip
    return 0 if figures["resumed"] == args.bots else 1


if __name__ == "__main__":
    raise SystemExit(main())
