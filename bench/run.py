"""Every benchmark in one command, and one table: each figure beside its reference.

    uv run python bench/run.py [--quick] [--json FILE]

Runs, in this order, on this machine, in this one run:

1. round trips of ``find``, pacnet against a bare websockets echo server (bench/roundtrip.py);
2. the same for the article loop's calls as bots make them (``--workload mixed``), and for the
   window's loop, which also reads every pac-man (``--workload window``, shown without a
   target: its replies grow with the connections);
3. the users one pacnet process holds, idle, playing in the window's loop and playing as bots
   do, and memory per user, beside the echo server holding as many (bench/users.py);
4. the window's frame time with the server running and stopped (bench/frametime.py, on the
   display in ``$DISPLAY``, or on an Xvfb of its own, or not at all: "no display"), and how a
   fleet of bots comes back after a server restart (bench/restart.py).

Prints one table (figure, pacnet, reference, ratio, target, met?) and writes every figure
behind it with ``--json FILE``. ``--quick`` is a smoke run of about a minute: the figures are
too short to record.
"""

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import roundtrip
import users
from rich.console import Console
from rich.table import Table
from servers import BENCH, machine, pick_cpus, raise_fd_limit

from pacnet.client.retry import Reconnects

FRAME_BUDGET_MS = 1000 / 60
"""The window's frame at 60 Hz: the reference for frame times."""
FRAME_TARGET_MS = 20.0
SPREAD_TARGET = 0.25
"""No 10 ms may see more than this share of the fleet trying to reconnect."""
_RECONNECTS = Reconnects()
BACKOFF_CAP_S = _RECONNECTS.cap
"""The reconnection backoff's cap (pacnet/client/retry.py): the reference for coming
back."""
FIRST_TRY_S = _RECONNECTS.first
"""How long the first try after a drop may wait (pacnet/client/retry.py): the first tries'
spread."""


@dataclass(frozen=True, kw_only=True)
class Plan:
    """How long and how big each benchmark runs."""

    seconds: float
    warmup: float
    slice: float
    connections: Sequence[int]
    idle: Sequence[int]
    playing: Sequence[int]
    as_bots: Sequence[int]
    hold: float
    bots: int
    down: float


FULL = Plan(
    seconds=5.0, warmup=1.0, slice=0.5, connections=(1, 10, 100), idle=(1000, 5000, 10000, 10500),
    playing=(50, 100, 150, 200, 300, 400, 600, 800), as_bots=(200, 400, 600, 800, 1000, 1200),
    hold=12.0, bots=200, down=2.0,
)  # fmt: skip
QUICK = Plan(
    seconds=1.0, warmup=0.2, slice=0.25, connections=(1, 10, 100), idle=(200,), playing=(50,),
    as_bots=(50,), hold=2.0, bots=20, down=1.0,
)  # fmt: skip


@dataclass
class Row:
    """One line of the table."""

    figure: str
    pacnet: str
    reference: str
    ratio: str
    target: str
    met: bool | None
    """None: no target, or not measured."""


def _ratio(value: float, spread: tuple[float, float] | None = None) -> str:
    shown = f"{value:.2f}"
    return f"{shown} ({spread[0]:.2f}-{spread[1]:.2f})" if spread else shown


# --- 1 and 2: round trips --------------------------------------------------------------


def roundtrip_rows(workload: str, cells: Sequence[roundtrip.Cell]) -> list[Row]:
    """Throughput at every N, and p50 and p99 at the fewest and most connections; judged on
    the targets when the workload has them (``roundtrip.TARGETED``)."""
    targeted = workload in roundtrip.TARGETED
    rows = []
    pairs = roundtrip.pairs(cells)
    for echo, ours in pairs:
        n = echo.connections
        ratio = ours.per_second / echo.per_second
        rows.append(Row(
            f"{workload}: round trips/s, {n} conn.", f"{ours.per_second:,.0f}",
            f"echo {echo.per_second:,.0f}", _ratio(ratio, roundtrip.slice_ratios(echo, ours)),
            *_judged(targeted, f">= {roundtrip.THROUGHPUT_TARGET:.2f}",
                     ratio >= roundtrip.THROUGHPUT_TARGET),
        ))  # fmt: skip
    for echo, ours in (pairs[0], pairs[-1]) if len(pairs) > 1 else pairs:
        n = echo.connections
        ratio = ours.p50_ms / echo.p50_ms
        rows.append(Row(
            f"{workload}: p50 ms, {n} conn.", f"{ours.p50_ms:.3f}", f"echo {echo.p50_ms:.3f}",
            _ratio(ratio),
            *_judged(targeted, f"<= {roundtrip.LATENCY_TARGET}", ratio <= roundtrip.LATENCY_TARGET),
        ))  # fmt: skip
        rows.append(Row(
            f"{workload}: p99 ms, {n} conn.", f"{ours.p99_ms:.3f}", f"echo {echo.p99_ms:.3f}",
            _ratio(ours.p99_ms / echo.p99_ms), "", None,
        ))  # fmt: skip
    return rows


def _judged(targeted: bool, target: str, met: bool) -> tuple[str, bool | None]:
    """A row's target and verdict, or none for a workload without targets."""
    return (target, met) if targeted else ("", None)


# --- 3: users --------------------------------------------------------------------------


def users_rows(stages: Sequence[users.Stage]) -> list[Row]:
    """Users held, their latency and their memory, idle and playing."""
    rows = []
    for mode in users.MODES:
        ours = users.most_held(stages, "pacnet", mode)
        broke = users.first_broken(stages, "pacnet", mode)
        if ours is None and broke is None:
            continue
        echo = users.most_held(stages, "echo", mode)
        held = ours.users if ours else 0
        reference = echo.users if echo else 0
        what = f"; broke at {broke.asked:,}: {_short(broke.broke)}" if broke else ""
        target = f">= {users.IDLE_TARGET:,}" if mode == "idle" else ""
        met = held >= users.IDLE_TARGET if mode == "idle" else None
        rows.append(Row(
            f"{mode} users held{what}", f"{held:,}", f"echo {reference:,}",
            _ratio(held / reference) if reference else "-", target, met,
        ))  # fmt: skip
        at = _at(stages, mode, ours)
        if at is None:
            continue
        mine, theirs = at
        limit = users.LATENCY_LIMIT * 1000
        rows.append(Row(
            f"{mode}: p99 ms at {mine.users:,} users", f"{mine.p99_ms:,.1f}",
            f"echo {theirs.p99_ms:,.1f}", _ratio(mine.p99_ms / theirs.p99_ms),
            f"<= {limit:.0f} ms", mine.p99_ms <= limit,
        ))  # fmt: skip
        rows.append(Row(
            f"{mode}: KiB per user at {mine.users:,} users", f"{mine.kib_per_user:.1f}",
            f"echo {theirs.kib_per_user:.1f}", _ratio(mine.kib_per_user / theirs.kib_per_user),
            "", None,
        ))  # fmt: skip
    return rows


def _at(
    stages: Sequence[users.Stage], mode: str, ours: users.Stage | None
) -> tuple[users.Stage, users.Stage] | None:
    """(pacnet, echo) at the idle target if pacnet held it there, else at the most it held."""

    def find(server: str, asked: int) -> users.Stage | None:
        return next(
            (s for s in stages if (s.server, s.mode, s.asked) == (server, mode, asked)), None
        )

    if ours is None:
        return None
    pick = ours
    if mode == "idle":
        at_target = find("pacnet", users.IDLE_TARGET)
        if at_target is not None and at_target.held:
            pick = at_target
    theirs = find("echo", pick.asked)
    return (pick, theirs) if theirs is not None else None


def _short(text: str | None, limit: int = 60) -> str:
    text = text or ""
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- 4: the window and a restart -------------------------------------------------------


@contextmanager
def display() -> Iterator[str | None]:
    """The X display to draw on: ``$DISPLAY``, or a new Xvfb's for the ``with`` block, or
    None when there is neither."""
    if os.environ.get("DISPLAY"):
        yield os.environ["DISPLAY"]
        return
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        yield None
        return
    read, write = os.pipe()
    server = subprocess.Popen(
        [xvfb, "-displayfd", str(write), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
        pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(write)
    try:
        with os.fdopen(read) as announced:
            number = announced.readline().strip()  # Xvfb writes it once it is ready
        yield f":{number}" if number else None
    finally:
        server.terminate()
        server.wait(timeout=10)


def _child(script: str, args: Sequence[str], env: dict[str, str]) -> dict[str, Any]:
    """Run ``bench/script`` with ``--json``; returns what it wrote.

    Raises:
        RuntimeError: it wrote nothing readable (with the last line it printed).
    """
    with tempfile.TemporaryDirectory(prefix="pacnet-bench-") as work:
        out = Path(work) / "figures.json"
        done = subprocess.run(
            [sys.executable, str(BENCH / script), *args, "--json", str(out)],
            env=env, capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        try:
            figures: dict[str, Any] = json.loads(out.read_text())
        except (OSError, ValueError):
            last = (done.stderr.strip().splitlines() or ["(nothing)"])[-1]
            raise RuntimeError(f"{script} exited {done.returncode}: {last}") from None
        return figures


def frametime_rows(figures: dict[str, Any] | None, why: str) -> list[Row]:
    """p99 frame time in each phase, against the 60 Hz frame."""
    rows = []
    for phase in ("server running", "server stopped (SIGSTOP)"):
        name = f"window frame time p99 ms, {phase}"
        reference = f"60 Hz frame {FRAME_BUDGET_MS:.1f}"
        target = f"< {FRAME_TARGET_MS:.0f} ms"
        if figures is None or phase not in figures:
            rows.append(Row(name, why, reference, "-", target, None))
            continue
        p99 = float(figures[phase]["p99_ms"])
        rows.append(Row(
            name, f"{p99:.1f}", reference, _ratio(p99 / FRAME_BUDGET_MS), target,
            p99 < FRAME_TARGET_MS,
        ))  # fmt: skip
    return rows


def restart_rows(figures: dict[str, Any] | None, why: str) -> list[Row]:
    """How spread out the fleet's tries to reconnect were, and how soon it was back."""
    if figures is None:
        return [Row("restart: reconnection", why, "-", "-", "", None)]
    bots = int(figures.get("bots", 0)) or 1
    busiest = figures.get("most tries in any 10 ms")
    back = figures.get("all back after restart s")
    resumed = figures.get("resumed")
    spread = figures.get("first try spread s")
    rows = []
    if busiest is not None:
        share = busiest / bots
        rows.append(Row(
            "restart: most tries to reconnect in any 10 ms", f"{busiest}", f"{bots} bots",
            _ratio(share), f"<= {SPREAD_TARGET:.2f}", share <= SPREAD_TARGET,
        ))  # fmt: skip
    if spread is not None:
        rows.append(Row(
            "restart: first tries after the kill, spread s", f"{spread:.2f}",
            f"jitter 0-{FIRST_TRY_S:g} s", "-", "", None,
        ))  # fmt: skip
    if back is not None:
        rows.append(Row(
            "restart: all back, s after the server listens", f"{back:.2f}",
            f"backoff cap {BACKOFF_CAP_S:g}", _ratio(back / BACKOFF_CAP_S), "", None,
        ))  # fmt: skip
    if resumed is not None:
        rows.append(Row(
            "restart: sessions resumed", f"{resumed}", f"{bots} bots", _ratio(resumed / bots),
            "all", resumed == bots,
        ))  # fmt: skip
    return rows


# --- the run ---------------------------------------------------------------------------


def run(
    plan: Plan, load_cpu: int | None, server_cpu: int | None
) -> tuple[list[Row], dict[str, Any]]:
    """Every benchmark; the table's rows and every figure behind them."""
    figures: dict[str, Any] = {}
    rows: list[Row] = []
    everywhere = os.sched_getaffinity(0)
    if load_cpu is not None:
        os.sched_setaffinity(0, {load_cpu})
    try:
        for workload in roundtrip.WORKLOADS:
            _say(f"round trips, {workload}")
            rt = roundtrip.Plan(
                connections=plan.connections, seconds=plan.seconds, warmup=plan.warmup,
                slice=plan.slice, workload=workload,
            )  # fmt: skip
            cells = asyncio.run(roundtrip.run(rt, server_cpu))
            figures[workload] = [asdict(c) for c in cells]
            rows += roundtrip_rows(workload, cells)
        _say("users, idle and playing")
        held = users.Plan(idle=plan.idle, playing=plan.playing, bots=plan.as_bots, hold=plan.hold)
        stages = asyncio.run(users.run(held, server_cpu))
        figures["users"] = [asdict(s) for s in stages]
        rows += users_rows(stages)
    finally:
        os.sched_setaffinity(0, everywhere)  # the window and the bots get both cores
    rows += _window(figures)
    rows += _restart(plan, figures)
    return rows, figures


def _window(figures: dict[str, Any]) -> list[Row]:
    _say("window frame time")
    with display() as screen:
        if screen is None:
            return frametime_rows(None, "no display")
        try:
            figures["frametime"] = _child("frametime.py", [], {**os.environ, "DISPLAY": screen})
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            return frametime_rows(None, f"failed: {_short(str(exc), 40)}")
    return frametime_rows(figures["frametime"], "")


def _restart(plan: Plan, figures: dict[str, Any]) -> list[Row]:
    _say("restart")
    args = ["--bots", str(plan.bots), "--down", str(plan.down)]
    try:
        figures["restart"] = _child("restart.py", args, dict(os.environ))
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        return restart_rows(None, f"failed: {_short(str(exc), 40)}")
    return restart_rows(figures["restart"], "")


def _say(what: str) -> None:
    print(f"--- {what} ({time.strftime('%H:%M:%S')})", file=sys.stderr, flush=True)


def table(rows: Sequence[Row], title: str) -> Table:
    """The rows as a rich table."""
    shown = Table(title=title, title_justify="left")
    for name, justify in (
        ("figure", "left"), ("pacnet", "right"), ("reference", "right"), ("ratio", "right"),
        ("target", "right"), ("met?", "center"),
    ):  # fmt: skip
        shown.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        met = {True: "[green]yes[/]", False: "[red]NO[/]", None: ""}[row.met]
        shown.add_row(row.figure, row.pacnet, row.reference, row.ratio, row.target, met)
    return shown


def markdown(rows: Sequence[Row]) -> str:
    """The rows as a markdown table, for docs/performance.md."""
    lines = [
        "| figure | pacnet | reference | ratio | target | met? |",
        "|---|---:|---:|---:|---:|:---:|",
    ]
    for row in rows:
        met = {True: "yes", False: "**no**", None: ""}[row.met]
        lines.append(
            f"| {row.figure} | {row.pacnet} | {row.reference} | {row.ratio} | {row.target} "
            f"| {met} |"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run.py",
        description="Every pacnet benchmark, each figure beside its reference, in one table.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run of about a minute, not for the record"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every figure")
    parser.add_argument(
        "--markdown", action="store_true", help="print the table as markdown, for the docs"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    plan = QUICK if args.quick else FULL
    limit = raise_fd_limit()
    if max([*plan.idle, *plan.playing, *plan.as_bots]) + 100 > limit:
        print(f"bench/run.py: error: {limit} open files allowed: too few", file=sys.stderr)
        return 1
    began = time.time()
    load_cpu, server_cpu = pick_cpus()
    info = machine(load_cpu, server_cpu)
    try:
        rows, figures = run(plan, load_cpu, server_cpu)
    except (OSError, RuntimeError) as exc:
        print(f"bench/run.py: error: {exc}", file=sys.stderr)
        return 1
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(began))
    title = (
        f"pacnet benchmarks{' (--quick: not for the record)' if args.quick else ''}, {when}, "
        f"{round(time.time() - began)} s; {info['cpus']} CPUs ({info['cpu_model']}), "
        f"Python {info['python']}"
    )
    if args.markdown:
        print(markdown(rows))
    else:
        Console(width=None if sys.stdout.isatty() else 150).print(table(rows, title))
    print(
        "ratio: pacnet / reference; (a-b): the lowest and highest ratio of the turns the "
        "servers took, which is how noisy the machine was"
    )
    if args.json is not None:
        record = {
            "date": when, "machine": info, "plan": asdict(plan), "quick": args.quick,
            "rows": [asdict(row) for row in rows], "figures": figures,
        }  # fmt: skip
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    with suppress(KeyboardInterrupt):
        sys.exit(main())
    sys.exit(130)
