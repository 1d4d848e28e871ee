"""What ``pacnet status`` shows: the server's keepalive table beside the proxy's view of each
user, and what is most likely happening to them, live or once.
"""

import argparse
import asyncio
import contextlib
from dataclasses import dataclass

from rich.console import Console
from rich.live import Live
from rich.table import Table

from pacnet.feeds.reader import FeedWatch, keepalive_watch
from pacnet.protocol.feeds import (
    TRAFFIC_PATH,
    KeepaliveEntry,
    KeepaliveView,
    TrafficEntry,
    TrafficView,
)

FIRST_LOOK = 3.0
"""Seconds ``--once`` waits for the feeds' first snapshots."""
REFRESH = 0.5
"""Seconds between redraws of the live table."""


def really(
    entry: KeepaliveEntry, traffic: TrafficEntry | None, proxy: bool, suspect_after: float
) -> str:
    """What is most likely happening to a user, from the server's silence and the proxy's
    view of their requests (``proxy``: whether the proxy's view is known at all)."""
    if not entry.suspected:
        return "alive: the server hears from them"
    if not proxy:
        return "unknown: the server sees only silence (no proxy to ask)"
    if traffic is None or traffic.heard_s >= suspect_after:
        return "silent at the proxy too: paused, gone, or cut off before the proxy"
    if traffic.held:
        return "alive and slow: its requests are held on the way"
    if traffic.passed_s is None or traffic.passed_s >= suspect_after:
        return "alive, cut off: the network loses its requests"
    return "alive: its requests pass the proxy, yet the server does not hear them"


@dataclass(frozen=True)
class Row:
    user_id: str
    entry: KeepaliveEntry
    traffic: TrafficEntry | None
    really: str


def rows(keepalive: KeepaliveView, traffic: TrafficView | None) -> list[Row]:
    """One row per user of the server's table, most silent first, with the proxy's view."""
    seen = {t.user_id: t for t in traffic.users} if traffic is not None else {}
    known = traffic is not None
    out = []
    for e in keepalive.shown:
        t = seen.get(e.user_id)
        out.append(Row(e.user_id, e, t, really(e, t, known, keepalive.suspect_after_s)))
    return out


def table(keepalive: KeepaliveView | None, traffic: TrafficView | None) -> Table:
    """The rich table for a terminal."""
    if keepalive is None:
        title = "the server's keepalive table is out of reach"
    else:
        title = (
            f"{keepalive.users} users on the server, {keepalive.suspected} suspected "
            f"(silent {keepalive.suspect_after_s:g} s); it gives up after "
            f"{keepalive.timeout_s:g} s"
        )
    out = Table(title=title, title_justify="left")
    for column in ("user", "server: silent", "gives up in", "network: heard", "passed on"):
        out.add_column(column, justify="left" if column == "user" else "right")
    out.add_column("held", justify="right")
    out.add_column("what is really happening")
    if keepalive is None:
        return out
    for row in rows(keepalive, traffic):
        t = row.traffic
        heard = "-" if t is None else f"{t.heard_s:.1f} s"
        passed = "-" if t is None or t.passed_s is None else f"{t.passed_s:.1f} s"
        style = "bold red" if row.entry.suspected else ""
        out.add_row(
            row.user_id, f"{row.entry.silent_s:.1f} s", f"{row.entry.expires_in_s:.1f} s",
            heard, passed, "-" if t is None else str(t.held), row.really, style=style,
        )  # fmt: skip
    return out


async def run_status(args: argparse.Namespace, console: Console) -> int:
    """Show the table live (or once). Returns 1 if the server's table cannot be read."""
    keepalive = keepalive_watch(args.server)
    traffic: FeedWatch[TrafficView] = FeedWatch(args.proxy, TRAFFIC_PATH, TrafficView)
    async with asyncio.TaskGroup() as tasks:
        watchers = [tasks.create_task(watch.run()) for watch in (keepalive, traffic)]
        try:
            return await _show(args, console, keepalive, traffic)
        except ConnectionError as exc:
            problem = exc  # raised once the watchers are done, not wrapped in a group
        finally:
            for watcher in watchers:
                watcher.cancel()
    raise problem


async def _show(
    args: argparse.Namespace,
    console: Console,
    keepalive: FeedWatch[KeepaliveView],
    traffic: FeedWatch[TrafficView],
) -> int:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(FIRST_LOOK):
            while keepalive.latest is None or traffic.latest is None:
                await _either_changes(keepalive, traffic)
    if keepalive.latest is None:
        raise ConnectionError(f"cannot read the keepalive table of {args.server}")
    if args.once:
        console.print(table(keepalive.latest, traffic.latest))
        return 0
    with Live(table(keepalive.latest, traffic.latest), console=console) as live:
        while True:
            await asyncio.sleep(REFRESH)
            live.update(table(keepalive.latest, traffic.latest))


async def _either_changes(*watches: FeedWatch[KeepaliveView] | FeedWatch[TrafficView]) -> None:
    """Until one of ``watches`` has news (then clears every one's flag)."""
    async with asyncio.TaskGroup() as tasks:
        waits = [tasks.create_task(watch.changed.wait()) for watch in watches]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
    for watch in watches:
        watch.changed.clear()
