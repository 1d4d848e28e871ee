"""The network's fault domain: a WebSocket relay between clients and a board server that
loses, delays, damages, duplicates and cuts messages on purpose (``pacnet proxy``).

A thin relay (``Proxy``: sockets, tasks, sleeps) behind which a pure fault policy
(``pacnet.proxy.policy``) decides what becomes of each message and each new connection, and
a pure ledger (``pacnet.proxy.traffic``) keeps count. Each client connection gets its own
upstream connection, to the same path, and two pumps (``pacnet.proxy.link``): requests
(client to server) and replies (server to client). ``/admin`` and ``/faults`` on the proxy's
port are the proxy's own (``pacnet.faults.admin``), never relayed; its ``/faults`` feed adds
the upstream server's faults (followed with ``FaultWatch``), and its ``/traffic`` feed tells
when each user's requests last arrived and went on. The server's read-only feeds
(``/keepalive``, ``/truth``) are relayed untouched by faults.

Realism caveats. WebSocket pings are answered by each hop, so a blackholed client still
hears pongs (a real black hole would end in a ping timeout). A delay may let later messages
overtake the delayed one, which TCP never does within one connection: it models a message
held anywhere on the path, not a slow link. Closing a connection cancels the messages
still held on it. If the upstream server cannot be reached, a new connection is refused at
its handshake (HTTP 502): the client sees POST_FAILED, as it would connecting directly.
"""

import asyncio
import itertools
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import structlog
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.connection import Connection
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import InvalidHandshake
from websockets.http11 import Request, Response

from pacnet.cmdline.lifecycle import running, started_fields
from pacnet.faults.admin import AdminEndpoint
from pacnet.faults.engine import FaultSet, Message
from pacnet.faults.feed import FaultWatch
from pacnet.faults.spec import Direction, Domain, Fault, FaultKind, FaultStatus
from pacnet.feeds.addresses import peer, url_of
from pacnet.feeds.doors import Doors, default_max_connections, default_per_peer
from pacnet.feeds.metrics import METRICS_PATH, metrics_response, registry_of
from pacnet.feeds.serve import serve_feed
from pacnet.protocol.feeds import (
    BOARD_PATH,
    KEEPALIVE_PATH,
    ROOM_PATH,
    TRAFFIC_PATH,
    TRUTH_PATH,
)
from pacnet.protocol.rooms import LOBBY_PATH, RoomNameError, split_room
from pacnet.proxy.config import ProxyConfig
from pacnet.proxy.link import Link
from pacnet.proxy.metrics import ProxyCollector
from pacnet.proxy.policy import NetworkFaults, Plan, Seen
from pacnet.proxy.traffic import ProxyStatistics, Traffic
from pacnet.web.site import Site, is_page_request, respond

SIDE_CHANNELS = frozenset({KEEPALIVE_PATH, TRUTH_PATH, ROOM_PATH, BOARD_PATH})
"""The server's read-only feeds (of any room), relayed without faults: a workshop's window reads the
server's truth and keepalive table through the proxy, and a fault meant for the game must
not make the truth about it disappear. (As if the facilitator ran a second, clean wire.)"""

log = structlog.get_logger("pacnet.proxy")


class Proxy:
    """A relay that injects the network's faults.

    Args:
        config: where to listen, where to relay to, the seed and the admin token.
        clock: monotonic seconds for the faults (``durationS``); tests pass their own.
    """

    def __init__(self, config: ProxyConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.seed = config.seed if config.seed is not None else secrets.randbits(32)
        self.faults = FaultSet(Domain.NETWORK, self.seed)
        """The network's faults, switched on through ``/admin``."""
        self.network = NetworkFaults(self.faults)
        self.traffic = Traffic()
        """What the proxy sees of each user's requests (the ``/traffic`` feed)."""
        self.site = Site()
        self.admin = AdminEndpoint(
            self.faults,
            config.admin_token,
            extra_faults=self.upstream_faults,
            upstream_exercise=lambda: self._upstream.exercise,
            clock=clock,
        )
        self.url: str | None = None
        self._clock = clock
        self._server: Server | None = None
        self._stop = asyncio.Event()
        self._numbers = itertools.count(1)
        self._handshakes: dict[ServerConnection, tuple[int, ClientConnection]] = {}
        self._upstream = FaultWatch(config.upstream)
        self._stats = ProxyStatistics()
        total = config.max_connections or default_max_connections()
        self.doors = Doors(total, config.max_connections_per_peer or default_per_peer(total))
        """Every connection open, and the limits on them (as the server's)."""
        self.metrics = registry_of(ProxyCollector(self.statistics, lambda: self.faults.fired))
        """What ``GET /metrics`` says (``pacnet.proxy.metrics``)."""

    async def start(self) -> str:
        """Listen on the configured address; returns the proxy's ``ws://`` URL.

        Raises:
            OSError: the address cannot be listened on.
        """
        config = self.config
        self._server = await serve(
            self._serve_connection,
            config.host,
            config.port,
            compression=None,  # as the server: frames are a few hundred bytes
            max_size=config.max_message_bytes,
            process_request=self._process_request,
        )
        self.url = url_of(self._server, config.host)
        log.info(
            "proxy_started", url=self.url, upstream=config.upstream, seed=self.seed,
            **started_fields(self.admin),
        )  # fmt: skip
        return self.url

    async def serve_until_stopped(self) -> None:
        """Relay until ``stop()``; then close every client connection with 1001 (going away),
        which each relays to its upstream."""
        assert self._server is not None, "start() first"
        async with asyncio.TaskGroup() as tasks:
            watcher = tasks.create_task(self._upstream.run())
            await self._stop.wait()
            watcher.cancel()
        self._server.close(close_connections=True)
        await self._server.wait_closed()
        log.info("proxy_stopped", **asdict(self._stats))

    def stop(self) -> None:
        """Ask ``serve_until_stopped()`` to close every connection and return."""
        self._stop.set()

    def statistics(self) -> ProxyStatistics:
        """A snapshot of the traffic so far."""
        return self._stats

    def _count(self, **more: int) -> None:
        self._stats = self._stats.counted(**more)

    def upstream_faults(self) -> list[FaultStatus]:
        """The upstream server's faults, as its ``/faults`` feed last said (empty while it
        cannot be reached)."""
        return self._upstream.faults

    # --- handshakes ---

    async def _process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        """Refuse ``/admin`` without the token, a connection a refuse fault hits, and one
        whose upstream cannot be reached; else open its upstream connection."""
        if is_page_request(request.headers.get("Upgrade")):
            route = urlsplit(request.path).path
            if route == METRICS_PATH:
                return metrics_response(connection, self.metrics)
            if route == LOBBY_PATH:  # the server's, relayed untouched, as its feeds are
                return await self._upstream_lobby(connection)
            return respond(self.site.page(request.path))  # the proxy's own pages
        if (turned := self.doors.turn_away(connection, self._clock())) is not None:
            self._count(refused=1)
            return turned
        refused = self.admin.process_request(connection, request)
        if refused is not None or self.admin.owns(request.path):
            return refused
        if urlsplit(request.path).path == TRAFFIC_PATH:
            return None  # the proxy's own feed: nothing to open upstream
        try:
            _, within = split_room(urlsplit(request.path).path)
        except RoomNameError as exc:
            return connection.respond(HTTPStatus.NOT_FOUND, f"{exc}\n")
        number = next(self._numbers)
        side_channel = within in SIDE_CHANNELS
        fault = None if side_channel else self.network.refusal(number, self._clock())
        if fault is not None:
            self._count(refused=1)
            self._log_fault(fault, number, None, Seen())
            return connection.respond(
                HTTPStatus.SERVICE_UNAVAILABLE, f"connection refused (fault {fault.id})\n"
            )
        try:
            upstream = await self._connect_upstream(request.path)
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            self._count(refused=1)
            reason = str(exc) or type(exc).__name__
            log.warning("upstream_unreachable", connection=number, reason=reason)
            return connection.respond(
                HTTPStatus.BAD_GATEWAY, f"the upstream server cannot be reached: {reason}\n"
            )
        self._handshakes[connection] = (number, upstream)
        # If the handshake fails from here on, no handler runs: drop the upstream then.
        connection.connection_lost_waiter.add_done_callback(
            lambda _: self._abandon_handshake(connection)
        )
        return None

    async def _upstream_lobby(self, connection: ServerConnection) -> Response:
        """The upstream server's ``GET /lobby``, as it answered (502 if it cannot be reached)."""
        parts = urlsplit(self.config.upstream)
        scheme = "https" if parts.scheme == "wss" else "http"
        address = f"{scheme}://{parts.netloc}{LOBBY_PATH}"

        def fetch() -> tuple[int, bytes]:
            try:
                with urllib.request.urlopen(address, timeout=self.config.connect_timeout) as got:
                    return got.status, got.read()
            except urllib.error.HTTPError as refused:
                return refused.code, refused.read()

        try:
            status, body = await asyncio.to_thread(fetch)
        except (OSError, ValueError) as exc:
            return connection.respond(
                HTTPStatus.BAD_GATEWAY, f"the upstream server cannot be reached: {exc}\n"
            )
        response = connection.respond(HTTPStatus(status), "")
        response.body = body
        del response.headers["Content-Type"], response.headers["Content-Length"]
        response.headers["Content-Type"] = "application/json"
        response.headers["Content-Length"] = str(len(body))
        return response

    async def _connect_upstream(self, path: str) -> ClientConnection:
        parts = urlsplit(self.config.upstream)
        return await connect(
            f"{parts.scheme}://{parts.netloc}{path}",
            compression=None,
            max_size=self.config.max_message_bytes,
            open_timeout=self.config.connect_timeout,
            proxy=None,  # never an HTTP proxy from the environment: this is the proxy
        )

    def _abandon_handshake(self, connection: ServerConnection) -> None:
        pending = self._handshakes.pop(connection, None)
        if pending is not None:
            pending[1].transport.abort()

    # --- connections ---

    async def _serve_connection(self, websocket: ServerConnection) -> None:
        async with self.doors.holding(websocket):
            await self._serve_route(websocket)

    async def _serve_route(self, websocket: ServerConnection) -> None:
        path = websocket.request.path if websocket.request is not None else "/"
        if self.admin.owns(path):
            await self.admin.serve(websocket)
            return
        if urlsplit(path).path == TRAFFIC_PATH:
            await serve_feed(websocket, self._traffic_snapshot)
            return
        pending = self._handshakes.pop(websocket, None)
        if pending is None:  # lost between its handshake and now: its upstream is gone too
            return
        number, upstream = pending
        room, within = split_room(urlsplit(path).path)
        link = Link(number, websocket, upstream, side_channel=within in SIDE_CHANNELS, room=room)
        where = peer(websocket)
        log.info("connection_opened", connection=number, peer=where, path=path)
        self._count(accepted=1, connections=1)
        try:
            await link.relay(self._forward)
        finally:
            self._count(connections=-1)
            upstream.transport.abort()  # a no-op once closed; a bug must not leak it
            log.info("connection_closed", connection=number, peer=where, code=websocket.close_code)

    async def _forward(
        self, link: Link, direction: Direction, frame: str | bytes, sink: Connection
    ) -> None:
        """Decide what becomes of ``frame`` (``NetworkFaults.plan``), note it, and carry it
        out on ``link``: at once, or held for its delay."""
        self._count(**{"requests" if direction is Direction.REQUEST else "replies": 1})
        seen = link.memory.look(frame, direction)
        message = Message(seen.action, seen.user, link.number, direction, link.room)
        now = self._clock()
        plan = self.network.plan(frame, message, now)
        for fault in plan.faults:
            self._log_fault(fault, link.number, direction, seen, plan)
        user = seen.user if direction is Direction.REQUEST else None
        if user is not None:
            self.traffic.arrived(user, plan, now)
        if self.config.trace:
            log.info(
                "message_relayed", domain="network", **seen.log_context(),
                direction=direction.value,
                connection=link.number, copies=len(plan.frames), reset=plan.reset,
                delayMs=round(plan.delay * 1000),
            )  # fmt: skip
        if plan.delay <= 0:
            await link.carry_out(plan, sink)
            return
        held = link.hold(plan, sink)
        if held is None:
            log.warning("message_lost", reason="too many held", connection=link.number)
        elif user is not None:
            self.traffic.hold(user, +1)
            held.add_done_callback(lambda done: self._released(user, plan, done))

    def _traffic_snapshot(self) -> str:
        return self.traffic.view(self._clock()).model_dump_json()

    def _released(self, user: str, plan: Plan, task: "asyncio.Task[None]") -> None:
        self.traffic.released(user, plan, self._clock(), cancelled=task.cancelled())

    def _log_fault(
        self,
        fault: Fault,
        connection: int,
        direction: Direction | None,
        seen: Seen,
        plan: Plan | None = None,
    ) -> None:
        self._count(faults_injected=1)
        details: dict[str, Any] = {}
        if fault.kind is FaultKind.DELAY and plan is not None:
            details["delayMs"] = round(plan.delay * 1000)
        if fault.kind is FaultKind.CORRUPT:
            details["corruption"] = fault.corruption.value
        log.info(
            "fault_injected", domain="network", fault=fault.id, kind=fault.kind.value,
            step=fault.step.name, direction=direction.value if direction else None,
            connection=connection, **seen.log_context(), **details,
        )  # fmt: skip


@asynccontextmanager
async def running_proxy(
    config: ProxyConfig, *, clock: Callable[[], float] = time.monotonic
) -> AsyncIterator[Proxy]:
    """Run a proxy for the duration of the ``async with`` block; ``proxy.url`` says where.

    Raises:
        OSError: the address cannot be listened on.
    """
    async with running(Proxy(config, clock=clock)) as proxy:
        yield proxy
