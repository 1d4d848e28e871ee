"""One case of the matrix: a scenario, played once, with one of its calls made to end in one
outcome by a real fault, against a real server of its own behind a chaos proxy of its own.

The player is pacnet's own client: a ``RemoteBoard`` with the window's and the bots' retry
policy, joined as ``pacnet play`` joins, then the article's loop
(``pacnet.client.play.article_loop``, the bots' way: ``find`` our own pac-man) for the
scenario's turns. The matrix only presses the joystick and reads the board afterwards.
"""

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pacnet.chaos.switchboard import AdminSwitchboard, Target
from pacnet.client.play import article_loop
from pacnet.client.remote import CallResult, RemoteBoard
from pacnet.client.retry import DEFAULT_RETRIES
from pacnet.client.view import View
from pacnet.faults.spec import Domain
from pacnet.matrix.board import Runs, place_ghost, set_lives, truth
from pacnet.matrix.judge import Observed, judge
from pacnet.matrix.provoke import Provocation, Reaction, Way, provoke, reaction
from pacnet.matrix.scenarios import End, Scenario
from pacnet.protocol.models import Direction, OkReply
from pacnet.protocol.outcome import Outcome
from pacnet.proxy.config import ProxyConfig
from pacnet.proxy.relay import running_proxy
from pacnet.server import embedded

PLAYER = "p1"
"""Our player's userId: the one every fault is aimed at."""
SEED = 1
"""The board's seed: every case of a scenario starts from the same board."""
STANDING_STILL = 0.001
"""Ticks a second of a board that does not tick while a scenario plays (one in 1,000 s)."""


@dataclass(frozen=True)
class Case:
    """A scenario, with ``call`` made to end an outcome one ``way``."""

    scenario: Scenario
    call: str
    way: Way

    @property
    def outcome(self) -> Outcome:
        return self.way.outcome

    @property
    def id(self) -> str:
        """E.g. ``pellet-move-UNKNOWN-reply-dropped``, ``pellet-move-SUCCESS``."""
        name = f"{self.scenario.name}-{self.call}-{self.outcome.value}"
        return f"{name}-{self.way.name}" if self.way.name else name


@dataclass(frozen=True)
class CaseResult:
    case: Case
    provocation: Provocation
    expected: Reaction
    end: End
    observed: Observed
    reasons: tuple[str, ...]
    seconds: float

    @property
    def passed(self) -> bool:
        return not self.reasons

    def did(self) -> str:
        """What the client did, in one line: its attempts and the server's runs."""
        attempts = self.observed.attempts
        if attempts is None:
            return f"never called {self.case.call}"
        runs = self.observed.server_runs
        return f"{' -> '.join(a.value for a in attempts)}; the server ran it {runs}x"


class Finished(Exception):
    """The scenario's turns are over: the joystick ends the loop."""


@dataclass
class Joystick:
    """The player: steers once, when it sees its pac-man, and ends the loop after ``turns``.
    ``on_turn`` runs at each turn's start with the turn steered on (the ghost comes)."""

    view: View
    steer: Direction | None
    turns: int
    on_turn: Callable[[int | None], None] = lambda steered: None
    turn: int = 0
    steered: int | None = None

    def __call__(self) -> Direction | None:
        self.turn += 1
        if self.turn > self.turns:
            raise Finished
        self.on_turn(self.steered)
        if self.steer is None or self.steered is not None or self.view.mine() is None:
            return None
        self.steered = self.turn
        return self.steer


@dataclass
class Player:
    """One client on the board, and every call it made."""

    board: RemoteBoard
    calls: list[CallResult[OkReply]] = field(default_factory=list)
    view: View | None = None

    def first(self, action: str) -> CallResult[OkReply] | None:
        return next((c for c in self.calls if c.action == action), None)

    async def join(self) -> bool:
        joined = await self.board.join()
        self.calls.append(joined)
        if joined.reply is None:  # as `pacnet play`: the policy retried what may help
            return False
        self.view = View.joined(joined.reply, predict=False)
        return True

    async def play(self, joystick: Joystick) -> None:
        assert self.view is not None
        with contextlib.suppress(Finished):
            await article_loop(self.board, self.view, joystick, self.calls.append, others=False)


async def run_case(case: Case, maze: Path, *, index: int = 0) -> CaseResult:
    """Play ``case`` on a server of its own, started on 127.0.0.1 on a free port, through a
    chaos proxy of its own in front of it (every client connects through the proxy)."""
    started = time.perf_counter()
    scenario = case.scenario
    config = embedded.ServerConfig(
        port=0, layout=str(maze), seed=SEED, ping_interval=None,
        tick_rate=60.0 if scenario.ticking else STANDING_STILL,
        # No shedding: each case's outcome is the fault's, never a busy machine's OVERLOADED.
        limits=embedded.ServerLimits(max_wait=0.0, overload_wait=0.0),
    )  # fmt: skip
    runs = Runs()
    provocation = provoke(case.call, case.way, PLAYER)
    async with contextlib.AsyncExitStack() as stack:
        server = await stack.enter_async_context(embedded.running_server(config, hooks=(runs,)))
        assert server.url is not None
        # Seeded by the case: a corrupted request is damaged the same way on every run.
        proxy = await stack.enter_async_context(
            running_proxy(ProxyConfig(port=0, upstream=server.url, seed=index))
        )
        assert proxy.url is not None
        ghost = scenario.ghost
        if ghost is not None and ghost.arrives == "before the join":
            place_ghost(server, ghost)
        us = Player(_board(proxy.url, PLAYER, index))
        # No flag gives these tokens: the matrix reads them off the components it started.
        switchboard = AdminSwitchboard(
            Target("server", server.url, server.admin.token, token_flag=""),
            Target("proxy", proxy.url, proxy.admin.token, token_flag=""),
        )
        await _switch_on(provocation, us.board, switchboard)
        others = [
            Player(_board(proxy.url, f"p{n + 2}", index)) for n in range(len(scenario.others))
        ]
        async with us.board:
            if await us.join():
                assert us.view is not None
                assert us.board.pacman is not None
                if scenario.lives is not None:
                    set_lives(server, us.board.pacman, scenario.lives)

                def arrive(steered: int | None) -> None:
                    if ghost is not None and ghost.arrives == "after the move" and steered:
                        place_ghost(server, ghost)

                loops = [us.play(Joystick(us.view, scenario.steer, scenario.turns, arrive))]
            else:
                loops = []
            for other, steer in zip(others, scenario.others, strict=True):
                if await other.join():
                    assert other.view is not None
                    loops.append(other.play(Joystick(other.view, steer, scenario.turns)))
            await asyncio.gather(*loops)
            for other in others:
                await other.board.close()
            ended = truth(server, us.board.pacman)
    faulted = us.first(case.call)
    mine = us.view.mine() if us.view is not None else None
    observed = Observed(
        attempts=_attempts(faulted) if faulted is not None else None,
        server_runs=runs.times[faulted.request_id] if faulted is not None else 0,
        truth=ended,
        seen=(mine.x_pos, mine.y_pos) if mine is not None else None,
        removes=sum(c.action == "remove" for c in us.calls),
    )
    expected = reaction(case.call, case.way)
    end = scenario.end_of(case.call, case.outcome)
    reasons = judge(case.call, expected, end, observed)
    return CaseResult(
        case, provocation, expected, end, observed, reasons, time.perf_counter() - started
    )


def _board(url: str, user: str, index: int) -> RemoteBoard:
    """A player's board: the retry policy the window and the bots use, its jitter seeded."""
    return RemoteBoard(
        url, user, policy=DEFAULT_RETRIES, client_id=f"{user}c{index}",
        rng=random.Random(index),
    )  # fmt: skip


async def _switch_on(
    provocation: Provocation, board: RemoteBoard, switchboard: AdminSwitchboard
) -> None:
    """Switch the case's fault on in its own domain: the client's on its board, the
    server's and the network's through ``pacnet chaos``'s switchboard (``SwitchError`` if
    one refuses it)."""
    fault = provocation.fault
    if fault is None:
        return
    if fault.domain is Domain.CLIENT:
        board.faults.add(fault, asyncio.get_running_loop().time())
    else:
        await switchboard.add(fault)


def _attempts(result: CallResult[OkReply]) -> tuple[Outcome, ...]:
    """Every attempt's outcome (a call without retries was its one attempt)."""
    return tuple(a.outcome for a in result.attempts) or (result.outcome,)
