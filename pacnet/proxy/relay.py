"""The network's fault domain: a WebSocket relay between clients and a board server that
loses, delays, damages, duplicates and cuts messages on purpose (``pacnet proxy``).

A pure fault policy (``RequestMemory``, ``NetworkFaults``: frames and ``now`` in, a
``Plan`` out, randomness from the fault set's seeded ``random.Random``) behind a thin relay
(``Proxy``: sockets, tasks, sleeps). Each client connection gets its own upstream
connection, to the same path, and two pumps: requests (client to server) and replies
(server to client). ``/admin`` and ``/faults`` on the proxy's port are the proxy's own
(``pacnet.faults.admin``), never relayed; its ``/faults`` feed adds the upstream server's faults,
and its ``/traffic`` feed tells when each user's requests last arrived and went on.
The server's read-only feeds (``/keepalive``, ``/truth``) are relayed untouched by faults.

    fault       what the proxy does                                 the client sees
    ---------   -------------------------------------------------   --------------------
    drop        the message is lost                                 UNKNOWN (no reply)
    delay       held ``delayMs`` plus up to ``jitterMs``, alone:    UNKNOWN past its
                later messages are not held up and may overtake it  deadline, else SUCCESS
    duplicate   sent twice                                          SUCCESS (request: the
                                                                    server runs it twice)
    corrupt     flip: a few characters replaced, always breaking    request: FATAL
                the JSON; truncate: cut short; garbage: random      (INVALID_MESSAGE);
                bytes in a *binary* frame; schema: well-formed      reply: UNKNOWN
                JSON with one field renamed, ``requestId`` and      (step 7)
                ``v`` kept, so only the validators can tell
    reset       both connections aborted, no close frame; the       UNKNOWN, then
                message is lost                                     POST_FAILED
    refuse      a new connection gets HTTP 503 at the handshake     POST_FAILED
    blackhole   matching messages, both ways, vanish; the           UNKNOWN
                connection stays open

Faults that fire on one message stack in ``pacnet.faults.spec.ORDER`` (delay, duplicate,
corrupt, drop, reset); a blackhole counts as a drop there. A delayed reset cuts the
connection when the delay is over.

How the filters apply to the two connection faults, which have no direction:

- **refuse** is decided at the handshake, when nothing is known of the connection but the
  number it would get (every connection attempt takes one, refused or not). So only
  ``connection`` aims it (``skip``, ``count``, ``probability`` and ``durationS`` work as
  usual); a refuse fault with an ``action`` or ``user`` filter never fires.
- **blackhole** is checked on every message in both directions, as a drop without a
  direction: ``action``, ``user`` and ``connection`` filter each message, ``count`` counts
  swallowed messages and ``probability`` is per message. New connections are accepted.

Realism caveats. WebSocket pings are answered by each hop, so a blackholed client still
hears pongs (a real black hole would end in a ping timeout). A delay may let later messages
overtake the delayed one, which TCP never does within one connection: it models a message
held anywhere on the path, not a slow link. Closing a connection cancels the messages
still held on it. If the upstream server cannot be reached, a new connection is refused at
its handshake (HTTP 502): the client sees POST_FAILED, as it would connecting directly.

A reply carries no action or user, so each connection remembers its latest requests'
``requestId -> (action, userId)``: a reply-direction fault can aim at "20% of findAll
replies" or one user's replies as well.
"""

import asyncio
import contextlib
import heapq
import itertools
import random
import secrets
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field, replace
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import structlog
from pydantic_core import from_json, to_json
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.connection import Connection
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.frames import EXTERNAL_CLOSE_CODES, CloseCode
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.uri import parse_uri

from pacnet.cmdline.lifecycle import running
from pacnet.faults.admin import AdminEndpoint
from pacnet.faults.engine import FaultSet, Message
from pacnet.faults.feed import FEED_PATH, FaultFeed
from pacnet.faults.spec import ORDER, Corruption, Direction, Domain, Fault, FaultKind, FaultStatus
from pacnet.feeds.addresses import endpoint_url, peer, url_of
from pacnet.feeds.serve import serve_feed
from pacnet.protocol.feeds import (
    KEEPALIVE_PATH,
    TRAFFIC_PATH,
    TRUTH_PATH,
    TrafficEntry,
    TrafficView,
)

REMEMBERED_REQUESTS = 1024
"""Requests per connection whose action and user are kept for their replies' filters:
far more than a client has in flight, small enough to bound a flooding client."""
MAX_HELD = 1000
"""Delayed messages one connection may hold at once; past it a message is lost, as a full
router buffer drops what comes next."""
SIDE_CHANNELS = frozenset({KEEPALIVE_PATH, TRUTH_PATH})
"""The server's read-only feeds, relayed without faults: a workshop's window reads the
server's truth and keepalive table through the proxy, and a fault meant for the game must
not make the truth about it disappear. (As if the facilitator ran a second, clean wire.)"""
FEED_RETRY = (0.1, 2.0)
"""Seconds between attempts to read the upstream's ``/faults`` feed: first, at most."""

log = structlog.get_logger("pacnet.proxy")


@dataclass(frozen=True, kw_only=True)
class ProxyConfig:
    """Everything ``pacnet proxy`` needs to start a relay."""

    host: str = "127.0.0.1"
    """Loopback by default: a workshop opens the proxy to the room on purpose."""
    port: int = 8766
    """The server's default port plus one; 0 picks a free port (tests)."""
    upstream: str = "ws://127.0.0.1:8765"
    """The board server. Its path is ignored: each client's own path is relayed."""
    seed: int | None = None
    """Seed of every random choice of the faults; None picks one (logged, for replay)."""
    admin_token: str | None = None
    """The token ``/admin`` requires; None generates one and logs it."""
    max_message_bytes: int = 1024 * 1024
    """Largest frame relayed, either way. Above the server's own 64 KiB limit on purpose:
    the proxy should not be the one to refuse a frame the server would judge."""
    trace: bool = False
    """Log every message relayed (``message_relayed``), for ``pacnet trace``."""
    connect_timeout: float = 3.0
    """Seconds to open the upstream connection during a client's handshake (the client's
    own connect timeout is 3 s by default, and the server's handshake takes 10 s)."""

    def __post_init__(self) -> None:
        try:
            parse_uri(self.upstream)
        except (InvalidURI, ValueError) as exc:
            raise ValueError(f"upstream {self.upstream!r} is not a ws:// URL: {exc}") from None
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port {self.port} is not a port number (0-65535)")
        if self.max_message_bytes < 1:
            raise ValueError("max message bytes must be at least 1")
        if self.connect_timeout <= 0:
            raise ValueError("connect timeout must be > 0 seconds")


# --- the pure policy -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seen:
    """What a lenient look at one frame found (None: not there, or not readable)."""

    request_id: str | None = None
    action: str | None = None
    user: str | None = None


class RequestMemory:
    """One connection's recent requests, so that each reply is known by its request's
    action and user."""

    def __init__(self, capacity: int = REMEMBERED_REQUESTS) -> None:
        self._capacity = capacity
        self._requests: OrderedDict[str, tuple[str | None, str | None]] = OrderedDict()
        self._user: str | None = None
        """The latest userId on this connection: the user of a reply without a requestId."""

    def look(self, frame: str | bytes, direction: Direction) -> Seen:
        """What ``frame`` is about; a request is remembered for its reply. Never raises."""
        fields = _fields(frame, ("requestId", "action", "userId"))
        request_id, action, user = fields
        if direction is Direction.REQUEST:
            if user is not None:
                self._user = user
            if request_id is not None:
                self._requests[request_id] = (action, user)
                self._requests.move_to_end(request_id)
                if len(self._requests) > self._capacity:
                    self._requests.popitem(last=False)
            return Seen(request_id, action, user)
        action, user = self._requests.get(request_id or "", (None, self._user))
        return Seen(request_id, action, user)


def _fields(frame: str | bytes, names: Sequence[str]) -> list[str | None]:
    """The string values of ``names`` in a JSON object frame; anything else is None."""
    try:
        data: Any = from_json(frame)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return [None] * len(names)
    return [value if isinstance(value := data.get(name), str) else None for name in names]


@dataclass(frozen=True, slots=True)
class Plan:
    """What the relay must do with one message: after ``delay`` seconds, send ``frames``
    (``bytes`` as binary frames), then abort the connection if ``reset``."""

    frames: tuple[str | bytes, ...]
    delay: float = 0.0
    reset: bool = False
    faults: tuple[Fault, ...] = ()
    """The faults that fired on it, in the order they applied."""


_ON_MESSAGES = (*ORDER, FaultKind.BLACKHOLE)
_RANK = {kind: ORDER.index(kind) for kind in ORDER} | {
    FaultKind.BLACKHOLE: ORDER.index(FaultKind.DROP)
}


class NetworkFaults:
    """The proxy's fault policy: which faults hit a message or a new connection, and what
    becomes of it. Pure: the relay passes ``now``; randomness is the fault set's.

    Args:
        faults: the network's fault set.
    """

    def __init__(self, faults: FaultSet) -> None:
        self.faults = faults

    def refusal(self, connection: int, now: float) -> Fault | None:
        """The refuse fault that hits new connection number ``connection``, if one does;
        the caller must then refuse its handshake."""
        if not self.faults:
            return None
        hits = self.faults.fire((FaultKind.REFUSE,), Message(connection=connection), now)
        return hits[0] if hits else None

    def plan(self, frame: str | bytes, message: Message, now: float) -> Plan:
        """What becomes of ``frame``; the caller must carry the plan out (``Plan``)."""
        hits = self.faults.fire(_ON_MESSAGES, message, now) if self.faults else []
        if not hits:
            return Plan((frame,))
        hits.sort(key=lambda fault: _RANK[fault.kind])  # stable: in added order within a kind
        rng = self.faults.random
        copies, delay, lost, reset = [frame], 0.0, False, False
        for fault in hits:
            match fault.kind:
                case FaultKind.DELAY:
                    jitter = rng.uniform(0, fault.jitter_ms) if fault.jitter_ms else 0.0
                    delay += (fault.delay_ms + jitter) / 1000
                case FaultKind.DUPLICATE:
                    copies.append(frame)
                case FaultKind.CORRUPT:
                    copies = [damage(copy, fault.corruption, rng) for copy in copies]
                case FaultKind.DROP | FaultKind.BLACKHOLE:
                    lost = True
                case FaultKind.RESET:
                    reset = True
        frames = () if lost or reset else tuple(copies)
        return Plan(frames, delay, reset, tuple(hits))


# Printable ASCII but the quote and the backslash: a flip never makes or unmakes a string.
_PRINTABLE = [chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"\\']


def damage(frame: str | bytes, how: Corruption, rng: random.Random) -> str | bytes:
    """``frame`` damaged ``how``, every random choice from ``rng``."""
    match how:
        case Corruption.FLIP:
            return _flip(frame, rng)
        case Corruption.TRUNCATE:
            return frame[: rng.randrange(len(frame))] if frame else frame
        case Corruption.GARBAGE:
            return rng.randbytes(max(1, len(frame)))
        case Corruption.SCHEMA:
            return _break_schema(frame, rng)


def _flip(frame: str | bytes, rng: random.Random) -> str | bytes:
    """A few characters replaced by other printable ASCII: still UTF-8 text, no longer JSON.

    One of them is always a string's quote (one not escaped) and no replacement is a quote
    or a backslash, so the frame is left with an odd number of quotes: never JSON, whatever
    else the flips hit. A binary frame gets a few bytes XORed instead.
    """
    if not frame:
        return frame
    n = rng.randint(1, 3)
    if isinstance(frame, bytes):
        data = bytearray(frame)
        for i in rng.sample(range(len(data)), min(n, len(data))):
            data[i] ^= rng.randrange(1, 256)
        return bytes(data)
    chars = list(frame)
    quotes = [i for i, c in enumerate(chars) if c == '"' and (i == 0 or chars[i - 1] != "\\")]
    others = [i for i, c in enumerate(chars) if c not in '"\\']
    chosen = [rng.choice(quotes)] if quotes else []
    chosen += rng.sample(others, min(n - len(chosen), len(others)))
    for i in chosen:
        chars[i] = rng.choice([c for c in _PRINTABLE if c != chars[i]])
    return "".join(chars)


def _break_schema(frame: str | bytes, rng: random.Random) -> str | bytes:
    """Well-formed JSON that fails the models: one field renamed (``xPos`` to ``xpos``,
    ``name`` to ``Name``), ``v`` and ``requestId`` kept so the peer can match and refuse it.

    Renamed, not dropped: every model forbids unknown fields, so a rename always fails,
    while dropping an optional field would pass. A frame that is no JSON object becomes
    ``{}``.
    """
    try:
        data: Any = from_json(frame)
    except ValueError:
        data = None
    broken: dict[str, Any] = {}
    if isinstance(data, dict):
        names = [name for name in data if name not in ("v", "requestId")]
        if names:
            old = rng.choice(names)
            new = old.lower() if old != old.lower() else old[:1].upper() + old[1:]
            broken = {new if name == old else name: value for name, value in data.items()}
        else:
            broken = {**data, "corrupted": True}
    text = to_json(broken)
    return text.decode() if isinstance(frame, str) else text


# --- the relay -------------------------------------------------------------------------


class Traffic:
    """When each user's requests last reached the proxy and last went on to the server, for
    the read-only ``/traffic`` feed: beside the server's keepalive table, it tells a user who
    is gone from one the network cuts off (heard here, never passed on) or holds up."""

    def __init__(self, keep: int = 10_000) -> None:
        self.keep = keep
        self._heard: dict[str, float] = {}
        self._passed: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def heard(self, user: str, now: float) -> None:
        if user not in self._heard and len(self._heard) >= self.keep:
            oldest = min(self._heard, key=self._heard.__getitem__)
            for table in (self._heard, self._passed, self._held):
                table.pop(oldest, None)
        self._heard[user] = now

    def passed(self, user: str, now: float) -> None:
        if user in self._heard:
            self._passed[user] = now

    def hold(self, user: str, change: int) -> None:
        if user in self._heard:
            self._held[user] = max(0, self._held.get(user, 0) + change)

    def view(self, now: float, shown: int = 200) -> TrafficView:
        latest = heapq.nlargest(shown, self._heard.items(), key=lambda item: item[1])
        return TrafficView(
            users=[
                TrafficEntry(
                    user_id=user,
                    heard_s=round(now - heard, 1),
                    passed_s=round(now - self._passed[user], 1) if user in self._passed else None,
                    held=self._held.get(user, 0),
                )
                for user, heard in latest
            ]
        )


@dataclass(frozen=True, slots=True)
class ProxyStatistics:
    """A snapshot of a proxy's traffic."""

    connections: int = 0
    """Client connections open now."""
    accepted: int = 0
    refused: int = 0
    """Connection attempts refused: by a refuse fault, or because the upstream was down."""
    requests: int = 0
    """Messages received from clients (whatever became of them)."""
    replies: int = 0
    """Messages received from the upstream server."""
    faults_injected: int = 0


@dataclass(eq=False)
class _Link:
    """One client connection and its upstream connection."""

    number: int
    client: ServerConnection
    upstream: ClientConnection
    memory: RequestMemory = field(default_factory=RequestMemory)
    held: set[asyncio.Task[None]] = field(default_factory=set)
    tasks: asyncio.TaskGroup | None = None
    side_channel: bool = False
    """A read-only feed of the server's (keepalive, truth): relayed untouched."""

    def ends(self, direction: Direction) -> tuple[Connection, Connection]:
        """(source, sink) of ``direction``."""
        if direction is Direction.REQUEST:
            return self.client, self.upstream
        return self.upstream, self.client

    def reset(self) -> None:
        """Cut both connections at once, without a close frame."""
        self.client.transport.abort()
        self.upstream.transport.abort()


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
        self.admin = AdminEndpoint(
            self.faults, config.admin_token, extra_faults=self.upstream_faults, clock=clock
        )
        self.url: str | None = None
        self._clock = clock
        self._server: Server | None = None
        self._stop = asyncio.Event()
        self._numbers = itertools.count(1)
        self._handshakes: dict[ServerConnection, tuple[int, ClientConnection]] = {}
        self._upstream_faults: list[FaultStatus] = []
        self._stats = ProxyStatistics()

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
            admin_token=self.admin.token if self.admin.generated_token else "(given)",
        )  # fmt: skip
        return self.url

    async def serve_until_stopped(self) -> None:
        """Relay until ``stop()``; then close every client connection with 1001 (going away),
        which each relays to its upstream."""
        assert self._server is not None, "start() first"
        async with asyncio.TaskGroup() as tasks:
            watcher = tasks.create_task(self._watch_upstream_faults())
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
        stats = self._stats
        self._stats = replace(stats, **{name: getattr(stats, name) + n for name, n in more.items()})

    def upstream_faults(self) -> list[FaultStatus]:
        """The upstream server's faults, as its ``/faults`` feed last said (empty while it
        cannot be reached)."""
        return self._upstream_faults

    # --- handshakes ---

    async def _process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        """Refuse ``/admin`` without the token, a connection a refuse fault hits, and one
        whose upstream cannot be reached; else open its upstream connection."""
        refused = self.admin.process_request(connection, request)
        if refused is not None or self.admin.owns(request.path):
            return refused
        if urlsplit(request.path).path == TRAFFIC_PATH:
            return None  # the proxy's own feed: nothing to open upstream
        number = next(self._numbers)
        side_channel = urlsplit(request.path).path in SIDE_CHANNELS
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
        side_channel = urlsplit(path).path in SIDE_CHANNELS
        link = _Link(number, websocket, upstream, side_channel=side_channel)
        where = peer(websocket)
        log.info("connection_opened", connection=number, peer=where, path=path)
        self._count(accepted=1, connections=1)
        try:
            await self._relay(link)
        finally:
            self._count(connections=-1)
            upstream.transport.abort()  # a no-op once closed; a bug must not leak it
            log.info("connection_closed", connection=number, peer=where, code=websocket.close_code)

    async def _relay(self, link: _Link) -> None:
        """Pump both ways until both sides are closed; then drop what is still held."""
        async with asyncio.TaskGroup() as tasks:
            link.tasks = tasks
            pumps = [tasks.create_task(self._pump(link, d)) for d in Direction]
            await asyncio.wait(pumps)
            for task in link.held:
                task.cancel()

    async def _pump(self, link: _Link, direction: Direction) -> None:
        """Carry ``direction``'s messages until its source closes (then close the sink the
        same way) or its sink does (then the other pump closes the source)."""
        source, sink = link.ends(direction)
        try:
            async for frame in source:
                await self._forward(link, direction, frame, sink)
        except ConnectionClosed:
            pass
        if source.state is State.CLOSED:
            await _close_like(source, sink)

    async def _forward(
        self, link: _Link, direction: Direction, frame: str | bytes, sink: Connection
    ) -> None:
        if link.side_channel:
            with contextlib.suppress(ConnectionClosed):
                await sink.send(frame)
            return
        self._count(**{"requests" if direction is Direction.REQUEST else "replies": 1})
        seen = link.memory.look(frame, direction)
        message = Message(seen.action, seen.user, link.number, direction)
        now = self._clock()
        plan = self.network.plan(frame, message, now)
        for fault in plan.faults:
            self._log_fault(fault, link.number, direction, seen, plan)
        user = seen.user if direction is Direction.REQUEST else None
        if user is not None:
            self.traffic.heard(user, now)
            if plan.frames and not plan.reset and plan.delay <= 0:
                self.traffic.passed(user, now)
        if self.config.trace:
            log.info(
                "message_relayed", domain="network", requestId=seen.request_id,
                userId=seen.user, action=seen.action, direction=direction.value,
                connection=link.number, copies=len(plan.frames), reset=plan.reset,
                delay_ms=round(plan.delay * 1000),
            )  # fmt: skip
        if plan.delay <= 0:
            await _carry_out(plan, link, sink)
        elif len(link.held) >= MAX_HELD:
            log.warning("message_lost", reason="too many held", connection=link.number)
        else:
            assert link.tasks is not None
            task = link.tasks.create_task(_carry_out_later(plan, link, sink))
            link.held.add(task)
            task.add_done_callback(link.held.discard)
            if user is not None:
                self.traffic.hold(user, +1)
                task.add_done_callback(lambda done: self._released(user, plan, done))

    def _traffic_snapshot(self) -> str:
        return self.traffic.view(self._clock()).model_dump_json()

    def _released(self, user: str, plan: Plan, task: "asyncio.Task[None]") -> None:
        """A held request of ``user`` is out of the proxy's hands: sent on, or lost."""
        self.traffic.hold(user, -1)
        if plan.frames and not plan.reset and not task.cancelled():
            self.traffic.passed(user, self._clock())

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
            details["delay_ms"] = round(plan.delay * 1000)
        if fault.kind is FaultKind.CORRUPT:
            details["corruption"] = fault.corruption.value
        log.info(
            "fault_injected", domain="network", fault=fault.id, kind=fault.kind.value,
            step=fault.step.name, direction=direction.value if direction else None,
            requestId=seen.request_id, userId=seen.user, action=seen.action,
            connection=connection, **details,
        )  # fmt: skip

    async def _watch_upstream_faults(self) -> None:
        """Follow the upstream's ``/faults`` feed; reconnect with a short jittered backoff."""
        url = endpoint_url(self.config.upstream, FEED_PATH)
        jitter = random.Random()  # not the faults' generator: that one must replay
        wait = FEED_RETRY[0]
        while True:
            try:
                async with connect(url, compression=None, open_timeout=2.0, proxy=None) as feed:
                    wait = FEED_RETRY[0]
                    async for raw in feed:
                        self._upstream_faults = FaultFeed.model_validate_json(raw).faults
            except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed, ValueError) as exc:
                log.debug("upstream_feed_lost", url=url, reason=str(exc) or type(exc).__name__)
            self._upstream_faults = []
            await asyncio.sleep(wait * (0.5 + jitter.random()))
            wait = min(wait * 2, FEED_RETRY[1])


async def _carry_out(plan: Plan, link: _Link, sink: Connection) -> None:
    if plan.reset:
        link.reset()
        return
    for frame in plan.frames:
        await sink.send(frame)


async def _carry_out_later(plan: Plan, link: _Link, sink: Connection) -> None:
    await asyncio.sleep(plan.delay)
    with contextlib.suppress(ConnectionClosed):  # the connection ended: the message is lost
        await _carry_out(plan, link, sink)


async def _close_like(source: Connection, sink: Connection) -> None:
    """Close ``sink`` as ``source`` was closed: the same code and reason when they may be
    sent again, 1000 when not; an abort (no close frame) as an abort."""
    code = source.close_code
    if code is None or code == CloseCode.ABNORMAL_CLOSURE:
        sink.transport.abort()
    elif code in EXTERNAL_CLOSE_CODES or 3000 <= code < 5000:
        await sink.close(code, source.close_reason or "")
    else:
        await sink.close()


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
