"""How a fleet of clients recovers from a server restart.

    uv run python bench/restart.py [--clients 200] [--down 2.0]

Starts ``pacnet serve`` (with a state file) as a child process and N clients in this process,
each a ``RemoteBoard`` with the window's retry policy, joined and calling ``find`` every
100 ms. Then it kills the server with SIGKILL, starts it again on the same port and file
after ``--down`` seconds, and measures, per client:

- when it first tried to reconnect after the kill, and when each try happened (the spread
  of reconnection attempts is what jittered backoff is for: no wave of N at once);
- when it was back: its first successful call after the restart, its session resumed.

Prints a table for docs/performance.md.
"""

import argparse
import asyncio
import json
import logging
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from client.remote import RemoteBoard  # noqa: E402
from client.retry import RetryPolicy  # noqa: E402
from protocol.logs import configure_logging  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def start_server(port: int, state: Path, log: Path) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", "client.cli", "serve", "--port", str(port), "--state",
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


class Client:
    def __init__(self, url: str, n: int) -> None:
        self.board = RemoteBoard(
            url, f"bot-{n}", policy=RetryPolicy(attempt_timeout=0.5), rng=random.Random(n)
        )
        self.back_at: float | None = None
        self.try_times: list[float] = []
        check = self.board.reconnects.check

        def noted(now: float) -> None:  # every try to connect, when it happens
            check(now)
            self.try_times.append(now)

        self.board.reconnects.check = noted  # type: ignore[method-assign]

    async def play(self, killed: asyncio.Event, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            result = await self.board.find()
            if killed.is_set() and result.ok and self.back_at is None and self.try_times:
                self.back_at = loop.time()
            await asyncio.sleep(0.1)


async def run(clients: int, down: float) -> dict[str, float]:
    configure_logging("console", level=logging.CRITICAL)
    work = Path(tempfile.mkdtemp(prefix="pacnet-restart-"))
    port, state, log = free_port(), work / "state.sqlite", work / "server.log"
    server = start_server(port, state, log)
    url = f"ws://127.0.0.1:{port}"
    fleet = [Client(url, n) for n in range(clients)]
    for client in fleet:
        assert (await client.board.join()).ok
    killed, stop = asyncio.Event(), asyncio.Event()
    players = [asyncio.create_task(c.play(killed, stop)) for c in fleet]
    await asyncio.sleep(1.0)
    loop = asyncio.get_running_loop()
    server.send_signal(signal.SIGKILL)
    server.wait()
    killed_at = loop.time()
    killed.set()
    await asyncio.sleep(down)
    # In a thread: waiting for the port here would stall every client's loop for the
    # second the server takes to start, and bunch their tries up behind it.
    server = await asyncio.to_thread(start_server, port, state, log)
    up_at = loop.time()
    for _ in range(300):  # up to 30 s for the last one to come back
        if all(c.back_at is not None for c in fleet):
            break
        await asyncio.sleep(0.1)
    stop.set()
    await asyncio.gather(*players)
    for client in fleet:
        await client.board.close()
    server.send_signal(signal.SIGTERM)
    server.wait()
    back = sorted(c.back_at - up_at for c in fleet if c.back_at is not None)
    tries = [t - killed_at for c in fleet for t in c.try_times if t >= killed_at]
    first_tries = sorted(
        min(t for t in c.try_times if t >= killed_at) - killed_at
        for c in fleet
        if any(t >= killed_at for t in c.try_times)
    )
    windows = [i / 100 for i in range(int(down * 100) + 1000)]
    per_10ms = max((sum(1 for t in tries if w <= t < w + 0.01) for w in windows), default=0)
    return {
        "clients": clients,
        "resumed": len(back),
        "all back after restart s": back[-1] if len(back) == clients else float("nan"),
        "back p50 s": statistics.median(back) if back else float("nan"),
        "reconnect tries while down": sum(1 for t in tries if t < down),
        "most tries in any 10 ms": per_10ms,
        "first try spread s": (first_tries[-1] - first_tries[0]) if first_tries else float("nan"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--down", type=float, default=2.0, help="seconds the server stays down")
    args = parser.parse_args()
    figures = asyncio.run(run(args.clients, args.down))
    print(f"- {time.strftime('%Y-%m-%d')}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(f"- {args.clients} clients calling find every 100 ms; server down {args.down:g} s")
    print()
    print("| figure | value |")
    print("|---|---:|")
    for name, value in figures.items():
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        print(f"| {name} | {shown} |")
    print(json.dumps(figures), file=sys.stderr)
    return 0 if figures["resumed"] == args.clients else 1


if __name__ == "__main__":
    raise SystemExit(main())
