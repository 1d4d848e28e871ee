"""HAProxy follows the room directory: one answer to "where does this room live?".

The board servers write the directory in Redis (``pacnet:rooms``: room -> server) when they
claim a room (``pacnet.cluster.lease``); the follower reads it every ``FOLLOW_EVERY`` and
tells a running HAProxy through its runtime API (``add map``, ``set map``, ``del map``), so
every connection for a room goes to the server that holds it. The map file is rewritten too,
so a restarted HAProxy starts from the same answer.

The moment they can disagree: the directory changed and the follower has not yet told HAProxy
(up to ``FOLLOW_EVERY``, longer while Redis or HAProxy does not answer). A connection in that
moment goes to the room's previous server, which cannot claim it (another holds its lease) and
refuses the handshake with 503; the client tries again and, a moment later, lands where the
room is. The lease, not the map, decides who may change a room: the map only saves trips.
"""

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import structlog

from pacnet.cluster.config import LOBBY_BACKENDS
from pacnet.cluster.lease import Leases

log = structlog.get_logger("pacnet.cluster")

FOLLOW_EVERY = 0.1
"""Seconds between reads of the directory: the longest a map change waits, beside the
seconds a failover takes anyway (HAProxy's checks, the lease running out)."""

NOT_SERVERS = frozenset({"boards", "stats", "pacnet", *LOBBY_BACKENDS})
"""The backends and frontends of the configuration that are not a server's own."""


class MapFollower:
    """Keeps HAProxy's room map (``map_path``) in step with the room directory.

    Args:
        leases: reads the directory.
        runtime: sends one command to HAProxy's runtime API and returns its answer.
        map_path: the map file, as the configuration names it.
        write_file: rewrite the file too, for a HAProxy that starts again.
    """

    def __init__(
        self,
        leases: Leases,
        runtime: Callable[[str], str],
        map_path: Path,
        *,
        write_file: bool = True,
    ) -> None:
        self.leases = leases
        self.runtime = runtime
        self.map_path = map_path
        self.write_file = write_file
        """Rewrite the map file too (only where it is this process's to write: not in
        HAProxy's own container)."""
        self.routes: dict[str, str] = {}
        """room -> server, as HAProxy had it at the last look."""

    async def step(self) -> bool:
        """Read the directory once and tell HAProxy what changed; False if the directory
        could not be read (the map stays as it was: HAProxy routes by the last answer)."""
        read = await self.leases.directory()
        if not read.ok or read.value is None:
            return False
        # HAProxy's own map, each time: whoever changed it last (an operator, a restart),
        # the directory is the answer it must give.
        self.routes = await asyncio.to_thread(self._haproxy_routes)
        servers = await asyncio.to_thread(self._servers)
        wanted = {room: server for room, server in read.value.items() if server in servers}
        changes: list[tuple[str, str | None]] = [(r, None) for r in self.routes if r not in wanted]
        changes += [(room, s) for room, s in wanted.items() if self.routes.get(room) != s]
        for room, server in changes:
            await asyncio.to_thread(self._route, room, server)
        if changes and self.write_file:
            self._write_file()
        return True

    async def run(self) -> None:
        """Follow until cancelled."""
        while True:
            try:
                await self.step()
            except OSError as exc:  # HAProxy's socket: it restarts, or it is gone
                log.warning("haproxy_unreachable", reason=str(exc))
            await asyncio.sleep(FOLLOW_EVERY)

    def _route(self, room: str, server: str | None) -> None:
        assert self.routes is not None
        was = self.routes.get(room)
        if server is None:
            command = f"del map {self.map_path} {room}"
        else:
            verb = "set" if room in self.routes else "add"
            command = f"{verb} map {self.map_path} {room} {server}"
        answer = self.runtime(command).strip()
        if answer:
            log.warning("room_not_routed", room=room, server=server, answer=answer)
            return
        if server is None:
            del self.routes[room]
        else:
            self.routes[room] = server
        log.info("room_routed", room=room, server=server, was=was)

    def _haproxy_routes(self) -> dict[str, str]:
        """The map as HAProxy has it (``show map``: ``ID KEY VALUE`` lines)."""
        routes = {}
        for line in self.runtime(f"show map {self.map_path}").splitlines():
            parts = line.split()
            if len(parts) == 3:
                routes[parts[1]] = parts[2]
        return routes

    def _servers(self) -> set[str]:
        """The servers' own backends, as HAProxy has them (``show backend``)."""
        lines = self.runtime("show backend").splitlines()
        return {line.strip() for line in lines if line and not line.startswith("#")} - NOT_SERVERS

    def _write_file(self) -> None:
        """The map on disk, replaced whole, for a HAProxy that starts again."""
        assert self.routes is not None
        text = "".join(f"{room} {server}\n" for room, server in sorted(self.routes.items()))
        temporary = self.map_path.with_suffix(".map.new")
        temporary.write_text(text)
        os.replace(temporary, self.map_path)
