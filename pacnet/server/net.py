"""The I/O shell: adapts the game and its request pipeline to asyncio websockets.

This module owns the sockets, the tick loop and the wall clock; every rule lives in the
pure core (``board``, ``game``, ``pipeline``).
"""

import asyncio
import gc
import itertools
import os
import random
import secrets
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from http import HTTPStatus
from math import inf
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import structlog
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import DATA_OPCODES
from websockets.http11 import Request, Response

from pacnet.cmdline.defaults import CRASH_EXIT_STATUS
from pacnet.cmdline.lifecycle import started_fields
from pacnet.cmdline.logs import LineQuota
from pacnet.faults.admin import AdminEndpoint
from pacnet.faults.engine import FaultSet, Message
from pacnet.faults.spec import Domain, FaultKind
from pacnet.feeds.addresses import peer, url_of
from pacnet.feeds.doors import Doors, default_max_connections, default_per_peer
from pacnet.feeds.metrics import METRICS_PATH, metrics_response, registry_of
from pacnet.feeds.serve import Snapshot, serve_feed
from pacnet.protocol.actions import ACTIONS
from pacnet.protocol.feeds import BOARD_PATH, HEALTH_PATH, KEEPALIVE_PATH, ROOM_PATH, TRUTH_PATH
from pacnet.protocol.lobby import LobbyRoom, LobbyView
from pacnet.protocol.rooms import DEFAULT_ROOM, LOBBY_PATH, RoomNameError, split_room
from pacnet.server.admission import Admission
from pacnet.server.board import Board
from pacnet.server.config import ServerConfig
from pacnet.server.entities import entity
from pacnet.server.faults import ServerFaults
from pacnet.server.game import Game
from pacnet.server.health import Health, Verdict
from pacnet.server.keeper import Keeper, RoomUnavailable
from pacnet.server.layout import Layout, load_layout
from pacnet.server.metrics import (
    RequestFigures,
    RoomFigures,
    ServerCollector,
    ServerCounts,
    Sources,
)
from pacnet.server.pieces import KINDS
from pacnet.server.pipeline import ConnectionState, Crash, Exchange, Pipeline, StageHook
from pacnet.server.rooms import Room, Rooms, RoomsFull
from pacnet.server.store import Saved, StateError, StateStore
from pacnet.server.trace import Truth, log_trace, trace_stages
from pacnet.web.site import Site, is_page_request, respond

log = structlog.get_logger("pacnet.server")

YIELD_EVERY = 8
"""Frames one connection's loop handles before it lets the event loop run others: frames
already received are read without a pause, so one client sending thousands at once would
otherwise hold the loop, and the tick, until it had been answered (a 20,000-frame flood held
the tick back half a second at a time)."""

FAILURE_LINES = (200.0, 1000)
"""Lines a second, and in a burst, for refused and crashed requests (``request_failed``,
``request_crashed``); past them the refusals are only counted, and one
``request_failures_unlogged`` line a second says how many, by error code. A workshop's fault
(one call in five refused for a room of thirty) stays about within it; a peer flooding bad
frames does not turn the log into a weapon (about 50 KB a second at most, where 20,000
refusals wrote 5 MiB). Tracing (``--trace``) logs every request regardless: it was asked for."""

YOUNG_PER_CONNECTION = 4
"""Allocations between young garbage collections, per open connection, once there are
thousands. Each young collection promotes the objects requests hold at that moment, and
CPython collects everything once promotions reach a quarter of the long-lived objects: with
5,000 connections (~500,000 objects, nearly all websockets' and asyncio's) that stopped the
server for about half a second every 9 s at Python's 700. At 4 per connection, none came in
a 40 s hold (docs/performance.md)."""


class TimedConnection(ServerConnection):
    """A server connection that notes when each message arrives, so the server knows how long
    each waited before it was read (``pacnet.server.admission``). The time is the moment the
    message's last frame was parsed, when websockets queues it; what waited in the kernel's
    buffer before that is not seen, a loop iteration at most while the server reads at all."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.arrivals: deque[float] = deque()

    def process_event(self, event: Any) -> None:
        if self.request is not None and event.fin and event.opcode in DATA_OPCODES:
            self.arrivals.append(time.monotonic())
        super().process_event(event)


def young_threshold(connections: int, floor: int) -> int:
    """Allocations between young collections for ``connections`` open connections: ``floor``
    (Python's own) for a few hundred, more as they grow, in steps of a thousand."""
    return max(floor, YOUNG_PER_CONNECTION * connections // 1000 * 1000)


class BoardServer:
    """A board server: its rooms' games, served over WebSocket, ticking at a fixed rate.

    Args:
        config: where to listen, which maze, which limits.
        hooks: called before every stage of every request (fault injection, tracing).

    Raises:
        LayoutError: the configured layout cannot be loaded (from the constructor).
    """

    def __init__(
        self,
        config: ServerConfig,
        *,
        hooks: Sequence[StageHook] = (),
        keeper: Keeper | None = None,
    ) -> None:
        self.config = config
        self.url: str | None = None
        self.seed = config.seed if config.seed is not None else secrets.randbits(32)
        self.layout: Layout = load_layout(config.layout)
        """The maze every room's board is laid out on."""
        self.store = StateStore(config.state) if config.state is not None else None
        """Where the rooms' games are kept between runs (None: nowhere)."""
        self.site = Site()
        """The pages a browser gets on a plain GET: the page to play, its scripts."""
        self.health = Health(time.monotonic())
        """What ``/healthz`` answers: ticking, saving, not stopping."""
        self.faults = FaultSet(Domain.SERVER, self.seed)
        """The server's own faults (fault injection), switched on through ``/admin``."""
        self.admin = AdminEndpoint(self.faults, config.admin_token)
        if keeper is not None:
            keeper.attach(self.faults)  # its calls to the store break as the faults say
        tracing = [trace_stages] if config.trace else []
        # Other hooks (tracing) see each stage before a fault can cut the request short. The
        # fault hook is in the path only while a fault is on: calm costs nothing.
        self._hooks = [*tracing, *hooks]
        self.admission = Admission(
            config.limits.max_wait, config.limits.overload_wait, time.monotonic(),
            random.Random(self.seed),
        )  # fmt: skip
        """Which requests a saturated server still serves (one loop for every room)."""
        self.keeper = keeper
        """A group's store of rooms, when this server is one of a group; None: it keeps its
        rooms itself (``store``) and may always change them."""
        self.rooms = Rooms(config.limits.max_rooms, keep_default=keeper is None)
        """The rooms open (``pacnet.server.rooms``)."""
        self._opening: dict[str, asyncio.Future[Room]] = {}
        self.ticks = 0
        """Ticks since the start: every room's board ticks with them."""
        if keeper is None:  # a single server's default room is always open
            self.rooms.add(self._make_room(DEFAULT_ROOM, self._load(DEFAULT_ROOM)))
        self.faults.on_change = self._hook_faults
        self._connection_ids = itertools.count(1)
        self._server: Server | None = None
        self._stop = asyncio.Event()
        self._connections = 0
        self._failure_lines = LineQuota(*FAILURE_LINES)
        limits = config.limits
        total = limits.max_connections or default_max_connections()
        self.doors = Doors(total, limits.max_connections_per_peer or default_per_peer(total))
        """Every connection open, and the limits on them."""
        self.figures = RequestFigures()
        self.counts = ServerCounts()
        self.metrics = registry_of(
            ServerCollector(
                Sources(
                requests=self.figures, counts=self.counts,
                connections=lambda: self.doors.open, users=self.rooms.users,
                refused=lambda: self.doors.refused, cut=lambda: self.doors.cut,
                shed=lambda: self.admission.shed,
                overloaded=lambda: self.admission.overloaded(time.monotonic()),
                lag=lambda: self.admission.lag,
                faults_fired=lambda: self.faults.fired,
                rooms=lambda: [
                    RoomFigures(room.name, len(room.game.sessions), room.game.reports)
                    for room in self.rooms
                ],
                )
            )
        )  # fmt: skip
        """What ``GET /metrics`` says (``pacnet.server.metrics``)."""
        self._young_floor = gc.get_threshold()[0]

    @property
    def default_room(self) -> Room:
        """The room a bare URL plays in (a single server's is always open)."""
        room = self.rooms.get(DEFAULT_ROOM)
        assert room is not None, "the default room is not open on this server"
        return room

    @property
    def game(self) -> Game:
        """The default room's game."""
        return self.default_room.game

    @property
    def pipeline(self) -> Pipeline:
        """The default room's request path."""
        return self.default_room.pipeline

    @property
    def truth(self) -> Truth:
        """What the server did with the default room's requests (when tracing)."""
        return self.default_room.truth

    async def run(self) -> None:
        """Listen, then serve until ``stop()`` (what ``pacnet serve`` does).

        Raises:
            OSError: the address cannot be listened on.
        """
        await self.start()
        await self.serve_until_stopped()

    async def start(self) -> str:
        """Listen on the configured address; returns the server's ``ws://`` URL.

        Raises:
            OSError: the address cannot be listened on.
        """
        config = self.config
        self._server = await serve(
            self._serve_connection,
            config.host,
            config.port,
            compression=None,  # frames are a few hundred bytes: deflate costs more than it saves
            max_size=config.limits.max_message_bytes,
            ping_interval=config.ping_interval,
            open_timeout=config.limits.handshake_timeout,
            process_request=self._process_request,
            create_connection=TimedConnection,
        )
        self.url = url_of(self._server, config.host)
        log.info(
            "server_started",
            url=self.url,
            layout=self.layout.name,
            seed=self.seed,
            tickRate=config.tick_rate,
            keepaliveTimeout=config.limits.keepalive_timeout,
            rate=config.limits.rate,
            burst=config.limits.burst,
            maxConnections=self.doors.total,
            maxConnectionsPerPeer=self.doors.per_peer,
            maxWait=config.limits.max_wait,
            overloadWait=config.limits.overload_wait,
            **started_fields(self.admin),
            state=str(self.store.path) if self.store is not None else None,
        )
        if (room := self.rooms.get(DEFAULT_ROOM)) is not None and room.restored:
            self._log_restored(room)
        return self.url

    async def serve_until_stopped(self) -> None:
        """Tick and serve until ``stop()``; then close every connection with 1001 (going away)."""
        assert self._server is not None, "start() first"
        async with asyncio.TaskGroup() as tasks:
            loops = [tasks.create_task(self._tick_loop())]
            if self.keeper is not None:
                loops.append(tasks.create_task(self._keeper_loop(self.keeper)))
            await self._stop.wait()
            for loop in loops:
                loop.cancel()
        self._server.close(close_connections=True)
        await self._server.wait_closed()
        self._fit_gc(0)
        if self.keeper is None:
            self._save()  # a graceful stop loses nothing
        else:
            await self._save_kept(self.keeper, list(self.rooms))
            for room in self.rooms:
                await self.keeper.release(room.name)
            await self.keeper.close()
        log.info("server_stopped", **self.statistics())

    def stop(self) -> None:
        """Ask ``run()`` to close every connection and return."""
        self.health.stopping()
        self._stop.set()

    async def _process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        """Answer ``GET /healthz`` and the pages (``pacnet.web``) over plain HTTP; refuse
        ``/admin`` without the token; let every other request open a WebSocket."""
        route = urlsplit(request.path).path
        page = is_page_request(request.headers.get("Upgrade"))
        if route == HEALTH_PATH:
            verdict = self.health.check(time.monotonic())
            if verdict.ready and parse_qs(urlsplit(request.path).query).get("store") == ["1"]:
                verdict = await self._store_verdict()
            body = verdict.body(
                users=self.rooms.users(), connections=self._connections, ticks=self.ticks,
                rooms=len(self.rooms),
            )  # fmt: skip
            status = HTTPStatus.OK if verdict.ready else HTTPStatus.SERVICE_UNAVAILABLE
            return json_response(connection, status, body)
        if page and route == METRICS_PATH:
            return metrics_response(connection, self.metrics)
        if page and route == LOBBY_PATH:
            if self._disk_full():  # the catalog server's bug: a failed read answered as empty
                empty = LobbyView(server=self.name, max_rooms=self.rooms.max_rooms, rooms=[])
                return json_response(connection, HTTPStatus.OK, empty.model_dump_json())
            lobby = await self.lobby()
            if lobby is None:
                return connection.respond(
                    HTTPStatus.SERVICE_UNAVAILABLE, "the lobby cannot be read now: try again\n"
                )
            return json_response(connection, HTTPStatus.OK, lobby.model_dump_json())
        try:
            room, within = split_room(route)
        except RoomNameError as exc:
            return connection.respond(HTTPStatus.NOT_FOUND, f"{exc}\n")
        if page:
            return respond(self.site.page(within))
        if (turned := self.doors.turn_away(connection, time.monotonic())) is not None:
            return turned
        if not self.admin.owns(route) and self.rooms.get(room) is None:
            try:
                await self._open(room)
            except (RoomsFull, RoomUnavailable, StateError) as exc:
                return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, f"{exc}\n")
        return self.admin.process_request(connection, request)

    def _disk_full(self) -> bool:
        """Whether a ``disk_full`` fault hits this lobby request (logged when it does)."""
        if not self.faults:
            return False
        hits = self.faults.fire(
            (FaultKind.DISK_FULL,), Message(action=LOBBY_ACTION), time.monotonic(), first=True
        )
        for fault in hits:
            log.info(
                "fault_injected", domain="server", fault=fault.id, kind=fault.kind.value,
                step=fault.step.name, action=LOBBY_ACTION,
            )  # fmt: skip
        return bool(hits)

    async def _store_verdict(self) -> Verdict:
        """``GET /healthz?store=1``: the ordinary verdict, and whether the lobby can be read
        (a health check that looks at the store, not only at the loop: one of the catalog
        server's cures, ``docs/cluster.md``)."""
        full = Message(action=LOBBY_ACTION)
        if self.faults and self.faults.holds((FaultKind.DISK_FULL,), full, time.monotonic()):
            return Verdict(False, "the store cannot be read: the disk is full")
        if await self.lobby(leaders=False) is None:
            return Verdict(False, "the store cannot be read: the lobby is unavailable")
        return Verdict(True, "serving, and the store can be read")

    async def lobby(self, *, leaders: bool = True) -> LobbyView | None:
        """What ``GET /lobby`` answers: every room open here, or in a group every room of the
        group (``leaders``: with its best players, read from its saved game); None when the
        group's store cannot say."""
        if self.keeper is not None:
            rooms = await self.keeper.lobby(leaders=leaders)
            if rooms is None:
                return None
        else:
            rooms = [room.lobby_entry(self.name) for room in self.rooms]
        return LobbyView(
            server=self.name, max_rooms=self.rooms.max_rooms, rooms=sorted(rooms, key=_by_name)
        )

    async def _open(self, name: str) -> Room:
        """Open the room called ``name``: once, however many connections ask at once.

        Raises:
            RoomsFull: this server holds its most rooms.
            RoomUnavailable: another server holds it, or the group's store cannot say.
            StateError: its saved game cannot be used.
        """
        opening = self._opening.get(name)
        if opening is not None:
            return await asyncio.shield(opening)
        self.rooms.check_space()
        opening = self._opening[name] = asyncio.get_running_loop().create_future()
        try:
            if self.keeper is None:
                room = self._make_room(name, self._load(name))
            else:
                claim = await self.keeper.claim(name, self.layout.name, time.monotonic())
                room = self._make_room(name, claim.saved)
                room.valid_until = claim.valid_until
            self.rooms.add(room)
            log.info("room_opened", room=name, rooms=len(self.rooms), restored=room.restored)
            if room.restored:
                self._log_restored(room)
            opening.set_result(room)
            return room
        except BaseException as exc:
            if isinstance(exc, Exception):
                opening.set_exception(exc)
                opening.exception()  # (retrieved: no "never retrieved" warning if none waits)
            else:
                opening.cancel()
            raise
        finally:
            del self._opening[name]

    @property
    def name(self) -> str:
        """How the lobby names this server: its name in its group, else its address
        (``host:port``) once it listens."""
        if self.keeper is not None:
            return self.keeper.name
        return urlsplit(self.url).netloc if self.url is not None else "?"

    def _make_room(self, name: str, saved: dict[str, Any] | None) -> Room:
        """A room called ``name``: a board of its own on the server's maze, resuming
        ``saved`` if there is a saved game.

        Raises:
            StateError: the saved game cannot be used.
        """
        config = self.config
        # The default room's board draws from the server's seed itself, so a logged seed
        # replays a single-room server as before; another room's from the seed and its name.
        rng = random.Random(self.seed if name == DEFAULT_ROOM else f"{self.seed}:{name}")
        board = Board(self.layout, rng, tick_rate=config.tick_rate, calm=config.calm)
        game = Game(board, config.limits)
        pipeline = Pipeline(game, self._room_hooks(name), admission=self.admission)
        room = Room(name, game, pipeline, Truth(tracing=config.trace))
        room.feeds = {
            KEEPALIVE_PATH: Snapshot(lambda now: game.keepalive_view(now).model_dump_json()),
            ROOM_PATH: Snapshot(lambda now: game.reports.view(now).model_dump_json()),
            BOARD_PATH: Snapshot(lambda now: _board_view(game)),
        }
        if saved is not None:
            try:
                game.restore(saved, time.monotonic())
            except (KeyError, TypeError, ValueError) as exc:
                where = self.store.path if self.store is not None else "the store"
                raise StateError(
                    f"{where} does not hold a game of room {name!r} this server can resume: {exc}"
                ) from exc
            room.restored = True
        return room

    def _room_hooks(self, room: str) -> list[StageHook]:
        """The hooks of ``room``'s requests: the server's, and its faults while any is on."""
        if not self.faults:
            return self._hooks
        return [*self._hooks, ServerFaults(self.faults, room=room)]

    def _load(self, room: str) -> dict[str, Any] | None:
        """``room``'s saved game in this server's own store, if it has one.

        Raises:
            StateError: the state file cannot be used.
        """
        return self.store.load(room, self.layout.name) if self.store is not None else None

    def _log_restored(self, room: Room) -> None:
        board = room.game.board
        log.info(
            "state_restored", room=room.name, users=len(room.game.sessions), clock=board.clock,
            level=board.level,
        )  # fmt: skip

    def _snapshots(self, rooms: Iterable[Room]) -> list[Saved]:
        return [Saved(room.name, self.layout.name, room.game.snapshot()) for room in rooms]

    def _save(self) -> None:
        if self.store is not None:
            self._saved(self.store.save, self._snapshots(self.rooms))

    async def _save_in_background(self, rooms: Iterable[Room]) -> None:
        if self.store is not None:
            saves = self._snapshots(rooms)
            await asyncio.to_thread(self._saved, self.store.save, saves)

    def _saved(self, save: Callable[[list[Saved]], None], saves: list[Saved]) -> None:
        """Run ``save``; a failure is logged once and marks the server unhealthy until a
        save succeeds again (the game goes on: players lose nothing until it crashes)."""
        try:
            save(saves)
        except StateError as exc:
            self.counts.snapshot_failures += 1
            if self.health.save_failed(str(exc)):
                log.error("snapshot_failed", reason=str(exc))
            return
        self.counts.snapshots_written += 1
        if self.health.saved():
            log.info("snapshot_recovered")

    def _hook_faults(self) -> None:
        """Put the fault hook in every room's request path while any fault is on, and out of
        it when none is. A new list each time: a request being handled keeps the one it
        started with."""
        for room in self.rooms:
            room.pipeline.hooks = self._room_hooks(room.name)

    def _crash(self) -> None:
        """Die as a crashed server does: at once, with no goodbye to anyone."""
        log.critical("server_crashed", reason="crash fault", ticks=self.ticks)
        if self.config.crash_exits:
            sys.stderr.flush()
            os._exit(CRASH_EXIT_STATUS)
        assert self._server is not None
        self._server.close(close_connections=False)
        for connection in list(self._server.connections):
            connection.transport.abort()
        self.stop()

    def _fit_gc(self, connections: int) -> None:
        """Space young collections out as connections grow (``young_threshold``)."""
        young, *older = gc.get_threshold()
        wanted = young_threshold(connections, self._young_floor)
        if young != wanted:
            gc.set_threshold(wanted, *older)

    def statistics(self) -> dict[str, Any]:
        """A snapshot of the server: the game's size and the open connections."""
        return {
            **(room.game.statistics() if (room := self.rooms.get(DEFAULT_ROOM)) else {}),
            "users": self.rooms.users(), "rooms": len(self.rooms),
            "connections": self._connections,
            "connectionsRefused": self.doors.refused, "connectionsCut": self.doors.cut,
            "requestsShed": self.admission.shed,
        }  # fmt: skip

    async def _serve_connection(self, websocket: ServerConnection) -> None:
        async with self.doors.holding(websocket):
            await self._serve_route(websocket)

    async def _serve_route(self, websocket: ServerConnection) -> None:
        path = websocket.request.path if websocket.request is not None else "/"
        if self.admin.owns(path):
            await self.admin.serve(websocket)
            return
        route, _, query = path.partition("?")
        name, within = split_room(route)  # (a name no room can have was refused at handshake)
        room = self.rooms.get(name)
        if room is None:  # it closed since the handshake: open it again, if there is room
            try:
                room = await self._open(name)
            except (RoomsFull, RoomUnavailable, StateError) as exc:
                await websocket.close(TRY_AGAIN_LATER, str(exc)[:120])
                return
        room.sockets.add(websocket)
        try:
            if (feed := room.feeds.get(within)) is not None:
                await serve_feed(websocket, feed)
            elif within == TRUTH_PATH:
                user_id = parse_qs(query).get("user", [""])[0]
                truth = room.truth
                await serve_feed(websocket, lambda: truth.view(user_id).model_dump_json())
            else:
                await self._play(websocket, room)
        finally:
            room.sockets.discard(websocket)

    async def _play(self, websocket: ServerConnection, room: Room) -> None:
        """Serve one player's connection: every request it sends, in order, in ``room``."""
        state = ConnectionState(next(self._connection_ids), peer=peer(websocket), room=room.name)
        self._connections += 1
        handle = room.pipeline.handle
        game, truth = room.game, room.truth
        send_timeout = self.config.limits.send_timeout
        # A send waits only when the write buffer passes its high-water mark: below it (every
        # healthy connection, nearly always) no timer is armed, which costs a tenth of a
        # request's time; the frame's header is at most 14 bytes.
        buffered = websocket.transport.get_write_buffer_size
        room_to_write = websocket.write_limit_high - 14
        handled = 0
        figures = self.figures
        assert isinstance(websocket, TimedConnection)
        arrivals = websocket.arrivals
        try:
            async for raw in websocket:
                handled += 1
                if handled % YIELD_EVERY == 0:
                    await asyncio.sleep(0)  # let the tick and the other connections in
                now = time.monotonic()
                if now >= room.valid_until:  # it may be another server's by now: serve no
                    await _send_away(websocket, room.name)  # stale board, say reconnect
                    return
                exchange = handle(state, raw, now, now - arrivals.popleft() if arrivals else 0.0)
                frame = exchange.frame
                if frame is not None:
                    if not websocket.paused and buffered() + len(frame) < room_to_write:
                        await websocket.send(frame, text=True)  # cannot wait: no timer needed
                    else:  # it may wait for a client that reads slowly, or not at all
                        try:
                            async with asyncio.timeout(send_timeout):
                                await websocket.send(frame, text=True)
                        except TimeoutError:
                            await self._cut(websocket, state)
                            return
                request = exchange.request
                figures.record(
                    request["action"] if request is not None else _action_named(exchange),
                    exchange.code,
                    time.monotonic() - now + exchange.waited,
                )
                if exchange.failed:
                    self._log_failure(exchange)
                if exchange.trace is not None:
                    log_trace(exchange, sent=exchange.frame is not None)
                    truth.record(exchange)
        except ConnectionClosed:
            pass  # the peer went away mid-conversation; its user stays until keepalive expiry
        except Crash as crash:
            if crash.exchange is not None and crash.exchange.trace is not None:
                log_trace(crash.exchange, sent=False)  # it arrived, and nothing came of it
                truth.record(crash.exchange)
            if crash.mode != "abort":
                self._crash()
            websocket.transport.abort()  # no close frame: to the peer, the server vanished
        finally:
            self._connections -= 1
            if state.user_id is not None:
                game.disconnect(state.user_id, state.id)

    async def _cut(self, websocket: ServerConnection, state: ConnectionState) -> None:
        """Close a connection whose client stopped reading: 1008, if the close frame can still
        get through in a second, else at once (the peer sees the connection drop)."""
        self.doors.cut += 1
        waited = self.config.limits.send_timeout
        log.warning(
            "connection_cut", connection=state.id, peer=state.peer, userId=state.user_id,
            reason=f"not reading its replies: none could be written for {waited:g} s",
        )  # fmt: skip
        try:
            async with asyncio.timeout(1.0):
                await websocket.close(1008, "not reading replies")
        except TimeoutError:
            websocket.transport.abort()

    def _log_failure(self, exchange: Exchange) -> None:
        """One line for a refused or crashed request, within ``FAILURE_LINES``: past it they
        are counted, and the tick loop says how many once a second."""
        if not self._failure_lines.allow(exchange.now, exchange.code):
            return
        fields = exchange.log_fields()  # (after the quota: it reads the frame again)
        latency_ms = round((time.monotonic() - exchange.now) * 1000, 3)
        if exchange.crash is not None:
            log.error(
                "request_crashed", domain="server", latencyMs=latency_ms,
                exc_info=exchange.crash, **fields,
            )  # fmt: skip
        else:
            log.info("request_failed", domain="server", latencyMs=latency_ms, **fields)

    def _say_suppressed(self, now: float) -> None:
        if counts := self._failure_lines.suppressed(now):
            log.warning(
                "request_failures_unlogged", count=sum(counts.values()), byCode=counts,
                why=f"more than {FAILURE_LINES[0]:g} a second",
            )  # fmt: skip
        if counts := self.doors.lines.suppressed(now):
            log.warning("connection_refusals_unlogged", count=sum(counts.values()))

    async def _tick_loop(self) -> None:
        """Tick at a fixed rate against absolute deadlines, so the clock does not drift."""
        period = 1.0 / self.config.tick_rate
        once_a_second = max(1, round(self.config.tick_rate))
        next_tick = time.monotonic()
        next_snapshot = next_tick + self.config.snapshot_interval
        while True:
            next_tick += period
            delay = next_tick - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
                # How late the timer fired: how long whatever is ready waits for the loop now
                # (not measured on a tick already behind, which does not wait for the loop).
                woke = time.monotonic()
                self.admission.note_lag(max(0.0, woke - next_tick), woke)
            if delay < -10 * period:  # starved (stopped process, overload): skip, don't burst
                self.counts.tick_overruns += 1
                log.warning("tick_overrun", behindMs=round(-delay * 1000), ticks=self.ticks)
                next_tick = time.monotonic()
            now = time.monotonic()
            self.ticks += 1
            for room in self.rooms:
                if now < room.valid_until:  # (one that may be another's is not changed)
                    self._tick_room(room, now)
            self.health.ticked(time.monotonic())
            if self.ticks % once_a_second == 0:
                self._fit_gc(self._connections)
                self._say_suppressed(time.monotonic())
                if closing := self.rooms.idle(time.monotonic()):
                    await self._close_rooms(closing)
            if self.keeper is None and self.store is not None and now >= next_snapshot:
                next_snapshot = time.monotonic() + self.config.snapshot_interval
                await self._save_in_background(self.rooms)

    def _tick_room(self, room: Room, now: float) -> None:
        game = room.game
        expired = game.tick(now)
        if expired:
            self.counts.keepalive_expiries += len(expired)
            for user_id in expired:
                log.info("user_expired", room=room.name, userId=user_id, clock=game.board.clock)
            room.truth.prune(game.sessions)

    async def _close_rooms(self, rooms: list[Room]) -> None:
        """Close rooms left empty: each is saved first, so it opens again as it was (in a
        group, then given up, so another server may open it)."""
        for room in rooms:
            log.info("room_closed", room=room.name, why=f"empty for {self.rooms.idle_after:g} s")
        if self.keeper is None:
            await self._save_in_background(rooms)
            return
        await self._save_kept(self.keeper, rooms)
        for room in rooms:
            await self.keeper.release(room.name)

    # --- in a group: the rooms' leases and snapshots, in the group's store ---------------

    async def _keeper_loop(self, keeper: Keeper) -> None:
        """Renew every room's claim each ``keeper.renew_every``, save every room each
        ``snapshot_interval``, and send away the rooms this server may no longer change."""
        next_snapshot = time.monotonic() + self.config.snapshot_interval
        while True:
            await asyncio.sleep(keeper.renew_every)
            rooms = list(self.rooms)
            entries = [(room.name, room.lobby_entry(self.name, leaders=False)) for room in rooms]
            kept = await keeper.renew(entries, time.monotonic())
            for room in rooms:
                if room.name in kept.renewed and self.rooms.get(room.name) is room:
                    room.valid_until = kept.renewed[room.name]
            lost = set(kept.lost)  # another server holds these: nothing more of ours counts
            now = time.monotonic()
            expired = [r for r in self.rooms if now >= r.valid_until and r.name not in lost]
            # A room whose term ended is saved on its way out: it has not changed since, and
            # the fence refuses the save if another server has it, so its last moments are
            # kept exactly when it is still ours.
            if expired or time.monotonic() >= next_snapshot:
                next_snapshot = time.monotonic() + self.config.snapshot_interval
                saving = [room for room in self.rooms if room.name not in lost]
                lost.update(await self._save_kept(keeper, saving))
            for name in sorted(lost):
                await self._evict(name, "another server holds it now")
            for room in expired:
                await self._evict(room.name, "its claim ran out before it was renewed")

    async def _save_kept(self, keeper: Keeper, rooms: Iterable[Room]) -> list[str]:
        """Save ``rooms`` in the group's store, fenced (a room another server holds now is
        refused by the store); returns those refused. A failure marks this server unhealthy
        until a save succeeds."""
        saves = self._snapshots(rooms)
        if not saves:
            return []
        refused, failure = await keeper.save(saves)
        if failure is not None:
            self.counts.snapshot_failures += 1
            if self.health.save_failed(failure):
                log.error("snapshot_failed", reason=failure)
        else:
            self.counts.snapshots_written += 1
            if self.health.saved():
                log.info("snapshot_recovered")
        return refused

    async def _evict(self, name: str, why: str) -> None:
        """Stop serving room ``name`` at once, unsaved: this server may no longer change it.
        Its players are told to reconnect (close code 1013), and find it where it is now."""
        room = self.rooms.remove(name)
        if room is None:
            return
        room.valid_until = -inf  # a request already read is refused too
        log.warning("room_lost", room=name, why=why, players=len(room.game.sessions))
        await asyncio.gather(*(_send_away(socket, name) for socket in list(room.sockets)))


LOBBY_ACTION = "lobby"
"""What a fault's ``action`` filter calls ``GET /lobby`` (``disk_full --action lobby``)."""

TRY_AGAIN_LATER = 1013
"""The WebSocket close code for "try again later" (RFC 6455's registry): the room is not
here, or not here any more; a client reconnects and finds it where it is."""


async def _send_away(websocket: ServerConnection, room: str) -> None:
    """Close ``websocket``: this server no longer holds ``room``; reconnect to find it."""
    try:
        async with asyncio.timeout(1.0):
            await websocket.close(TRY_AGAIN_LATER, f"room {room} is not held here: reconnect")
    except TimeoutError:
        websocket.transport.abort()


def json_response(connection: ServerConnection, status: HTTPStatus, body: str) -> Response:
    """A plain HTTP answer with a JSON body."""
    response = connection.respond(status, body)
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = "application/json"
    return response


def _board_view(game: Game) -> str:
    """A room's whole board, for spectators (``/board``)."""
    board, flashing = game.board, game.board.flashing()
    view = {
        "clock": board.clock, "level": board.level, "width": board.layout.width,
        "height": board.layout.height, "maze": board.layout.rows(),
        "entities": [entity(p, flashing) for kind in KINDS for p in board.all_of(kind)],
    }  # fmt: skip
    return orjson.dumps(view).decode()


def _by_name(room: LobbyRoom) -> str:
    return room.name


def _action_named(exchange: Exchange) -> str:
    """The action a request that was never validated (refused before, or invalid) names, for
    the metrics: one of pacnet's, else ``invalid`` (a label takes no value a client makes up)."""
    _, action, _ = exchange.identity()
    return action if action is not None and action in ACTIONS else "invalid"
