"""How a fleet of bots recovers from a server restart.

    uv run python bench/restart.py [--bots 500] [--down 2.0] [--json FILE]

Starts ``pacnet serve`` (with a state file, on the small maze) as a child process and a
fleet of real bots in this process: the runner ``pacnet bots`` uses (``pacnet.bots.fleet.Fleet``),
each bot a full client with the window's retry policy playing the article loop with the
greedy strategy. Once every bot has joined and played a second, it kills the server with
SIGKILL, starts it again on the same port and file after ``--down`` seconds, and measures,
per bot:

- every try to reconnect after the kill (the spread of tries is what jittered backoff is for:
  no wave of N at once);
- when it was back: its first successful call after the kill, its session resumed.

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


class Stopwatch:
    """Watches every call of every bot: when each joined, and when each was back."""

    def __init__(self) -> None:
        self.joined: set[int] = set()
        self.killed_at: float | None = None
        self.back_at: dict[int, float] = {}

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
    watch, counts, stop = Stopwatch(), FleetCounts(), asyncio.Event()
    fleet = Fleet(plan, range(bots), counts.receive, watch=watch)
    loop = asyncio.get_running_loop()
    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(fleet.run(stop))
        while len(watch.joined) < bots:  # noqa: ASYNC110 (a poll keeps Stopwatch plain)
            await asyncio.sleep(0.1)
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bots", type=int, default=500)
    parser.add_argument("--down", type=float, default=2.0, help="seconds the server stays down")
    parser.add_argument(
        "--ramp", type=float, default=None, help="seconds over which the bots start (5 ms each)"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    args = parser.parse_args()
    ramp = args.ramp if args.ramp is not None else min(5.0, 0.005 * args.bots)
    figures = asyncio.run(run(args.bots, args.down, ramp))
    print(f"- {time.strftime('%Y-%m-%d')}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(f"- {args.bots} greedy bots (pacnet bots' runner) in one process; server killed, "
          f"restarted after {args.down:g} s")  # fmt: skip
    print()
    print("| figure | value |")
    print("|---|---:|")
    for name, value in figures.items():
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        print(f"| {name} | {shown} |")
    print(json.dumps(figures), file=sys.stderr)
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if figures["resumed"] == args.bots else 1


if __name__ == "__main__":
    raise SystemExit(main())
