"""Instructions per request: what the server's request path costs, counted, not timed.

    uv run python bench/instructions.py [--baseline DIR] [--json FILE]

Runs the server's request path (``Pipeline.handle``, every stage, the reply encoded) in a
loop in memory, under valgrind's callgrind, and counts the machine instructions one request
takes: the count of a run of ``--many`` requests less that of ``--few``, over the difference,
so that starting Python and the server is not counted. Instruction counts do not move with
what else the machine does, as times on a shared machine do: a change to the request path
shows up here to within a few hundred instructions, in one run.

What it counts is CPU work in user space, without the sockets and the event loop around the
pipeline (bench/roundtrip.py measures the whole round trip, in time), and without caches:
in a busy server the same instructions take two to four times as long as in this loop
(docs/performance.md). ``--baseline DIR`` counts another checkout too (``git archive`` of the
commit before a change), in the same run. Needs valgrind (``apt-get install -y valgrind``).
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from messages import TURNS, find_texts, join_text, window_text

ROOT = Path(__file__).resolve().parent.parent
MAZE = ROOT / "bench" / "penned.txt"
PLAYERS = 10
"""Users on the board: ``findAll :pacman`` answers with this many pac-men."""

REQUESTS: dict[str, Callable[[int], bytes]] = {
    "find": lambda i: find_texts(0)[0],
    "move": lambda i: window_text(0, 3 * i),
    "findAll :ghost": lambda i: window_text(0, 1),
    "findAll :pacman": lambda i: window_text(0, 2),
}
"""Request number i of each kind counted, as user 0 of the ``find`` and ``window`` workloads of
bench/roundtrip.py sends it (bench/messages.py): each move has its own requestId, as in the
benchmark, since a repeated one is answered from memory."""

LOOP = """
import json, sys, time
root, layout = sys.argv[1:3]
sys.path.insert(0, root)
from server.config import ServerConfig, ServerLimits
from server.net import BoardServer
from server.pipeline import ConnectionState

given = json.load(sys.stdin)
limits = ServerLimits(rate=1e9, burst=10**9)
server = BoardServer(ServerConfig(port=0, layout=layout, limits=limits))
pipeline, now = server.pipeline, time.monotonic()
connections = [ConnectionState(user + 1) for user in range(len(given["joins"]))]
for connection, join in zip(connections, given["joins"]):
    assert pipeline.handle(connection, join, now).failed is False
frames = given["frames"]  # each different one, sent in turn: nothing made per request
for frame in frames:
    reply = pipeline.handle(connections[0], frame, now)
    assert not reply.failed, reply.frame
handle, connection, turn = pipeline.handle, connections[0], len(frames)
for i in range(int(sys.argv[3]) - turn):
    handle(connection, frames[i % turn], now)
"""


def loop_input(request: str) -> str:
    """What the loop reads: the joins of ``PLAYERS`` users, then every different request of
    a kind, which it sends in turn (a move's requestId comes round after ``TURNS``)."""
    frames = dict.fromkeys(REQUESTS[request](i).decode() for i in range(TURNS))
    return json.dumps({
        "joins": [join_text(user).decode() for user in range(PLAYERS)], "frames": list(frames),
    })  # fmt: skip


def count(python: str, root: Path, request: str, requests: int) -> int:
    """Instructions for starting, joining, then handling ``requests`` requests."""
    with tempfile.TemporaryDirectory(prefix="pacnet-instructions-") as work:
        out = Path(work) / "callgrind.out"
        command = [
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--log-file=/dev/null",
            python, "-c", LOOP, str(root), str(MAZE), str(requests),
        ]  # fmt: skip
        # Bytecode written by an earlier run, or not, changes the count: never write it.
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
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
    args = parser.parse_args(argv)
    if args.baseline is not None and not (args.baseline / "server" / "pipeline.py").is_file():
        parser.error(f"--baseline {args.baseline}: not a pacnet checkout")
    if not 0 < args.few < args.many:
        parser.error("--few and --many must be 0 < few < many")
    if shutil.which("valgrind") is None:
        parser.error("valgrind is not installed (apt-get install -y valgrind)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
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
