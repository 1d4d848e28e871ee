"""The catalog server's epidemic, measured: a group of servers, players in eight rooms, and
two crowds of seekers finding their rooms through the lobby at once, one trusting the lobby
and one validating it (step 7). One server's disk fills up (``disk_full --action lobby``).

    uv run python bench/epidemic.py [--seekers 20] [--stay 0.2] [--seconds 5] [--json FILE]

Three phases, each measured over ``--seconds``:

- **healthy**: every server answers the lobby; the balancer checks only that each is alive
  (``pacnet cluster lobby-check live``, the article's balancer);
- **full disk**: s2's lobby answers at once with no room; the balancer still checks for life
  alone. The trusting crowd has no cure; the validating crowd is the client's cure;
- **store check**: the balancer also checks that each server can read its store
  (``lobby-check store``): the balancer's cure.

For each phase and crowd: s2's share of the lobby's well-formed answers (HAProxy's leastconn
choice), how many answers were empty, how many of those the validating seekers refused, and
the harm: rooms opened because the lobby listed none (needless: eight rooms had space all
along) and joins that failed (a server at its ``--max-rooms``, 32). The group is ``pacnet
cluster up`` on the classic maze, Redis and HAProxy from the OS's packages.
"""

import argparse
import asyncio
import json
import logging
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from pacnet.client.remote import RemoteBoard
from pacnet.cluster.components import free_port, servers
from pacnet.cluster.seek import SeekCounts, SeekPlan, seek
from pacnet.cluster.stack import Stack
from pacnet.cmdline.logs import configure_logging
from pacnet.faults.admin import AdminClient
from pacnet.protocol.rooms import room_url

ROOMS = 8
BROKEN = "s2"
PHASES = ("healthy", "full disk", "store check")
CROWDS = ("trusting", "validating")


@dataclass(frozen=True)
class Row:
    """One crowd over one phase."""

    phase: str
    crowd: str
    asks: int
    broken_share: float
    """The broken server's share of the well-formed lobby answers."""
    empty: int
    refused: int
    joined: int
    opened: int
    """Rooms opened because the lobby listed none."""
    failed: int
    """Joins that failed."""
    unread: int = 0
    """Asks that read no lobby (a 503 when no server may answer it, no answer in time)."""
    why: tuple[tuple[str, int], ...] = ()
    """Why asks read no lobby and joins failed, most often first."""


@contextmanager
def group(directory: Path) -> Iterator[Stack]:
    """``pacnet cluster up`` in ``directory`` on free ports (the article's balancer), and
    ``down`` at the end."""
    up = subprocess.run(
        [sys.executable, "-m", "pacnet", "cluster", "up", "--dir", str(directory), "--port",
         str(free_port()), "--stats-port", str(free_port()), "--calm", "--lobby-check", "live"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    if up.returncode != 0:
        raise SystemExit(f"pacnet cluster up failed: {up.stderr.strip()}")
    try:
        yield Stack.load(directory)
    finally:
        subprocess.run(
            [sys.executable, "-m", "pacnet", "cluster", "down", "--dir", str(directory)],
            capture_output=True, timeout=60,
        )  # fmt: skip


async def until(check: Callable[[], bool], seconds: float) -> None:
    """Wait until ``check()`` is true.

    Raises:
        TimeoutError: it is not, ``seconds`` later.
    """
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {seconds:g} s")
        await asyncio.sleep(0.1)


async def epidemic(
    stack: Stack,
    *,
    seekers: int = 20,
    stay: float = 0.2,
    seconds: float = 5.0,
    switch_check: Callable[[str], Awaitable[None]] | None = None,
) -> list[Row]:
    """The three phases on ``stack`` (its lobby checked for life alone at the start): a
    row for each phase and crowd. ``switch_check`` switches the balancer's lobby check
    (default: ``Stack.set_lobby_check``)."""

    async def set_check(check: str) -> None:
        await asyncio.to_thread(stack.set_lobby_check, check)

    switch = switch_check or set_check
    players = [RemoteBoard(room_url(stack.url, f"hall-{n}"), f"player-{n}") for n in range(ROOMS)]
    crowds = {name: SeekCounts() for name in CROWDS}
    stop = asyncio.Event()
    rows: list[Row] = []

    async def measure(phase: str) -> None:
        before = {name: counts.copy() for name, counts in crowds.items()}
        await asyncio.sleep(seconds)
        for name, counts in crowds.items():
            rows.append(_row(phase, name, counts.since(before[name])))

    try:
        for player in players:
            if not (await player.join()).ok:
                raise RuntimeError("a player could not join its room")
        await asyncio.sleep(1.0)  # a round of renewals and saves: the lobby lists the rooms
        async with asyncio.TaskGroup() as tasks:
            for name in CROWDS:
                plan = SeekPlan(stack.url, seekers, stay, trust=name == "trusting", tag=name)
                tasks.create_task(seek(plan, crowds[name], stop))
            await asyncio.sleep(1.0)  # every seeker has seen the rooms
            await measure(PHASES[0])
            member = next(m for m in stack.members if m.name == BROKEN)
            async with AdminClient(f"ws://127.0.0.1:{member.port}", stack.admin_token) as admin:
                if not (await admin.add({"kind": "disk_full", "action": "lobby"})).ok:
                    raise RuntimeError("the fault was refused")
            await measure(PHASES[1])
            await switch("store")
            await until(lambda: _down_in(stack, "lobby_store", BROKEN), 10.0)
            await asyncio.sleep(0.5)  # the empty answers already on their way land
            await measure(PHASES[2])
            stop.set()
    finally:
        stop.set()
        for player in players:
            await player.close()
    return rows


def _down_in(stack: Stack, backend: str, server: str) -> bool:
    return servers(stack.haproxy_socket)[(backend, server)]["status"].startswith("DOWN")


def _row(phase: str, crowd: str, counts: SeekCounts) -> Row:
    return Row(
        phase=phase, crowd=crowd, asks=counts.asks, broken_share=counts.share(BROKEN),
        empty=sum(counts.empty_by.values()), refused=counts.refused, joined=counts.joined,
        opened=counts.opened, failed=counts.failed,
        unread=counts.asks - sum(counts.answered_by.values()),
        why=tuple(counts.why.most_common(3)),
    )  # fmt: skip


def table(rows: list[Row]) -> str:
    """The rows as the Markdown table docs/cluster.md shows."""
    lines = [
        f"| phase | seekers | lobby asks | {BROKEN}'s share | empty answers | refused "
        "| joins | rooms opened | failed joins |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row.phase} | {row.crowd} | {row.asks} | {row.broken_share:.0%} | {row.empty} "
            f"| {row.refused} | {row.joined} | {row.opened} | {row.failed} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seekers", type=int, default=20, help="seekers in each crowd (20)")
    parser.add_argument("--stay", type=float, default=0.2, help="seconds in a room (0.2)")
    parser.add_argument("--seconds", type=float, default=5.0, help="each phase's length (5)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the rows here")
    args = parser.parse_args()
    configure_logging("console", level=logging.CRITICAL)  # the table alone
    # Stopped (timeout, kill), the run still takes its group down on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with (
        tempfile.TemporaryDirectory(prefix="pacnet-epidemic-") as work,
        group(Path(work) / "cluster") as stack,
    ):
        rows = asyncio.run(
            epidemic(stack, seekers=args.seekers, stay=args.stay, seconds=args.seconds)
        )
    print(table(rows))
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(row) for row in rows], indent=1) + "\n")


if __name__ == "__main__":
    main()
