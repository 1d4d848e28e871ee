"""Connected users one server process holds, idle and playing, and the memory each costs.

    uv run python bench/users.py [--idle 1000,5000,10000] [--playing 100,200,400,800]
                                 [--hold 12] [--json FILE]

For each server (``pacnet serve`` first, then the bare echo server up to the stage pacnet
reached, each a fresh process on one core) and each kind of user, users are added in stages
until the counts run out or a stage breaks; the stages build on each other, so the last stage
holds the most users:

- **idle**: joined, and sending a ``ping`` every 3 s (a third of the 10 s keepalive window,
  as ``RemoteBoard.keep_alive`` advises), for ``--hold`` seconds: longer than the window, so
  a user the server stopped counting would be expired and its pings refused;
- **playing**: joined, and making 10 calls a second each, the window's article loop's calls
  in turn (move, findAll :ghost, findAll :pacman), for ``--hold`` seconds;
- **bots**: the same, as ``pacnet bots`` play it: each looks at its own pac-man alone
  (move, findAll :ghost, find), so no user's calls grow with the number of users.

pacnet runs with its default limits (10,000 users, 50 requests/s each, 10 s keepalive). The
echo server gets the same frames, joins included. A stage **holds** when every user connected
and joined, no connection was lost, every reply was right (no user expired) and at most 1% of
turns were skipped (a user whose last reply had not come back when its turn came); the ramp
stops at the first stage that does not. Apart from that, a stage is **slow** when its p99
round trip is above 500 ms, the client's reply timeout, past which a window's call would end
UNKNOWN. Memory per user is the growth of the server's RSS since it started, over the users
it holds, measured after the stage's hold.
"""

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from fleet import Fleet, Tally
from messages import article_text, join_text, leave_text, ping_text, window_text
from servers import (
    ECHO,
    Server,
    Target,
    machine,
    own_cpu_seconds,
    pacnet,
    pick_cpus,
    raise_fd_limit,
    running,
)

from pacnet.client.tally import percentile

IDLE_TARGET = 5000
"""Idle users one pacnet process must hold (the performance issue's target)."""
PING_EVERY = 3.0
"""Seconds between an idle user's pings: a third of the server's 10 s keepalive."""
PLAY_PERIOD = 0.1
"""Seconds between a playing user's calls: 10 a second."""
LATENCY_LIMIT = 0.5
"""A p99 round trip above this breaks a stage: the client's reply timeout, past which the
window's call would end UNKNOWN."""
SKIP_LIMIT = 0.01
"""The share of turns users may skip (their last reply still out) before a stage breaks."""
SETTLE = 1.0
"""Seconds a server gets after start and after each stage joins, before it is measured."""

MODES = {
    "idle": (PING_EVERY, ping_text),
    "playing": (PLAY_PERIOD, window_text),
    "bots": (PLAY_PERIOD, article_text),
}
"""Each kind of user: seconds between its calls, and the text of its call number N."""


@dataclass
class Stage:
    """One server holding one number of users of one kind, and how that went."""

    server: str
    mode: str
    asked: int
    """Users the stage asked for, counting those of the stages before it."""
    users: int
    """Users connected and joined."""
    refused: int
    first_refusal: str | None
    open_seconds: float
    """Seconds this stage's new users took to connect and join."""
    rss_start_mib: float
    rss_mib: float
    kib_per_user: float
    seconds: float
    calls_per_second: float
    skipped: float
    """Share of turns skipped."""
    wrong: int
    first_wrong: str | None
    lost: int
    first_lost: str | None
    p50_ms: float
    p99_ms: float
    max_ms: float
    server_cpu: float
    load_cpu: float
    broke: str | None
    """Why the stage did not hold (None: it held)."""
    slow: bool
    """Whether its p99 round trip was above the client's reply timeout."""

    @property
    def held(self) -> bool:
        return self.broke is None


def _why_broken(
    tally: Tally, refused: int, first_refusal: str | None, skipped: float
) -> str | None:
    if refused:
        return f"{refused} users not joined: {_gist(first_refusal or '')}"
    if tally.lost:
        return f"{tally.lost} connections lost: {tally.first_lost}"
    if tally.wrong:
        return f"{tally.wrong} wrong replies: {_gist((tally.first_wrong or b'').decode())}"
    if skipped > SKIP_LIMIT:
        return f"{skipped:.1%} of turns skipped: replies slower than the pace"
    return None


def _gist(reply: str) -> str:
    """An error reply's code (``OVERLOADED``), or the text itself if it is not one."""
    try:
        code = json.loads(reply)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return reply
    return str(code)


def _quantile(values: Sequence[float], q: float) -> float:
    found = percentile(values, q)
    return float("nan") if found is None else found


async def ramp(
    target: Target, mode: str, counts: Sequence[int], hold: float, cpu: int | None
) -> list[Stage]:
    """Add ``mode`` users to a fresh ``target`` stage by stage, until a stage breaks. Users
    keep their pace from the moment they join, through the later stages' joins."""
    period, texts = MODES[mode]
    stages: list[Stage] = []
    async with running(target, cpu) as server:
        await asyncio.sleep(SETTLE)
        start = server.rss_bytes()
        fleet = Fleet(server.name, server.url, texts, join_text, leave_text)
        try:
            async with fleet.pacing(period):
                for asked in counts:
                    stage = await _stage(server, fleet, mode, asked, hold, start)
                    stages.append(stage)
                    _progress(stage)
                    if not stage.held:
                        break
        finally:
            await fleet.close()
    return stages


async def _stage(
    server: Server, fleet: Fleet, mode: str, asked: int, hold: float, start: int
) -> Stage:
    have = len(fleet.users)
    opened = await fleet.add(range(have, max(have, asked)))
    await asyncio.sleep(SETTLE)
    tally = fleet.tally
    tally.reset()
    server_cpu, load_cpu = server.cpu_seconds(), own_cpu_seconds()
    began = time.perf_counter()
    await asyncio.sleep(hold)
    seconds = time.perf_counter() - began
    server_cpu, load_cpu = server.cpu_seconds() - server_cpu, own_cpu_seconds() - load_cpu
    rss = server.rss_bytes()
    users = len(fleet.users)
    ordered = sorted(tally.latencies)
    turns = tally.sent + tally.skipped
    skipped = tally.skipped / turns if turns else 0.0
    p99 = _quantile(ordered, 0.99)
    return Stage(
        server=server.name, mode=mode, asked=asked, users=users, refused=opened.refused,
        first_refusal=opened.first_refusal, open_seconds=round(opened.seconds, 2),
        rss_start_mib=round(start / 2**20, 1), rss_mib=round(rss / 2**20, 1),
        kib_per_user=round((rss - start) / 1024 / users, 1) if users else float("nan"),
        seconds=round(seconds, 2), calls_per_second=round(len(ordered) / seconds, 1),
        skipped=round(skipped, 4), wrong=tally.wrong,
        first_wrong=(tally.first_wrong or b"").decode(errors="replace") or None,
        lost=tally.lost, first_lost=tally.first_lost,
        p50_ms=round(_quantile(ordered, 0.5) * 1000, 2), p99_ms=round(p99 * 1000, 2),
        max_ms=round(_quantile(ordered, 1.0) * 1000, 2),
        server_cpu=round(server_cpu / seconds, 3), load_cpu=round(load_cpu / seconds, 3),
        broke=_why_broken(tally, opened.refused, opened.first_refusal, skipped),
        slow=p99 > LATENCY_LIMIT,
    )  # fmt: skip


def _progress(stage: Stage) -> None:
    print(
        f"{stage.mode:>7} {stage.server:>6} {stage.users:>6,} users  "
        f"{stage.calls_per_second:>8,.0f} calls/s  p50 {stage.p50_ms:.1f} ms  "
        f"p99 {stage.p99_ms:.1f} ms  RSS {stage.rss_mib:.0f} MiB "
        f"({stage.kib_per_user:.1f} KiB/user)  CPU server {stage.server_cpu:.0%} "
        f"load {stage.load_cpu:.0%}  {'held' if stage.held else 'BROKE: ' + str(stage.broke)}"
        f"{'  SLOW' if stage.slow else ''}",
        file=sys.stderr,
    )


@dataclass(frozen=True, kw_only=True)
class Plan:
    """What one run measures."""

    idle: Sequence[int]
    playing: Sequence[int]
    hold: float
    """Seconds each stage's users are paced."""
    bots: Sequence[int] = ()


async def run(plan: Plan, server_cpu: int | None) -> list[Stage]:
    """Every ramp: pacnet then echo, idle then playing then bots, each on fresh server
    processes.

    The echo server climbs only as far as pacnet did: it is the reference at the same
    numbers, not a ramp of its own."""
    stages: list[Stage] = []
    for mode, counts in (("idle", plan.idle), ("playing", plan.playing), ("bots", plan.bots)):
        if not counts:
            continue
        ours = await ramp(pacnet(), mode, counts, plan.hold, server_cpu)
        reached = [stage.asked for stage in ours]
        stages += await ramp(ECHO, mode, reached, plan.hold, server_cpu)
        stages += ours
    return stages


# --- the report ------------------------------------------------------------------------


def most_held(stages: Sequence[Stage], server: str, mode: str) -> Stage | None:
    """The stage holding the most users that held, or None."""
    held = [s for s in stages if s.server == server and s.mode == mode and s.held]
    return max(held, key=lambda s: s.users, default=None)


def first_broken(stages: Sequence[Stage], server: str, mode: str) -> Stage | None:
    """The stage that broke, if one did."""
    return next((s for s in stages if s.server == server and s.mode == mode and not s.held), None)


def table(stages: Sequence[Stage]) -> str:
    """Every stage, pacnet beside echo, as a markdown table."""
    rows = [
        "| users | kind | server | calls/s | p50 ms | p99 ms | RSS MiB | KiB/user "
        "| CPU server/load | held? |",
        "|---:|---|---|---:|---:|---:|---:|---:|:---:|---|",
    ]
    order = list(MODES)
    for s in sorted(stages, key=lambda s: (order.index(s.mode), s.asked, s.server)):
        verdict = "held" if s.held else f"**broke**: {s.broke}"
        if s.slow:
            verdict += f"; p99 over {LATENCY_LIMIT * 1000:.0f} ms"
        shown = f"{s.users:,}" if s.users == s.asked else f"{s.users:,} of {s.asked:,}"
        rows.append(
            f"| {shown} | {s.mode} | {s.server} | {s.calls_per_second:,.0f} "
            f"| {s.p50_ms:.1f} | {s.p99_ms:.1f} | {s.rss_mib:.0f} | {s.kib_per_user:.1f} "
            f"| {s.server_cpu:.0%} / {s.load_cpu:.0%} | {verdict} |"
        )
    return "\n".join(rows)


def summary(stages: Sequence[Stage]) -> list[str]:
    """What held, and what broke first at how many, in a line per kind of user."""
    lines = []
    for mode in MODES:
        ours = most_held(stages, "pacnet", mode)
        broke = first_broken(stages, "pacnet", mode)
        if ours is None and broke is None:
            continue
        held = f"{ours.users:,} held" if ours else "none held"
        after = f"; broke at {broke.asked:,}: {broke.broke}" if broke else "; nothing broke"
        lines.append(f"- pacnet, {mode}: {held}{after}")
    return lines


# --- the command line ------------------------------------------------------------------


def counts(text: str) -> list[int]:
    """An argparse type: comma-separated numbers (of users, of calls a second), rising
    (empty: none)."""
    if not text:
        return []
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list like 1000,5000") from None
    if min(values) < 1 or values != sorted(values):
        raise argparse.ArgumentTypeError("the numbers must be at least 1, and rising")
    return values


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/users.py",
        description="Users one server process holds, idle and playing, and memory per user: "
        "pacnet beside a bare websockets echo server.",
    )
    parser.add_argument(
        "--idle", type=counts, default=[1000, 5000, 10000, 10500], metavar="N,N,...",
        help="stages of idle users (1000,5000,10000,10500; empty: none)",
    )  # fmt: skip
    parser.add_argument(
        "--playing", type=counts, default=[100, 200, 400, 800, 1600], metavar="N,N,...",
        help="stages of users playing at 10 calls/s (100,200,400,800,1600; empty: none)",
    )  # fmt: skip
    parser.add_argument(
        "--bots", type=counts, default=[200, 400, 600, 800, 1000, 1200], metavar="N,N,...",
        help="stages of users playing as bots do (200,400,...,1200; empty: none)",
    )  # fmt: skip
    parser.add_argument(
        "--hold", type=float, default=12.0, help="seconds each stage is held (%(default)s)"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every figure")
    args = parser.parse_args(argv)
    if args.hold <= 0:
        parser.error("--hold must be > 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    plan = Plan(idle=args.idle, playing=args.playing, hold=args.hold, bots=args.bots)
    limit = raise_fd_limit()
    load_cpu, server_cpu = pick_cpus()
    info = machine(load_cpu, server_cpu)
    if load_cpu is not None:
        os.sched_setaffinity(0, {load_cpu})
    if max([*plan.idle, *plan.playing, *plan.bots], default=0) + 100 > limit:
        print(f"bench/users.py: error: {limit} open files allowed: too few", file=sys.stderr)
        return 1
    try:
        stages = asyncio.run(run(plan, server_cpu))
    except (OSError, RuntimeError) as exc:
        print(f"bench/users.py: error: {exc}", file=sys.stderr)
        return 1
    print(table(stages))
    print()
    print("\n".join(summary(stages)))
    if args.json is not None:
        figures = {"machine": info, "plan": asdict(plan), "stages": [asdict(s) for s in stages]}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    ours = most_held(stages, "pacnet", "idle")
    return 0 if not plan.idle or (ours is not None and ours.users >= IDLE_TARGET) else 1


if __name__ == "__main__":
    sys.exit(main())
