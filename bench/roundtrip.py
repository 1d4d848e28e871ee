"""Round trips per second: pacnet's server against a bare websockets echo server.

    uv run python bench/roundtrip.py [--workload find|mixed|window|page] [--seconds 5]
                                     [--connections 1,10,100] [--baseline DIR]
                                     [--idle-client] [--json FILE]

Each server runs in a process of its own, pinned to one core when there are two; the load
comes from this process, on the other core. For each number of connections N, N connections
are opened to each server; each connection sends a join, then its workload's requests one
after another, waiting for each reply before sending the next (closed loop, one request in
flight per connection):

- ``find``: the same ``find`` of its own pac-man, again and again;
- ``mixed``: the article loop's turn as ``pacnet bots`` play it, ``move``, ``findAll :ghost``,
  ``find`` of its own pac-man (to see whether a ghost overlaps it), with the direction going
  round the four (pacnet/client/play.py ``article_loop(others=False)``);
- ``window``: the window's turn, which reads every pac-man to draw them: ``move``,
  ``findAll :ghost``, ``findAll :pacman`` (its replies grow with the number of connections;
  no target);
- ``page``: the browser page's calls, a second's worth at a time: ten of the window's turns,
  the food (``findAll :pellet``, ``findAll :energizer``) twice, and a ``report`` of how its
  calls ended (``bench/messages.py`` ``page_texts``; no target). Beside ``window`` in one run,
  it says what the page's food and reports cost the server.

The echo server gets the same frames, so the gap between the two is what pacnet's request
path costs: validation, throttle, keepalive, the board, the reply and its encoding, and the
logging around them.

Latency is per round trip, from the client writing a request to it reading the whole
reply. The servers take turns in short slices (``--slice``) so that whatever else the
machine does in the meantime hits both alike; the table shows the range of the per-slice
ratios, and the CPU each server and the load generator used, so a reader can tell whether
the servers, not the client, set the pace. Even so, only ratios from one run are comparable.
"""

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from messages import article_texts, find_texts, join_text, leave_text, page_texts, window_texts
from servers import (
    Server,
    Target,
    closed_loop_targets,
    machine,
    own_cpu_seconds,
    package_prefix,
    pick_cpus,
    raise_fd_limit,
    running,
)
from wslink import TEXT, Link, client_frame, open_link

from pacnet.client.tally import percentile

THROUGHPUT_TARGET = 0.60
"""pacnet must reach this share of the echo server's round trips per second (10-100 conns)."""
LATENCY_TARGET = 1.5
"""pacnet's median round trip may be at most this many times the echo server's."""
CHECK_EVERY = 1000
"""Check one reply in this many, and every join's: enough to notice a server answering with
errors, too few to slow the client down."""
# --- the load --------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """What each connection sends, over and over, after its join."""

    name: str
    texts: Callable[[int], list[bytes]]
    """The requests of user number N, sent in turn."""
    about: str


WORKLOADS = {
    "find": Workload("find", find_texts, "find of its own pac-man"),
    "mixed": Workload(
        "mixed", article_texts, "the article loop as bots play it: move, findAll :ghost, find"
    ),
    "window": Workload(
        "window", window_texts, "the window's loop: move, findAll :ghost, findAll :pacman"
    ),
    "page": Workload(
        "page", page_texts, "the browser page's second: ten window turns, the food twice, a report"
    ),
}
TARGETED = ("find", "mixed")
"""The workloads the targets are for: the issue's ``find`` and the article loop's calls. The
window's loop reads every pac-man on the board each turn, N players N pac-men: its reply grows
with N where the echo's does not, so it is measured and shown beside echo, without a target."""


@dataclass
class Replies:
    """The replies checked so far, and the wrong ones among them."""

    accepts: Callable[[bytes, bytes], bool]
    checked: int = 0
    wrong: list[bytes] = field(default_factory=list)

    def check(self, request: bytes, reply: bytes) -> None:
        """Note whether ``reply`` is a right answer to ``request``."""
        self.checked += 1
        if not self.accepts(request, reply):
            self.wrong.append(reply)


@dataclass
class Script:
    """One connection's requests: their texts (to check replies against) and masked frames."""

    texts: tuple[bytes, ...]
    frames: tuple[bytes, ...]
    at: int = 0
    """Index of the next request to send: a new slice carries on where the last one stopped,
    so that no move's requestId comes round again within the server's memory of it."""

    @classmethod
    def of(cls, texts: Sequence[bytes], link: Link) -> "Script":
        """The script that sends ``texts`` in turn on ``link``."""
        return cls(tuple(texts), tuple(client_frame(TEXT, text, link.mask) for text in texts))


class ClosedLoop:
    """One connection sending its next request as soon as each reply arrives.

    Everything happens in the link's message callback: no future, no task switch.
    """

    def __init__(
        self, link: Link, script: Script, replies: Replies, latencies: list[float]
    ) -> None:
        self.link, self.script = link, script
        self.replies, self.latencies = replies, latencies
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._stopping = False
        self._sent = 0.0
        self._next = script.at
        """Index of the request in flight in the script."""
        self._single = len(script.frames) == 1

    def start(self) -> None:
        """Send the first request; each reply sends the next."""
        self.link.on_message, self.link.on_lost = self._on_reply, self._on_lost
        self._sent = time.perf_counter()
        self.link.send(self.script.frames[self._next])

    def stop(self) -> "asyncio.Future[None]":
        """Send no more; the future is done when the request in flight has its reply."""
        self._stopping = True
        return self.done

    def _on_reply(self, payload: bytes) -> None:
        now = time.perf_counter()
        latencies = self.latencies
        latencies.append(now - self._sent)
        if len(latencies) % CHECK_EVERY == 0:
            self.replies.check(self.script.texts[self._next], payload)
        if not self._single:
            self._next = (self._next + 1) % len(self.script.frames)
        if self._stopping:
            self.script.at = self._next
            self.link.detach()
            self.done.set_result(None)
            return
        self._sent = now
        self.link.send(self.script.frames[self._next])

    def _on_lost(self, error: Exception) -> None:
        if not self.done.done():
            self.done.set_exception(error)


class Spinner:
    """Keeps the load generator's event loop from ever sleeping while the servers are driven.

    A process asleep in ``epoll_wait`` is woken by the reply that arrives for it, and on
    loopback the kernel does that waking in the sender: the server's socket write pays for it.
    The slower a server, the more often its client has finished with the last reply and gone
    to sleep, so the slower server pays the toll on more of its replies: on this shared
    virtual machine, 5-10% of pacnet's CPU per round trip in the mixed workload, and its ratio
    to echo 0.04-0.10 lower (six paired runs, docs/performance.md). A client on another machine
    charges no server for waking it, so the load generator busy-polls, as latency benchmarks
    do: this task yields to the event loop again and again, which then never blocks.

    ``laps`` counts its turns; ``calibrate`` times a turn with nothing else to do, so that a
    slice can tell the CPU the load generator spent on work from the CPU it spent spinning. A
    spinner never started (``--idle-client``) never laps: it leaves no idle time to take out.
    """

    def __init__(self) -> None:
        self.laps = 0
        self.lap_seconds = 0.0
        """Seconds one lap takes when there is nothing else to do (``calibrate``)."""

    async def spin(self) -> None:
        """Spin until cancelled."""
        while True:
            self.laps += 1
            await asyncio.sleep(0)  # (a bare yield: the event loop polls with no timeout)

    async def calibrate(self, seconds: float = 0.2) -> None:
        """Time a lap with nothing else going on; ``spin`` must be running."""
        laps, began = self.laps, time.perf_counter()
        await asyncio.sleep(seconds)
        self.lap_seconds = (time.perf_counter() - began) / max(1, self.laps - laps)

    def idle_seconds(self, since_laps: int) -> float:
        """About how long the laps since ``since_laps`` took: time with nothing to do. A lap
        that also handled replies took longer, so this errs toward counting work."""
        return (self.laps - since_laps) * self.lap_seconds


@dataclass
class Slice:
    """One timed turn of one server: its round trips, and what they cost in time and CPU."""

    seconds: float
    latencies: list[float]
    server_cpu: float
    """CPU seconds the server used."""
    load_cpu: float
    """CPU seconds this process spent on work (spinning, ``Spinner``, left out)."""


@dataclass
class Load:
    """Joined connections to one server, each with its script of pre-masked frames."""

    server: Server
    links: list[tuple[Link, Script]]
    replies: Replies
    spinner: Spinner

    async def drive(self, seconds: float) -> Slice:
        """Every connection in a closed loop for ``seconds``; then each finishes its request."""
        latencies: list[float] = []
        loops = [ClosedLoop(link, script, self.replies, latencies) for link, script in self.links]
        server_cpu, load_cpu = self.server.cpu_seconds(), own_cpu_seconds()
        laps = self.spinner.laps
        began = time.perf_counter()
        for loop in loops:
            loop.start()
        await asyncio.sleep(seconds)
        await asyncio.gather(*(loop.stop() for loop in loops))
        return Slice(
            seconds=time.perf_counter() - began,
            latencies=latencies,
            server_cpu=self.server.cpu_seconds() - server_cpu,
            load_cpu=max(0.0, own_cpu_seconds() - load_cpu - self.spinner.idle_seconds(laps)),
        )


@asynccontextmanager
async def connected(
    target: Target, server: Server, users: range, workload: Workload, spinner: Spinner
) -> AsyncIterator[Load]:
    """Open and join one connection per user; on the way out each leaves and closes."""
    async with asyncio.TaskGroup() as tasks:
        opening = [tasks.create_task(open_link(server.url)) for _ in users]
    load = Load(server, [], Replies(target.accepts), spinner)
    try:
        for user, task in zip(users, opening, strict=True):
            link = task.result()
            join = join_text(user)
            load.replies.check(join, await link.request(client_frame(TEXT, join, link.mask)))
            load.links.append((link, Script.of(workload.texts(user), link)))
        yield load
        for user, (link, _) in zip(users, load.links, strict=False):
            leave = leave_text(user)
            load.replies.check(leave, await link.request(client_frame(TEXT, leave, link.mask)))
    finally:
        async with asyncio.TaskGroup() as tasks:
            for task in opening:
                tasks.create_task(task.result().close())


@dataclass
class Cell:
    """One server at one number of connections: the figures the table shows, and more."""

    server: str
    connections: int
    seconds: float
    round_trips: int
    per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    server_cpu: float
    """Share of one core the server used while measured."""
    load_cpu: float
    """Share of one core the load generator spent on work while measured (spinning, with
    ``Plan.spin``, left out): below 100%, it was not what set the pace."""
    slice_rates: list[float]
    """Round trips per second in each slice, in the order they ran."""
    server_us_per_rt: float
    """Server CPU time per round trip, in µs: the work one round trip costs the server. Less
    shaken than the rates by other tenants of the machine, which take cores, not work."""
    replies_checked: int
    replies_wrong: int
    first_wrong: str | None


def summarize(load: Load, slices: Sequence[Slice]) -> Cell:
    """One cell from the slices of one load."""
    latencies = sorted(x for s in slices for x in s.latencies)
    seconds = sum(s.seconds for s in slices)
    wrong = load.replies.wrong

    def ms(q: float) -> float:
        return round((percentile(latencies, q) or 0.0) * 1000, 3)

    return Cell(
        server=load.server.name, connections=len(load.links), seconds=round(seconds, 3),
        round_trips=len(latencies), per_second=round(len(latencies) / seconds, 1),
        p50_ms=ms(0.50), p90_ms=ms(0.90), p99_ms=ms(0.99), max_ms=ms(1.0),
        server_cpu=round(sum(s.server_cpu for s in slices) / seconds, 3),
        load_cpu=round(sum(s.load_cpu for s in slices) / seconds, 3),
        slice_rates=[round(len(s.latencies) / s.seconds, 1) for s in slices],
        server_us_per_rt=round(sum(s.server_cpu for s in slices) / len(latencies) * 1e6, 1),
        replies_checked=load.replies.checked, replies_wrong=len(wrong),
        first_wrong=wrong[0].decode(errors="replace") if wrong else None,
    )  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class Plan:
    """What one run measures."""

    connections: Sequence[int]
    seconds: float
    """Measured seconds per server and number of connections."""
    warmup: float
    """Unmeasured seconds each server gets first, at each number of connections."""
    slice: float
    """The servers take turns for about this long each, until ``seconds`` are done."""
    workload: str = "find"
    """A name in ``WORKLOADS``."""
    baseline: Path | None = None
    """Another checkout of pacnet to measure in the same turns (``baseline``): the code
    before a change, to tell what the change did."""
    spin: bool = True
    """Whether the load generator busy-polls (``Spinner``) instead of sleeping between
    replies."""


async def measure(
    plan: Plan,
    servers: Sequence[tuple[Target, Server]],
    users: range,
    spinner: Spinner,
) -> list[Cell]:
    """Every server at ``len(users)`` connections, taking turns slice by slice."""
    workload = WORKLOADS[plan.workload]
    async with AsyncExitStack() as stack:
        loads = [
            await stack.enter_async_context(connected(target, server, users, workload, spinner))
            for target, server in servers
        ]
        for load in loads:
            await load.drive(plan.warmup)
        turns = max(1, round(plan.seconds / plan.slice))
        slices: list[list[Slice]] = [[] for _ in loads]
        for _ in range(turns):
            for load, done in zip(loads, slices, strict=True):
                done.append(await load.drive(plan.seconds / turns))
        return [summarize(load, done) for load, done in zip(loads, slices, strict=True)]


@asynccontextmanager
async def spinning() -> AsyncIterator[Spinner]:
    """A calibrated ``Spinner``, spinning until the ``async with`` block ends."""
    spinner = Spinner()
    async with asyncio.TaskGroup() as tasks:
        task = tasks.create_task(spinner.spin())
        try:
            await spinner.calibrate()
            yield spinner
        finally:
            task.cancel()


async def run(plan: Plan, server_cpu: int | None) -> list[Cell]:
    """Every cell, each N with user ids of its own."""
    cells: list[Cell] = []
    first = 0
    targets = closed_loop_targets(plan.baseline)
    async with AsyncExitStack() as stack:
        servers = [(t, await stack.enter_async_context(running(t, server_cpu))) for t in targets]
        spinner = await stack.enter_async_context(spinning()) if plan.spin else Spinner()
        for n in plan.connections:
            users = range(first, first + n)
            first += n
            measured = await measure(plan, servers, users, spinner)
            for cell in measured:
                print(
                    f"{plan.workload:>5} {cell.server:>6} x{n:<4} {cell.per_second:>9,.0f} rt/s  "
                    f"p50 {cell.p50_ms:.3f} ms  p99 {cell.p99_ms:.3f} ms  "
                    f"CPU server {cell.server_cpu:.0%} load {cell.load_cpu:.0%}",
                    file=sys.stderr,
                )
            cells += measured
    return cells


# --- the report ------------------------------------------------------------------------


def pairs(cells: Sequence[Cell], reference: str = "echo") -> list[tuple[Cell, Cell]]:
    """(reference, pacnet) at each number of connections, fewest first."""
    by = {(c.server, c.connections): c for c in cells}
    return [(by[reference, n], by["pacnet", n]) for n in sorted({c.connections for c in cells})]


def slice_ratios(reference: Cell, ours: Cell) -> tuple[float, float]:
    """The lowest and highest of ours / reference over the slices they took turns in."""
    turns = [o / r for r, o in zip(reference.slice_rates, ours.slice_rates, strict=True)]
    return min(turns), max(turns)


def table(cells: Sequence[Cell]) -> str:
    """The results as a markdown table."""
    rows = [
        "| connections | echo rt/s | pacnet rt/s | ratio | slice ratios | echo p50 ms "
        "| pacnet p50 ms | p50 ratio | echo p99 ms | pacnet p99 ms | CPU server/load: echo "
        "| pacnet | server CPU µs/rt: echo | pacnet |",
        "|---:|---:|---:|---:|:---:|---:|---:|---:|---:|---:|:---:|:---:|---:|---:|",
    ]
    for echo, pacnet in pairs(cells):
        low, high = slice_ratios(echo, pacnet)
        rows.append(
            f"| {echo.connections} | {echo.per_second:,.0f} | {pacnet.per_second:,.0f} "
            f"| {pacnet.per_second / echo.per_second:.2f} | {low:.2f}-{high:.2f} "
            f"| {echo.p50_ms:.3f} | {pacnet.p50_ms:.3f} | {pacnet.p50_ms / echo.p50_ms:.2f} "
            f"| {echo.p99_ms:.3f} | {pacnet.p99_ms:.3f} | {_cpu(echo)} | {_cpu(pacnet)} "
            f"| {echo.server_us_per_rt:.0f} | {pacnet.server_us_per_rt:.0f} |"
        )
    return "\n".join(rows)


def baseline_table(cells: Sequence[Cell]) -> str:
    """pacnet against the baseline checkout, measured in the same turns, as a markdown table."""
    rows = [
        "| connections | baseline rt/s | pacnet rt/s | ratio | slice ratios | baseline p50 ms "
        "| pacnet p50 ms | baseline p99 ms | pacnet p99 ms | server CPU µs/rt: baseline "
        "| pacnet | ratio |",
        "|---:|---:|---:|---:|:---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for base, ours in pairs(cells, "baseline"):
        low, high = slice_ratios(base, ours)
        rows.append(
            f"| {base.connections} | {base.per_second:,.0f} | {ours.per_second:,.0f} "
            f"| {ours.per_second / base.per_second:.2f} | {low:.2f}-{high:.2f} "
            f"| {base.p50_ms:.3f} | {ours.p50_ms:.3f} | {base.p99_ms:.3f} | {ours.p99_ms:.3f} "
            f"| {base.server_us_per_rt:.0f} | {ours.server_us_per_rt:.0f} "
            f"| {ours.server_us_per_rt / base.server_us_per_rt:.2f} |"
        )
    return "\n".join(rows)


def _cpu(cell: Cell) -> str:
    return f"{cell.server_cpu:.0%} / {cell.load_cpu:.0%}"


def verdicts(cells: Sequence[Cell]) -> list[str]:
    """One line per target: met or not, and the ratios it was judged on."""
    both = pairs(cells)
    throughput = {
        e.connections: p.per_second / e.per_second for e, p in both if 10 <= e.connections <= 100
    }
    latency = {e.connections: p.p50_ms / e.p50_ms for e, p in both}

    def line(what: str, ratios: dict[int, float], ok: Callable[[float], bool]) -> str:
        shown = ", ".join(f"{r:.2f} at {n}" for n, r in ratios.items()) or "not measured"
        met = "met" if ratios and all(ok(r) for r in ratios.values()) else "NOT met"
        return f"- {what}: {met} ({shown})"

    return [
        line(f"pacnet >= {THROUGHPUT_TARGET:.0%} of echo rt/s at 10-100 connections",
             throughput, lambda r: r >= THROUGHPUT_TARGET),
        line(f"pacnet p50 <= {LATENCY_TARGET}x echo p50", latency, lambda r: r <= LATENCY_TARGET),
    ]  # fmt: skip


def report(cells: Sequence[Cell], info: dict[str, Any], plan: Plan) -> str:
    """Everything the run prints on stdout, as markdown."""
    pinned = (
        f"servers on CPU {info['server_cpu']}, load on CPU {info['load_cpu']}"
        if info["server_cpu"] is not None
        else "not pinned: one usable CPU"
    )
    return "\n".join([
        f"- machine: {info['cpus']} CPUs, {info['cpus_usable']} usable ({pinned}); "
        f"{info['cpu_model'] or 'unknown model'}",
        f"- software: {info['platform']}, Python {info['python']}, "
        f"websockets {info['websockets']}, pydantic {info['pydantic']}",
        f"- workload: {WORKLOADS[plan.workload].about}",
        f"- each cell: {plan.seconds:g} s measured in turns of about {plan.slice:g} s, after "
        f"{plan.warmup:g} s of warm-up; one request in flight per connection",
        "- load generator: "
        + ("busy-polls (its CPU column: work alone)" if plan.spin else "sleeps between replies"),
        "",
        table(cells),
        "",
        *(["Targets:", "", *verdicts(cells)] if plan.workload in TARGETED else
          [f"No target for the {plan.workload} workload: its replies grow with the connections."]),
        *(["", f"Against the baseline ({plan.baseline}):", "", baseline_table(cells)]
          if plan.baseline is not None else []),
    ])  # fmt: skip


# --- the command line ------------------------------------------------------------------


def connection_counts(text: str) -> list[int]:
    """An argparse type: comma-separated numbers of connections."""
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list like 1,10,100") from None
    if min(counts) < 1:
        raise argparse.ArgumentTypeError("every number of connections must be at least 1")
    return counts


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/roundtrip.py",
        description="Round trips per second and their latency: pacnet's server against a "
        "bare websockets echo server, each in its own process.",
    )
    parser.add_argument(
        "--seconds", type=float, default=5.0,
        help="measured seconds per server and number of connections (%(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--warmup", type=float, default=1.0, help="unmeasured seconds first (%(default)s)"
    )
    parser.add_argument(
        "--slice", type=float, default=0.5,
        help="the servers take turns this many seconds long (%(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--connections", type=connection_counts, default=[1, 10, 100], metavar="N,N,...",
        help="numbers of concurrent connections (1,10,100)",
    )  # fmt: skip
    parser.add_argument(
        "--workload", choices=sorted(WORKLOADS), default="find",
        help="what each connection sends (%(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--baseline", type=Path, metavar="DIR",
        help="also measure the pacnet of another checkout (say, `git archive` of the commit "
        "before a change), in the same turns",
    )  # fmt: skip
    parser.add_argument(
        "--idle-client", action="store_true",
        help="let the load generator sleep between replies instead of busy-polling: each reply "
        "then also pays for waking it, which costs the slower server more",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the raw figures")
    args = parser.parse_args(argv)
    if args.baseline is not None and package_prefix(args.baseline) is None:
        parser.error(f"--baseline {args.baseline}: not a pacnet checkout")
    if args.seconds <= 0 or args.slice <= 0 or args.warmup < 0:
        parser.error("--seconds and --slice must be > 0, --warmup >= 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    plan = Plan(
        connections=args.connections, seconds=args.seconds, warmup=args.warmup, slice=args.slice,
        workload=args.workload, baseline=args.baseline, spin=not args.idle_client,
    )  # fmt: skip
    raise_fd_limit()
    load_cpu, server_cpu = pick_cpus()
    info = machine(load_cpu, server_cpu)
    if load_cpu is not None:
        os.sched_setaffinity(0, {load_cpu})
    try:
        cells = asyncio.run(run(plan, server_cpu))
    except (OSError, RuntimeError) as exc:
        print(f"bench/roundtrip.py: error: {exc}", file=sys.stderr)
        return 1
    print(report(cells, info, plan))
    if args.json is not None:
        figures = {"machine": info, "plan": asdict(plan), "cells": [asdict(c) for c in cells]}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n")  # (Path)
    wrong = [c for c in cells if c.replies_wrong]
    for cell in wrong:
        print(
            f"{cell.server} x{cell.connections}: {cell.replies_wrong} of {cell.replies_checked} "
            f"replies checked were wrong; the first: {cell.first_wrong}",
            file=sys.stderr,
        )
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
