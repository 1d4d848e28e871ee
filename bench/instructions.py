"""Instructions per request: what the server's request path costs, counted, not timed.

    uv run python bench/instructions.py [--baseline DIR] [--json FILE]
    uv run python bench/instructions.py --in-place [--workload mixed] [--connections 10]
                                        [--baseline DIR] [--json FILE]

Runs the server's request path (``Pipeline.handle``, every stage, the reply encoded) in a
loop in memory, under valgrind's callgrind, and counts the machine instructions one request
takes: the count of a run of ``--many`` requests less that of ``--few``, over the difference,
so that starting Python and the server is not counted; both runs hash strings alike
(``PYTHONHASHSEED=0``), so their dicts probe the same slots. Instruction counts do not move
with what else the machine does, as times on a shared machine do: a change to the request
path shows up here to within a few tens of instructions, in one run.

What it counts is CPU work in user space, without the sockets and the event loop around the
pipeline (bench/roundtrip.py measures the whole round trip, in time), and without caches:
in a busy server the same instructions take two to four times as long as in this loop
(docs/performance.md). ``--baseline DIR`` counts another checkout too (``git archive`` of the
commit before a change), in the same run. Needs valgrind (``apt-get install -y valgrind``).

``--in-place`` counts whole round trips instead: the echo server and ``pacnet serve`` each run
under callgrind, in turn, while connections send them a workload of bench/roundtrip.py in a
closed loop; the counters are zeroed after a warm-up and dumped after the counted requests
(``callgrind_control -z`` / ``-d``), so the count is the server process's every instruction
per round trip, sockets, event loop and websockets included, and pacnet's is set beside the
echo server's as a ratio that no other tenant of the machine can shake. What it counts is
the round trips, not the board's ticks: the tick loop and snapshots keep wall-clock time,
which passes some thirty times faster for a server under callgrind than for one at full
speed, and a tick's cost grows with the pac-men on the board while the round trips under
callgrind slow down, so no one tick rate charges them per round trip what full speed does
(1 Hz did at 10 connections, and charged 13-17k a round trip too many at 100). So pacnet ticks
once in 20 s here, and takes no snapshot during the count; bench/roundtrip.py's timed
figures have the ticks in.
"""

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path

from messages import TURNS, article_text, find_texts, join_text, window_text
from roundtrip import WORKLOADS, Workload
from servers import Target, closed_loop_targets, package_prefix, running
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parent.parent
MAZE = ROOT / "bench" / "penned.txt"
PLAYERS = 10
"""Users on the board: ``findAll :pacman`` answers with this many pac-men."""

REQUESTS: dict[str, Callable[[int], bytes]] = {
    "find": lambda i: find_texts(0)[0],
    "move": lambda i: window_text(0, 3 * i),
    "findAll :ghost": lambda i: window_text(0, 1),
    "findAll :pacman": lambda i: window_text(0, 2),
    "mixed (a request)": lambda i: article_text(0, i),
}
"""Request number i of each kind counted, as user 0 of the ``find``, ``window`` and ``mixed``
workloads of bench/roundtrip.py sends it (bench/messages.py): each move has its own
requestId, as in the benchmark, since a repeated one is answered from memory. ``mixed`` is the
article's loop, move, findAll :ghost, find, in turn: its count is a request's on average."""

LOOP = """
import importlib, json, sys, time
root, layout, prefix = sys.argv[1], sys.argv[2], sys.argv[4]
sys.path.insert(0, root)
config = importlib.import_module(prefix + "server.config")
ServerConfig, ServerLimits = config.ServerConfig, config.ServerLimits
BoardServer = importlib.import_module(prefix + "server.net").BoardServer
ConnectionState = importlib.import_module(prefix + "server.pipeline").ConnectionState

given = json.load(sys.stdin)
limits = ServerLimits(rate=1e9, burst=10**9)
server = BoardServer(ServerConfig(port=0, layout=layout, limits=limits))
pipeline, now = server.pipeline, time.monotonic()
connections = [ConnectionState(user + 1) for user in range(len(given["joins"]))]
for connection, join in zip(connections, given["joins"]):
    assert pipeline.handle(connection, join, now).failed is False
frames = given["frames"]  # sent in turn, round and round: nothing made per request
for frame in frames:
    reply = pipeline.handle(connections[0], frame, now)
    assert not reply.failed, reply.frame
handle, connection, turn = pipeline.handle, connections[0], len(frames)
for i in range(int(sys.argv[3]) - turn):
    handle(connection, frames[i % turn], now)
"""


def loop_input(request: str) -> str:
    """What the loop reads: the joins of ``PLAYERS`` users, then the requests of a kind in
    the order the workload sends them, which it sends in turn, round and round (a move's
    requestId comes round after ``TURNS`` turns of three calls)."""
    frames = [REQUESTS[request](i).decode() for i in range(3 * TURNS)]
    return json.dumps({
        "joins": [join_text(user).decode() for user in range(PLAYERS)], "frames": frames,
    })  # fmt: skip


def count(python: str, root: Path, request: str, requests: int) -> int:
    """Instructions for starting, joining, then handling ``requests`` requests."""
    with tempfile.TemporaryDirectory(prefix="pacnet-instructions-") as work:
        out = Path(work) / "callgrind.out"
        command = [
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--log-file=/dev/null",
            python, "-c", LOOP, str(root), str(MAZE), str(requests), package_prefix(root) or "",
        ]  # fmt: skip
        # Bytecode written by an earlier run, or not, changes the count: never write it. Nor
        # may the two runs hash strings differently: dicts would probe other slots, and the
        # difference between the runs moved by a few thousand instructions.
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}
        done = subprocess.run(
            command, input=loop_input(request), capture_output=True, text=True,
            env=env, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"the loop failed in {root}: {done.stderr.strip()[-600:]}")
        found = re.search(r"^summary: (\d+)$", out.read_text(), re.MULTILINE)
        if found is None:
            raise RuntimeError("callgrind wrote no summary")
        return int(found.group(1))


def per_request(python: str, root: Path, request: str, few: int, many: int) -> int:
    """Instructions one request takes: the difference between two runs, over theirs."""
    return round(
        (count(python, root, request, many) - count(python, root, request, few)) / (many - few)
    )


CALLGRIND_START_TIMEOUT = 180.0
"""Seconds a server under callgrind may take to log its URL (pacnet's imports alone take
a good part of a minute there)."""
IN_PLACE_FLAGS = ("--tick-rate", "0.05", "--snapshot-interval", "3600")
"""pacnet's flags under callgrind, besides the bench's unreachable throttle: a tick in 20 s
and no snapshot while counting (the module's docstring says why)."""


def in_place_targets(baseline: Path | None) -> list[Target]:
    """The servers ``--in-place`` counts: echo, pacnet, and the baseline checkout's pacnet."""
    return closed_loop_targets(baseline, *IN_PLACE_FLAGS)


async def _signal(tool: str, pid: int) -> None:
    """``callgrind_control`` ``tool`` (``-z``: zero the counters; ``-d``: dump them) on ``pid``."""
    control = await asyncio.create_subprocess_exec(
        "callgrind_control", tool, str(pid),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    if await control.wait() != 0:
        raise RuntimeError(f"callgrind_control {tool} {pid} failed")


async def _play(
    link: ClientConnection, target: Target, texts: list[bytes], start: int, count: int
) -> None:
    """Send ``count`` requests of ``texts`` from number ``start``, each after the last's reply.

    Raises:
        RuntimeError: a reply was not a right answer (the count would be of another path).
    """
    for index in range(start, start + count):
        request = texts[index % len(texts)]
        await link.send(request.decode())
        reply = await link.recv()
        if not target.accepts(request, reply.encode() if isinstance(reply, str) else reply):
            raise RuntimeError(f"{target.name} answered {request!r} with {reply!r}")


async def per_round_trip(
    target: Target, workload: Workload, connections: int, warmup: int, count: int
) -> int:
    """Instructions the server process of ``target`` takes per round trip, in place: ``count``
    requests of ``workload`` on each of ``connections`` connections, after ``warmup`` each."""
    with tempfile.TemporaryDirectory(prefix="pacnet-instructions-") as work:
        out = Path(work) / "callgrind.out"
        counted = replace(target, command=(
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--log-file=/dev/null",
            *target.command,
        ))  # fmt: skip
        started = running(counted, None, start_timeout=CALLGRIND_START_TIMEOUT)
        async with started as server, AsyncExitStack() as stack:
            links = [
                await stack.enter_async_context(connect(server.url, compression=None))
                for _ in range(connections)
            ]
            texts = [workload.texts(user) for user in range(connections)]
            for user, link in enumerate(links):
                await _play(link, target, [join_text(user)], 0, 1)
            await asyncio.gather(*(
                _play(link, target, texts[user], 0, warmup) for user, link in enumerate(links)
            ))  # fmt: skip
            await _signal("-z", server.pid)
            await asyncio.gather(*(
                _play(link, target, texts[user], warmup, count)
                for user, link in enumerate(links)
            ))  # fmt: skip
            await _signal("-d", server.pid)
        return round(_dumped(Path(work), target.name) / (connections * count))


def _dumped(work: Path, name: str) -> int:
    """The instructions counted between ``callgrind_control -z`` and ``-d``, from the dump."""
    dumps = [path for path in work.glob("callgrind.out.*") if path.stat().st_size]
    if not dumps:
        raise RuntimeError(f"callgrind dumped nothing for {name}")
    found = re.search(r"^(?:summary|totals): (\d+)", dumps[0].read_text(), re.MULTILINE)
    if found is None:
        raise RuntimeError(f"callgrind's dump for {name} has no total")
    return int(found.group(1))


def in_place(args: argparse.Namespace) -> int:
    """``--in-place``: count each server's round trips and print them beside echo's."""
    workload = WORKLOADS[args.workload]
    counts: dict[str, int] = {}
    for target in in_place_targets(args.baseline):
        counts[target.name] = asyncio.run(
            per_round_trip(target, workload, args.connections, args.warmup, args.requests)
        )
        print(f"{target.name:>8} {counts[target.name]:>9,}", file=sys.stderr)
    echo = counts["echo"]
    print("| server | instructions per round trip | ratio to echo | more than echo |")
    print("|---|---:|---:|---:|")
    for name, count in counts.items():
        print(f"| {name} | {count:,} | {count / echo:.2f} | {count - echo:,} |")
    print(
        f"\n{args.workload} ({workload.about}), {args.connections} connections, "
        f"{args.requests} round trips each counted after {args.warmup}"
    )
    if args.json:
        args.json.write_text(json.dumps({
            "workload": args.workload, "connections": args.connections,
            "requests": args.requests, "warmup": args.warmup, "counts": counts,
        }, indent=2))  # fmt: skip
    return 0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/instructions.py",
        description="Instructions per request of the server's request path, under callgrind.",
    )
    parser.add_argument(
        "--baseline", type=Path, metavar="DIR",
        help="also count the checkout in DIR (say, `git archive` of the commit before a change)",
    )  # fmt: skip
    parser.add_argument("--few", type=int, default=500, help="requests in the short run (500)")
    parser.add_argument("--many", type=int, default=2500, help="requests in the long run (2500)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the counts")
    place = parser.add_argument_group("round trips in the running server (--in-place)")
    place.add_argument(
        "--in-place", action="store_true",
        help="count whole round trips of the echo server and pacnet serve, not the loop",
    )  # fmt: skip
    place.add_argument(
        "--workload", choices=sorted(WORKLOADS), default="mixed", help="what is sent (mixed)"
    )
    place.add_argument("--connections", type=int, default=10, help="connections (10)")
    place.add_argument("--warmup", type=int, default=50, help="uncounted requests each (50)")
    place.add_argument("--requests", type=int, default=300, help="counted requests each (300)")
    args = parser.parse_args(argv)
    if args.baseline is not None and package_prefix(args.baseline) is None:
        parser.error(f"--baseline {args.baseline}: not a pacnet checkout")
    if not 0 < args.few < args.many:
        parser.error("--few and --many must be 0 < few < many")
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        parser.error("valgrind is not installed (apt-get install -y valgrind)")
    if min(args.connections, args.warmup, args.requests) < 1:
        parser.error("--connections, --warmup and --requests must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.in_place:
        return in_place(args)
    roots = {"pacnet": ROOT} | ({"baseline": args.baseline} if args.baseline else {})
    counts: dict[str, dict[str, int]] = {name: {} for name in roots}
    for request in REQUESTS:
        for name, root in roots.items():
            counts[name][request] = per_request(sys.executable, root, request, args.few, args.many)
            print(f"{name:>8} {request:<16} {counts[name][request]:>9,}", file=sys.stderr)
    header = "| request | pacnet |" + (" baseline | ratio |" if args.baseline else "")
    print(header)
    print("|---|---:|" + ("---:|---:|" if args.baseline else ""))
    for request in REQUESTS:
        ours = counts["pacnet"][request]
        row = f"| {request} | {ours:,} |"
        if args.baseline:
            base = counts["baseline"][request]
            row += f" {base:,} | {ours / base:.2f} |"
        print(row)
    print(
        f"\ninstructions per request; findAll :pacman with {PLAYERS} pac-men on the board, "
        "findAll :ghost with the penned maze's 4 ghosts"
    )
    if args.json:
        args.json.write_text(json.dumps({"players": PLAYERS, "counts": counts}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
