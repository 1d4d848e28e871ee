"""A hypothesis state machine against a real server: random joins, calls, keepalive gaps,
reconnections, restarts and fault switches, with the properties a player would notice
checked after every step (docs/testing.md has the rules and the invariants, and why).

The server is a real ``BoardServer`` on 127.0.0.1 (an ephemeral port, kept across restarts,
and a state file so a restart resumes the game); the players are real ``RemoteBoard``s with
a retry policy, reconnecting and resuming with their session tokens on their own. Faults
are switched only in their own domains: the server's through its ``/admin`` endpoint, the
client's on each board's ``faults``. The machine owns its event loop: hypothesis's stateful
API is synchronous, so every rule runs its coroutine to completion on it, while the server
(a task of its own) ticks whenever the loop runs.

The model predicts, before every call, the outcomes it may end in from the faults on and
what the model knows of the player (on the server? is its connection the session's? does
its token match?); where the model cannot know (the user may expire during the call, an
earlier call ended UNKNOWN), it allows every case. What the server really did is read from
a tracing hook (``Acted``), never from the client.
"""

import asyncio
import contextlib
import itertools
import json
import math
import random
import tempfile
import time
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from pacnet.client.remote import CallResult, RemoteBoard
from pacnet.client.retry import RetryPolicy
from pacnet.client.timeouts import Timeouts
from pacnet.faults.admin import AdminClient
from pacnet.faults.spec import Fault, FaultKind
from pacnet.protocol.actions import MUTATIONS
from pacnet.protocol.errors import ErrorCode
from pacnet.protocol.models import FindAllReply, FindReply, JoinReply, MoveReply
from pacnet.protocol.outcome import Outcome
from pacnet.server.config import ServerConfig, ServerLimits
from pacnet.server.embedded import running_server
from pacnet.server.net import BoardServer
from pacnet.server.pieces import GHOST, PACMAN, Piece, pacman_name
from tests.conftest import MS, Acted, switch_on

USERS = ("ann", "bob", "cat")
KEEPALIVE = 1000 * MS
"""The server's keepalive timeout: short, so a gap that outlasts it costs about a second."""
SWEEP = min(1.0, KEEPALIVE / 8)
"""How often the keepalive table is swept for silent users (``KeepaliveTable``)."""
POLICY = RetryPolicy(attempt_timeout=150 * MS, deadline=600 * MS, deadlines={"move": 450 * MS})
"""The Python client's retry policy, its times scaled down so that a call that meets a
persistent fault ends within about half a second (three attempts, each of 150 ms: still
thirty times a loaded localhost round trip)."""
ENDS_WITHIN = 1000 * MS
"""How long after its deadline a call may still end: one reconnection's wait and handshake."""
SERVER_FAULTS = ("reject", "update_fails", "no_reply", "bad_version", "crash")
"""The server's faults the machine switches. ``disk_full`` is left out: its empty reply
passes for a ``ping``'s and a ``leave``'s, a SUCCESS with nothing done, which
docs/failure-modes.md documents and tests/test_failure_modes.py checks on its own."""
STAGE = {
    FaultKind.CRASH: 0,  # RECEIVE
    FaultKind.REJECT: 1,  # THROTTLE
    FaultKind.UPDATE_FAILS: 2,  # UPDATE_STATE
    FaultKind.NO_REPLY: 3,  # REPLY
    FaultKind.BAD_VERSION: 3,
}
"""The pipeline stage each server fault strikes at: a fault at an earlier stage wins."""
FAULTED_ACTIONS = (None, "join", "find", "move", "findAll", "remove", "ping", "leave")
"""What a server fault is aimed at: every action (None), or one the players call."""
LOST = (FaultKind.NO_REPLY, FaultKind.BAD_VERSION)
"""Faults after the update: the server acted and the client gets no usable reply."""

Expected = tuple[Outcome, ErrorCode | None]
SUCCESS: Expected = (Outcome.SUCCESS, None)
UNKNOWN: Expected = (Outcome.UNKNOWN, None)
POST_FAILED: Expected = (Outcome.POST_FAILED, None)


def fatal(code: ErrorCode) -> Expected:
    return (Outcome.FATAL, code)


def expected(outcome: Outcome, code: ErrorCode | None) -> str:
    return f"{outcome.value} {code.value}" if code is not None else outcome.value


OUTCOMES_SEEN: Counter[str] = Counter()
"""Every call's outcome, over all of a run's examples: the long exploration prints the mix
(``pytest -m explore -s``)."""


@dataclass(frozen=True)
class Call:
    """One call a player makes. ``target``: ``own`` (their pac-man), ``other`` (the next
    player's) or ``blinky``; ``token``: a join resumes with the session token it holds;
    ``stale``: a move resends the number of the player's previous move (a late copy)."""

    action: str
    target: str = "own"
    direction: str = "left"
    kind: str = ":ghost"
    token: bool = False
    stale: bool = False

    def __str__(self) -> str:
        if self.action == "join":
            return "join(token)" if self.token else "join()"
        if self.action == "findAll":
            return f"findAll({self.kind})"
        if self.action == "move":
            return f"move({self.target}, {self.direction}{', stale' if self.stale else ''})"
        return f"{self.action}({self.target})" if self.action in ("find", "remove") else self.action


MOVES = st.builds(
    Call,
    st.just("move"),
    target=st.sampled_from(["own", "own", "other"]),
    direction=st.sampled_from(["up", "down", "left", "right"]),
    stale=st.booleans(),
)
calls = st.one_of(
    MOVES,  # twice: moving pac-men eat, score and keep the board's state changing
    st.builds(Call, st.just("join"), token=st.booleans()),
    st.builds(Call, st.just("find"), target=st.sampled_from(["own", "other", "blinky"])),
    MOVES,
    st.builds(Call, st.just("findAll"), kind=st.sampled_from([":pacman", ":ghost", ":fruti"])),
    st.sampled_from([Call("remove"), Call("ping"), Call("leave")]),
)


@dataclass
class Player:
    """One user, their board, and what the model knows of them. ``None``: not known."""

    user: str
    board: RemoteBoard
    other: str
    offline: str | None = None
    """The id of the client fault that has taken this player's network down."""
    apply_fails: str | None = None
    """The id of the client fault that fails every reply this player applies."""
    opened: bool = False
    """Whether the board has opened a connection (after that, a lost one is resumed)."""
    seq: int = 0
    on_server: bool | None = False
    bound: bool | None = False
    """Whether the server's session of this user is bound to this board's connection."""
    token_ok: bool | None = False
    """Whether the board's session token is the server's."""
    heard_surely: float = -math.inf
    """The server surely heard from the user at or after this time (a call that reached it)."""
    heard_maybe: float = -math.inf
    """The server cannot have heard from the user after this time (the last call's end)."""
    game: str | None = None
    """The session token of the game the score is kept for: a new session is a new game."""
    best: int = 0
    moves: list[tuple[int, str]] = field(default_factory=list)
    """(seq, requestId) of the moves of this game, applied or not."""


@dataclass(frozen=True)
class Done:
    """A call that ended, and what the model allowed it to end in."""

    player: Player
    call: Call
    result: CallResult[Any]
    allowed: frozenset[Expected]
    started: float
    ended: float
    faults: str

    def __str__(self) -> str:
        return (
            f"{self.player.user} {self.call} -> {self.result.describe()} "
            f"(attempts {[a.outcome.value for a in self.result.attempts]}; faults on: "
            f"{self.faults or 'none'}; the model allowed "
            f"{sorted(expected(o, c) for o, c in self.allowed)})"
        )

    @property
    def maybe_applied(self) -> bool:
        return self.result.ok or any(a.outcome is Outcome.UNKNOWN for a in self.result.attempts)


@dataclass(frozen=True)
class World:
    """One way things may stand on the server when a call arrives."""

    on_server: bool
    bound: bool
    token_ok: bool
    other_on: bool


def options(known: bool | None) -> tuple[bool, ...]:
    return (True, False) if known is None else (known,)


def tile_distance(a: tuple[int, int], b: tuple[int, int], width: int) -> int:
    """Tiles between ``a`` and ``b``, through the side tunnel if that is shorter."""
    dx = abs(a[0] - b[0])
    return min(dx, width - dx) + abs(a[1] - b[1])


class PacnetMachine(RuleBasedStateMachine):
    """Players against a real server, with faults switched on and off between their calls."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.home = tempfile.TemporaryDirectory(prefix="pacnet-machine-")
        self.acted = Acted()
        self.config = ServerConfig(
            port=0, layout="small", seed=3, calm=True, state=Path(self.home.name) / "game",
            snapshot_interval=0.5, limits=ServerLimits(
                keepalive_timeout=KEEPALIVE, rate=10_000, burst=10_000
            ),
        )  # fmt: skip
        # Calm: a ghost catches no one, so every NOT_FOUND of one's own pac-man and every
        # lost life would be a bug, not the ghosts' doing, and the model can predict them.
        self.server: BoardServer | None = None
        self.host: asyncio.Task[None] | None = None
        self.stop_host = asyncio.Event()
        self.players: dict[str, Player] = {}
        self.server_faults: list[tuple[str, FaultKind, str | None]] = []
        """(id, kind, action) of the server's faults on, in the order they were added."""
        self.done: list[Done] = []
        self.checked: list[Done] = []
        self.settled = False
        """Nothing has happened since every player last settled (settling again adds nothing)."""

    def run(self, coroutine: Any) -> Any:
        self.settled = False
        return self.loop.run_until_complete(coroutine)

    # --- the server, run as a task of the machine's loop so it ticks whenever the loop runs ---

    async def _serve(self, started: asyncio.Future[BoardServer]) -> None:
        async with running_server(self.config, hooks=(self.acted,)) as server:
            started.set_result(server)
            await self.stop_host.wait()

    async def _start(self) -> BoardServer:
        self.stop_host = asyncio.Event()
        started: asyncio.Future[BoardServer] = self.loop.create_future()
        self.host = self.loop.create_task(self._serve(started))
        await asyncio.wait([started, self.host], return_when=asyncio.FIRST_COMPLETED)
        server = started.result()
        self.server = server
        assert server.url is not None
        if self.config.port == 0:  # restarts come back on the same port
            self.config = replace(self.config, port=int(server.url.rsplit(":", 1)[1]))
        return server

    async def _stop(self) -> None:
        self.stop_host.set()
        if self.host is not None:
            await self.host

    @initialize()
    def everyone_joins_and_sets_off(self) -> None:
        async def start() -> None:
            server = await self._start()
            url = server.url or ""
            for i, user in enumerate(USERS):
                board = RemoteBoard(
                    url, user, policy=POLICY, client_id=f"{user}-c", timeouts=Timeouts(connect=1.0),
                    rng=random.Random(i),  # the same backoffs when a failing run is replayed
                )  # fmt: skip
                self.players[user] = Player(user, board, other=USERS[(i + 1) % len(USERS)])
            await asyncio.gather(*(self._call(p, Call("join")) for p in self.players.values()))
            self.scores_never_go_down()  # the games begin: their moves count from here
            going = [self._call(p, Call("move", direction="right")) for p in self.players.values()]
            await asyncio.gather(*going)  # pac-men that move eat, and their scores grow

        self.run(start())

    def teardown(self) -> None:
        """Close every board and the server, even after a failed step, then the loop."""

        async def close() -> None:
            for player in self.players.values():
                with contextlib.suppress(Exception):
                    await player.board.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(10):
                    await self._stop()

        async def cancel_the_rest() -> None:
            leftover = asyncio.all_tasks() - {asyncio.current_task()}
            for task in leftover:
                task.cancel()
            await asyncio.gather(*leftover, return_exceptions=True)
            await self.loop.shutdown_asyncgens()

        try:
            self.run(close())
            self.run(cancel_the_rest())
        finally:
            self.loop.close()
            self.home.cleanup()

    # --- the model's prediction ---

    def fault_at(self, action: str) -> FaultKind | None:
        """The server fault that strikes ``action`` first: the earliest stage, then the first
        added (at one stage only the first that fires applies)."""
        kinds = [kind for _, kind, on in self.server_faults if on in (None, action)]
        return min(kinds, key=STAGE.__getitem__, default=None)

    def describe_faults(self, player: Player) -> str:
        on = [f"{kind.value}@{action or 'all'}" for _, kind, action in self.server_faults]
        on += [
            f"{name}@{player.user}" for name in ("offline", "apply_fails") if getattr(player, name)
        ]
        return ", ".join(on)

    def may_expire(self, player: Player, action: str) -> bool:
        """Whether the user may be forgotten before a call of ``action`` starting now ends."""
        ends = time.monotonic() + POLICY.deadline_of(action) + ENDS_WITHIN
        return ends - player.heard_surely >= KEEPALIVE

    def worlds(self, player: Player, call: Call, busy: Collection[str]) -> list[World]:
        on_server = player.on_server
        if on_server and self.may_expire(player, call.action):
            on_server = None
        other = self.players[player.other]
        other_on = other.on_server
        if (other_on and self.may_expire(other, call.action)) or other.user in busy:
            other_on = None  # it may expire, or join or leave at this moment
        known = (on_server, player.bound, player.token_ok, other_on)
        return [World(*chosen) for chosen in itertools.product(*map(options, known))]

    def predict(self, player: Player, call: Call, busy: Collection[str]) -> frozenset[Expected]:
        """Every outcome (with its error code) the call may end in, given the faults on."""
        allowed: set[Expected] = set()
        for world in self.worlds(player, call, busy):
            allowed |= self.outcomes_in(world, player, call)
        return frozenset(allowed)

    def outcomes_in(self, world: World, player: Player, call: Call) -> set[Expected]:
        if player.offline:
            return {POST_FAILED}  # nothing leaves the client, whatever the server would say
        action = call.action
        connected = player.board.connected
        bound = world.on_server and world.bound and connected
        token = player.board.session_token
        if not connected and player.opened and action != "join" and token is not None:
            resumed = self.resume(world)  # it reconnects and resumes with its token first
            if resumed is None:
                return {POST_FAILED, UNKNOWN}  # the resume crashed the new connection
            bound = resumed
        kind = self.fault_at(action)
        if kind is FaultKind.CRASH:
            return {POST_FAILED, UNKNOWN}  # every attempt's connection is cut on arrival
        if kind is FaultKind.REJECT:
            return {fatal(ErrorCode.INVALID_MESSAGE)}
        if action != "join":  # LOOKUP_USER comes before the update (and its faults)
            if not world.on_server:
                return {fatal(ErrorCode.USER_NOT_FOUND)}
            if not bound:
                return {fatal(ErrorCode.FORBIDDEN)}
        if kind is FaultKind.UPDATE_FAILS:
            return {(Outcome.RETRYABLE, ErrorCode.STATE_UPDATE_FAILED)}
        refusal = self.refusal(world, player, call, bound)
        if refusal is not None:
            return {fatal(refusal)}
        lost = kind in LOST
        if action == "leave" and (lost or player.apply_fails):
            # Applied, its reply lost; the retry finds the user gone (docs/resilience.md).
            return {UNKNOWN, fatal(ErrorCode.USER_NOT_FOUND)}
        if player.apply_fails or (lost and action not in MUTATIONS):
            return {UNKNOWN}  # a read or ping is run again, and lost again
        if lost:
            return {SUCCESS, UNKNOWN}  # the retry is answered from memory, if it is made
        return {SUCCESS}

    def resume(self, world: World) -> bool | None:
        """How the board's join with its token on a new connection goes: bound, not (a
        definite refusal), or None (the connection was cut)."""
        kind = self.fault_at("join")
        if kind is FaultKind.CRASH:
            return None
        refused = kind in (FaultKind.REJECT, FaultKind.UPDATE_FAILS)
        return not refused and world.on_server and world.token_ok

    def refusal(self, world: World, player: Player, call: Call, bound: bool) -> ErrorCode | None:
        """The definite refusal the action itself makes, if any (the game's checks)."""
        if call.action == "join":
            token = player.board.session_token if call.token else None
            if not world.on_server:
                return ErrorCode.USER_NOT_FOUND if token is not None else None
            if bound:
                return None  # joining again as yourself on your own connection is safe
            return None if token is not None and world.token_ok else ErrorCode.FORBIDDEN
        if call.target == "other" and call.action in ("find", "move"):
            if not world.other_on:
                return ErrorCode.NOT_FOUND
            return ErrorCode.FORBIDDEN if call.action == "move" else None
        if call.action == "findAll" and call.kind == ":fruti":
            return ErrorCode.NOT_FOUND
        return None

    # --- making calls ---

    async def _call(self, player: Player, call: Call, busy: Collection[str] = ()) -> Done:
        allowed = self.predict(player, call, busy)
        faults = self.describe_faults(player)
        started = time.monotonic()
        result = await self._send(player, call)
        done = Done(player, call, result, allowed, started, time.monotonic(), faults)
        player.opened = True
        self._learn(done)
        self.done.append(done)
        OUTCOMES_SEEN[result.outcome.value] += 1
        return done

    async def _send(self, player: Player, call: Call) -> CallResult[Any]:
        board = player.board
        target = "pacman" if call.target == "own" else call.target
        if call.target == "other":
            target = pacman_name(player.other)
        match call.action:
            case "join":
                return await board.join(board.session_token if call.token else None)
            case "find":
                return await board.find(target)
            case "move":
                if call.stale and player.seq > 0:
                    seq = player.seq  # the previous move's number again: a late copy
                else:
                    player.seq += 1
                    seq = player.seq
                result = await board.move(target, call.direction, seq=seq)  # type: ignore[arg-type]
                if call.target == "own":
                    player.moves.append((seq, result.request_id))
                return result
            case "findAll":
                return await board.find_all(call.kind)
            case "remove":
                return await board.remove()
            case "ping":
                return await board.ping()
            case _:
                return await board.leave()

    def _learn(self, done: Done) -> None:
        """What the model learns from a call's end about its player (until the next check,
        which reads the truth from the server)."""
        player, result, action = done.player, done.result, done.call.action
        player.heard_maybe = max(player.heard_maybe, done.ended)
        if action == "leave":
            if done.maybe_applied:
                player.heard_surely = -math.inf  # the session may be gone
            player.on_server = False if result.ok else None
            player.bound = None
            return
        if result.ok or (result.code is ErrorCode.STATE_UPDATE_FAILED and action != "join"):
            player.heard_surely = max(player.heard_surely, done.started)  # got past LOOKUP_USER
        if result.ok:
            player.on_server = player.bound = True
            if action == "join":
                player.token_ok = True
        elif result.code is ErrorCode.USER_NOT_FOUND:
            player.on_server = False
            player.bound = None
        elif result.code is ErrorCode.FORBIDDEN and done.call.target != "other":
            player.bound = False
        elif result.code is None or action == "join":
            player.on_server = player.bound = player.token_ok = None

    async def _calls(self, batch: list[tuple[str, Call]]) -> list[Done]:
        busy = {user for user, call in batch if call.action in ("join", "leave")}
        return list(await asyncio.gather(*(self._call(self.players[u], c, busy) for u, c in batch)))

    # --- rules ---

    @rule(
        batch=st.lists(
            st.tuples(st.sampled_from(USERS), calls), min_size=1, max_size=3,
            unique_by=lambda pair: pair[0],
        )
    )  # fmt: skip
    def players_call(self, batch: list[tuple[str, Call]]) -> None:
        """One call each from up to three players at once."""
        self.run(self._calls(batch))

    @rule(
        kind=st.sampled_from(SERVER_FAULTS),
        action=st.sampled_from(FAULTED_ACTIONS),
    )
    def server_fault_on(self, kind: str, action: str | None) -> None:
        assert self.server is not None
        fault: dict[str, Any] = {"kind": kind}
        if action is not None:
            fault["action"] = action
        if kind == "crash":
            fault["crash"] = "abort"  # the connection dies; the server lives
        fault_id = self.run(switch_on(self.server, **fault))
        self.server_faults.append((fault_id, FaultKind(kind), action))

    @precondition(lambda self: self.server_faults)
    @rule(data=st.data())
    def server_fault_off(self, data: st.DataObject) -> None:
        fault_id, _, _ = data.draw(st.sampled_from(self.server_faults))
        self.run(self._admin("remove", fault_id))
        self.server_faults = [f for f in self.server_faults if f[0] != fault_id]

    async def _admin(self, op: str, *args: str) -> None:
        assert self.server is not None
        assert self.server.url is not None
        async with AdminClient(self.server.url, self.server.admin.token) as admin:
            reply = await (admin.remove(*args) if op == "remove" else admin.clear())
        assert reply.ok, reply.error

    @rule(user=st.sampled_from(USERS), kind=st.sampled_from(["offline", "apply_fails"]))
    def client_fault_toggle(self, user: str, kind: str) -> None:
        """The player's own network goes down (or comes back), or its client starts (or
        stops) failing to apply replies."""
        player = self.players[user]
        faults = player.board.faults
        on = getattr(player, kind)
        if on is not None:
            faults.remove(on)
            setattr(player, kind, None)
        else:
            fault = faults.add(Fault.model_validate({"kind": kind}), self.loop.time())
            setattr(player, kind, fault.id)

    @rule(spell=st.sampled_from([0.1, 0.3, 1.2]), keepers=st.frozensets(st.sampled_from(USERS)))
    def keepalive_gap(self, spell: float, keepers: frozenset[str]) -> None:
        """Nobody calls for ``spell`` keepalive timeouts, but ``keepers`` ping every quarter."""

        async def keep(player: Player, until: float) -> None:
            while time.monotonic() + KEEPALIVE / 4 < until:
                await asyncio.sleep(KEEPALIVE / 4)
                await self._call(player, Call("ping"))

        async def gap() -> None:
            until = time.monotonic() + spell * KEEPALIVE
            await asyncio.gather(*(keep(self.players[u], until) for u in sorted(keepers)))
            await asyncio.sleep(max(0.0, until - time.monotonic()))

        self.run(gap())

    @rule(user=st.sampled_from(USERS))
    def connection_drops(self, user: str) -> None:
        """The player's connection closes; its next call reconnects and resumes."""
        self.run(self.players[user].board.close())

    @rule()
    def server_restarts(self) -> None:
        """A graceful stop and a start on the same port and state file: the game resumes."""

        async def restart() -> None:
            old = self.server
            assert old is not None
            await self._stop()
            began = time.monotonic()
            new = await self._start()
            ended = time.monotonic()
            self.server_faults = []  # the faults switched on are not kept (docs/resilience.md)
            assert {u: s.token for u, s in new.game.sessions.items()} == {
                u: s.token for u, s in old.game.sessions.items()
            }, "a restart keeps every session"
            assert new.game.board.clock == old.game.board.clock, "and the board's clock"
            for kind in (PACMAN, GHOST):
                assert looks(new.game.board.all_of(kind)) == looks(old.game.board.all_of(kind))
            for user in new.game.sessions:
                player = self.players[user]
                player.heard_surely = max(player.heard_surely, began)  # a full window
                player.heard_maybe = max(player.heard_maybe, ended)

        self.run(restart())

    @precondition(lambda self: not self.settled)
    @rule()
    def faults_clear_and_everyone_finds(self) -> None:
        """With every fault cleared, each player settles (joining again if the server forgot
        it) until a ``find`` succeeds; then its view is the server's."""

        async def settle(player: Player) -> FindReply:
            for _ in range(12):
                done = await self._call(player, Call("find"))
                reply = done.result.reply
                if isinstance(reply, FindReply):
                    return reply
                code = done.result.code
                if code is ErrorCode.USER_NOT_FOUND:
                    await self._call(player, Call("join"))
                elif code is ErrorCode.FORBIDDEN:
                    joined = await self._call(player, Call("join", token=True))
                    if not joined.result.ok:  # a session it holds no token of: wait it out
                        await asyncio.sleep(KEEPALIVE / 3)
            raise AssertionError(f"{player.user} never settled: {done}")

        async def converge() -> None:
            await self._admin("clear")
            self.server_faults = []
            for player in self.players.values():
                player.board.faults.clear()
                player.offline = player.apply_fails = None
            for player in self.players.values():
                reply = await settle(player)
                self.sees_the_server(player, reply)

        self.run(converge())
        self.settled = True

    def sees_the_server(self, player: Player, reply: FindReply) -> None:
        assert self.server is not None
        game, board = self.server.game, self.server.game.board
        session = game.sessions.get(player.user)
        assert session is not None, f"{player.user} found its pac-man, yet has no session"
        assert player.board.session_token == session.token, "the client holds its session token"
        assert player.board.pacman == session.pacman == reply.name
        piece = board.get(session.pacman)
        assert piece is not None
        ticks = board.clock - reply.clock
        assert ticks >= 0, "a reply from the future"
        assert (reply.lives, reply.last_seq) == (piece.lives, piece.last_seq)
        if ticks == 0:  # the board has not moved since the reply: exactly the server's
            seen = (reply.x_pos, reply.y_pos, reply.heading, reply.offset, reply.moving)
            assert seen == (piece.x, piece.y, piece.heading, piece.offset, piece.moving)
            assert reply.score == piece.score
        else:  # it moved on: no further than its speed allows, and its score no lower
            reach = math.ceil(board.pacman_speed * ticks / board.tick_rate) + 1
            assert (
                tile_distance((reply.x_pos, reply.y_pos), piece.tile, board.layout.width) <= reach
            )
            assert reply.score is not None
            assert reply.score <= piece.score

    # --- after every step ---

    @invariant()
    def a_player_would_notice_nothing_wrong(self) -> None:
        """Every check, in order, on one settled moment of the server (a tick has passed)."""
        if self.server is None:
            return
        settled = self.settled
        started = self.run(self.the_server_answers())
        self.settled = settled
        self.every_call_ended_as_its_faults_allow()
        self.no_mutation_is_applied_twice()
        self.no_piece_is_inside_a_wall()
        self.scores_never_go_down()
        self.the_keepalive_table_holds_who_was_heard_from(started)
        self.sync()

    async def the_server_answers(self) -> float:
        """The server is up, its tick goes on, and ``/healthz`` says it serves. Returns when
        the check began: a tick (and so a keepalive sweep, when one was due) ran after it."""
        began = time.monotonic()
        assert self.host is not None
        assert not self.host.done(), self.host
        assert self.server is not None
        clock = self.server.game.board.clock
        async with asyncio.timeout(2000 * MS):
            # A whole tick between (the board's clock has no event to wait on: it is polled).
            while self.server.game.board.clock < clock + 2:  # noqa: ASYNC110
                await asyncio.sleep(0.005)
        status, body = await healthz(self.config.port)
        assert (status, body["status"]) == (200, "ok"), body
        return began

    def every_call_ended_as_its_faults_allow(self) -> None:
        """Each call ended in one outcome, the model allowed it, the call did not hang, and
        what the server did agrees: SUCCESS was applied, an error was not."""
        for done in self.done:
            result = done.result
            assert isinstance(result.outcome, Outcome)
            assert (result.reply is not None) == result.ok, done
            definite = result.outcome in (Outcome.RETRYABLE, Outcome.FATAL)
            assert (result.code is not None) == definite, done
            if result.code is not None:
                assert result.code.retryable == (result.outcome is Outcome.RETRYABLE), done
            assert result.attempts, done
            assert result.attempts[-1].outcome is result.outcome, done
            assert result.latency <= POLICY.deadline_of(done.call.action) + ENDS_WITHIN, done
            assert (result.outcome, result.code) in done.allowed, done
            times = self.acted.times[result.request_id]
            if result.ok:
                assert times >= 1, f"SUCCESS, yet the server never acted: {done}"
            elif not done.maybe_applied:
                assert times == 0, f"{result.outcome.value}, yet the server acted: {done}"
            self.replies_fit_the_board(done)
        self.checked += self.done
        self.done = []

    def replies_fit_the_board(self, done: Done) -> None:
        reply = done.result.reply
        if isinstance(reply, JoinReply):
            assert reply.name == pacman_name(done.player.user)
        if isinstance(reply, FindReply):
            assert self.in_the_open(reply.kind, (reply.x_pos, reply.y_pos)), done
        if isinstance(reply, FindAllReply):
            for entity in reply.entities:
                assert self.in_the_open(entity.kind, (entity.x_pos, entity.y_pos)), entity
        if isinstance(reply, MoveReply) and done.call.target == "own":
            (seq,) = [s for s, rid in done.player.moves if rid == done.result.request_id]
            assert reply.last_seq is not None, done
            assert reply.last_seq >= seq, done

    def no_mutation_is_applied_twice(self) -> None:
        """No request that changes the board got past UPDATE_STATE twice (retries are answered
        from memory), and each pac-man's ``lastSeq`` is the highest move applied to it."""
        assert self.server is not None
        for done in self.checked:
            if done.call.action in MUTATIONS:
                assert self.acted.times[done.result.request_id] <= 1, done
        for player in self.players.values():
            piece = self.server.game.board.get(pacman_name(player.user))
            if piece is None or player.game != self.server.game.sessions[player.user].token:
                continue  # a new game: its moves start now (scores_never_go_down resets them)
            applied = [seq for seq, rid in player.moves if self.acted.times[rid] >= 1]
            assert piece.last_seq == max(applied, default=None), (player.user, player.moves)
        self.checked = []

    def in_the_open(self, kind: str, tile: tuple[int, int]) -> bool:
        assert self.server is not None
        layout = self.server.game.board.layout
        inside = 0 <= tile[0] < layout.width and 0 <= tile[1] < layout.height
        blocked = layout.blocks_ghost(tile) if kind == GHOST else layout.blocks_pacman(tile)
        return inside and not blocked

    def no_piece_is_inside_a_wall(self) -> None:
        assert self.server is not None
        board = self.server.game.board
        for kind in (PACMAN, GHOST, ":pellet", ":energizer"):
            for piece in board.all_of(kind):
                assert self.in_the_open(kind, piece.tile), piece
                assert -0.5 <= piece.offset < 0.5, piece

    def scores_never_go_down(self) -> None:
        """Within one game (one session: on a calm board no game ends otherwise), a pac-man's
        score only grows, across restarts too; and there is a pac-man exactly for each user."""
        assert self.server is not None
        game = self.server.game
        pacmen = {p.name for p in game.board.all_of(PACMAN)}
        assert pacmen == {pacman_name(u) for u in game.sessions}, "a pac-man per user"
        for player in self.players.values():
            session = game.sessions.get(player.user)
            piece = game.board.get(pacman_name(player.user))
            if session is None or piece is None:
                continue
            if player.game == session.token:
                assert piece.score >= player.best, (player.user, piece.score, player.best)
            else:
                player.game, player.moves = session.token, []
            player.best = piece.score

    def the_keepalive_table_holds_who_was_heard_from(self, began: float) -> None:
        """A user is in the table exactly when heard from within the timeout.

        The table is swept on the board's tick, at most every ``SWEEP`` (an eighth of the
        timeout): a user silent past the timeout stays until the next sweep, so "not heard
        from" means silent for the timeout plus one sweep before the check began, and the
        check waited for a whole tick after it began (one tick of slack) so a due sweep ran.
        """
        assert self.server is not None
        game = self.server.game
        now = time.monotonic()
        in_table = {u for u in USERS if u in game.keepalive}
        assert in_table == set(game.sessions), "the keepalive table and the sessions agree"
        for player in self.players.values():
            silence = game.keepalive.silence(player.user, now)
            if player.on_server is False:
                assert silence is None, f"{player.user} left or was forgotten, yet is there"
            if now - player.heard_surely < KEEPALIVE:
                assert silence is not None, f"{player.user} was heard from, yet forgotten"
            if silence is None:
                continue
            seen = now - silence
            assert seen >= player.heard_surely - 0.001, "heard no later than it surely was"
            assert seen <= player.heard_maybe + 0.001, "heard after its last call ended"
            assert seen >= began - KEEPALIVE - SWEEP, f"{player.user} silent, yet kept"

    def sync(self) -> None:
        """Learn the truth of each player's session from the server, for the next step."""
        assert self.server is not None
        for player in self.players.values():
            session = self.server.game.sessions.get(player.user)
            player.on_server = session is not None
            player.token_ok = session is not None and player.board.session_token == session.token
            player.bound = (
                session is not None and session.connection is not None and player.board.connected
            )


def looks(pieces: Any) -> dict[str, tuple[Any, ...]]:
    """Every field of each piece, by name: what a restart must bring back."""
    return {p.name: tuple(getattr(p, f) for f in Piece.__dataclass_fields__) for p in pieces}


async def healthz(port: int) -> tuple[int, dict[str, Any]]:
    """The status and JSON body of ``GET /healthz``, within a second."""
    async with asyncio.timeout(1000 * MS):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            status = int((await reader.readline()).split()[1])
            while (await reader.readline()) not in (b"\r\n", b""):
                pass
            body = json.loads(await reader.read())
        finally:
            writer.close()
    return status, body


DEFAULT = settings(
    max_examples=12, stateful_step_count=20, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip
EXPLORE = settings(
    max_examples=60, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip


def test_players_under_faults_restarts_and_gaps_never_see_the_server_break_a_promise() -> None:
    run_state_machine_as_test(PacnetMachine, settings=DEFAULT)


@pytest.mark.explore
@pytest.mark.timeout(3600)
def test_a_long_exploration_of_players_under_faults_restarts_and_gaps() -> None:
    OUTCOMES_SEEN.clear()
    run_state_machine_as_test(PacnetMachine, settings=EXPLORE)
    print(f"\ncalls by outcome: {dict(OUTCOMES_SEEN.most_common())}")
