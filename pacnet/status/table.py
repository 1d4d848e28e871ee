"""What ``pacnet status`` shows: the rooms the server holds, then one room's keepalive table
beside the proxy's view of each user, and what is most likely happening to them, live or once.
"""

import argparse
import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from pacnet.cmdline.args import in_room
from pacnet.feeds.reader import FeedWatch, LobbyWatch, keepalive_watch
from pacnet.protocol.feeds import (
    TRAFFIC_PATH,
    KeepaliveEntry,
    KeepaliveView,
    TrafficEntry,
    TrafficView,
)
from pacnet.protocol.lobby import LobbyView
from pacnet.protocol.rooms import room_of

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


def lobby_table(lobby: LobbyView, shown: str) -> Table:
    """The rooms the server holds, for a terminal; ``shown``, the room whose keepalive table
    follows, in bold."""
    title = f"{len(lobby.rooms)} of at most {lobby.max_rooms} rooms open on {lobby.server}"
    out = Table(title=title, title_justify="left")
    out.add_column("room")
    for column in ("players", "connected", "level"):
        out.add_column(column, justify="right")
    for room in lobby.rooms:
        out.add_row(
            room.name + (" (below)" if room.name == shown else ""), str(room.players),
            str(room.connected), str(room.level), style="bold" if room.name == shown else "",
        )  # fmt: skip
    return out


def table(keepalive: KeepaliveView | None, traffic: TrafficView | None, room: str) -> Table:
    """The rich table of ``room``'s keepalive view, for a terminal."""
    if keepalive is None:
        title = f"room {room}'s keepalive table is out of reach"
    else:
        title = (
            f"{keepalive.users} users in room {room}, {keepalive.suspected} suspected "
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


@dataclass(frozen=True)
class Watches:
    """What ``pacnet status`` follows: the server's rooms, one room's keepalive table, and the
    proxy's view of the users it carries."""

    room: str
    lobby: LobbyWatch
    keepalive: FeedWatch[KeepaliveView]
    traffic: FeedWatch[TrafficView]

    @classmethod
    def of(cls, args: argparse.Namespace) -> "Watches":
        url = in_room(args.server, args.room)
        traffic: FeedWatch[TrafficView] = FeedWatch(args.proxy, TRAFFIC_PATH, TrafficView)
        return cls(room_of(url), LobbyWatch(url), keepalive_watch(url), traffic)

    def all(self) -> "tuple[LobbyWatch, FeedWatch[Any], FeedWatch[Any]]":
        return self.lobby, self.keepalive, self.traffic

    def first_look(self) -> bool:
        """Whether each has had its first word (a snapshot, or the lobby's answer)."""
        return self.lobby.asked and None not in (self.keepalive.latest, self.traffic.latest)

    def render(self) -> Group:
        """The lobby (when the server has one), then the room's table."""
        lobby = self.lobby.latest
        shown = table(self.keepalive.latest, self.traffic.latest, self.room)
        return Group(lobby_table(lobby, self.room), shown) if lobby is not None else Group(shown)


async def run_status(args: argparse.Namespace, console: Console) -> int:
    """Show the tables live (or once). Returns 1 if the room's table cannot be read."""
    watches = Watches.of(args)
    async with asyncio.TaskGroup() as tasks:
        watchers = [tasks.create_task(watch.run()) for watch in watches.all()]
        try:
            return await _show(args, console, watches)
        except ConnectionError as exc:
            problem = exc  # raised once the watchers are done, not wrapped in a group
        finally:
            for watcher in watchers:
                watcher.cancel()
    raise problem


async def _show(args: argparse.Namespace, console: Console, watches: Watches) -> int:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(FIRST_LOOK):
            while not watches.first_look():
                await _either_changes(*watches.all())
    if watches.keepalive.latest is None:
        raise ConnectionError(
            f"cannot read the keepalive table of room {watches.room} at {args.server}"
        )
    if args.once:
        console.print(watches.render())
        return 0
    with Live(watches.render(), console=console) as live:
        while True:
            await asyncio.sleep(REFRESH)
            live.update(watches.render())


async def _either_changes(*watches: "LobbyWatch | FeedWatch[Any]") -> None:
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
