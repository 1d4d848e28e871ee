"""``pacnet demo``: the article's Pac-Man loop, headless, over a remote board.

    board.move(pacman, user.joystickDirection())
    ghosts = board.findAll(":ghost")
    for (ghost in ghosts)
      if board.overlaps(pacman, ghost)
        user.slayBy(":ghost")
        board.remove(pacman)

Each iteration also asks ``find("pacman")`` first, so all four calls appear. Every call
prints one line (action, outcome, latency); the run ends with the four calls by the five
outcomes. The joystick is a reckless player who mostly heads for the nearest ghost, so
collisions (and ``remove``) happen within a short run.
"""

import asyncio
import random
from dataclasses import dataclass

from rich.console import Console

from pacnet.client.play import CATCHING
from pacnet.client.remote import CallResult, RemoteBoard
from pacnet.client.report import call_line, outcome_table
from pacnet.client.tally import OutcomeTally
from pacnet.demo.settings import DemoSettings
from pacnet.protocol.models import OWN_PACMAN, Direction, Entity, OkReply
from pacnet.protocol.outcome import Outcome

GIVE_UP_AFTER = 3
"""Iterations in a row without a single success after which the demo stops trying."""


@dataclass
class DemoReport:
    tally: OutcomeTally
    iterations: int
    deaths: int
    last_failure: CallResult[OkReply] | None

    @property
    def successes(self) -> int:
        return self.tally.total(outcome=Outcome.SUCCESS)


class RecklessJoystick:
    """Mostly steers toward the nearest ghost; sometimes wanders off at random."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def direction(self, me: tuple[int, int] | None, ghosts: tuple[Entity, ...]) -> Direction:
        if me is None or not ghosts or self._rng.random() < 0.15:
            return self._rng.choice(("up", "down", "left", "right"))
        x, y = me
        ghost = min(ghosts, key=lambda g: abs(g.x_pos - x) + abs(g.y_pos - y))
        dx, dy = ghost.x_pos - x, ghost.y_pos - y
        if abs(dx) >= abs(dy) and dx:
            return "right" if dx > 0 else "left"
        return "down" if dy > 0 else "up"


def overlaps(me: tuple[int, int], ghost: Entity) -> bool:
    """The article's ``board.overlaps``: on the same tile as a ghost that can catch it (as the
    window's and the bots' loop decides, pacnet/client/play.py)."""
    return ghost.state in CATCHING and me == (ghost.x_pos, ghost.y_pos)


async def run_demo(
    url: str,
    settings: DemoSettings,
    console: Console,
) -> DemoReport:
    """Play the article's loop against ``url``, printing every call to ``console``."""
    rng = random.Random(settings.seed)
    user_id = settings.user_id or str(rng.randrange(1_000_000, 10_000_000))
    joystick = RecklessJoystick(rng)
    me: tuple[int, int] | None = None
    ghosts: tuple[Entity, ...] = ()
    deaths, fruitless, last_failure = 0, 0, None
    console.print(f"pacnet demo: user {user_id} on {url}")

    async with RemoteBoard(url, user_id, timeouts=settings.timeouts) as board:

        def show(turn: int, result: CallResult[OkReply], detail: str = "") -> None:
            nonlocal last_failure
            console.print(call_line(turn, result, detail), soft_wrap=True)
            if not result.ok:
                last_failure = result

        joined = await board.join()
        show(0, joined, f"{joined.reply.name}" if joined.reply else "")

        turn = 0
        for turn in range(1, settings.iterations + 1):
            before = board.tally.total(outcome=Outcome.SUCCESS)

            where = await board.find(OWN_PACMAN)
            if where.reply:
                me = (where.reply.x_pos, where.reply.y_pos)
            show(turn, where, f"at {me}")

            moved = await board.move(OWN_PACMAN, joystick.direction(me, ghosts))
            if moved.reply:
                me = (moved.reply.x_pos, moved.reply.y_pos)
            show(turn, moved, f"now at {me}")

            found = await board.find_all(":ghost")
            if found.reply:
                ghosts = found.reply.entities
            show(turn, found, ", ".join(f"{g.name}@({g.x_pos},{g.y_pos})" for g in ghosts))

            slayer = next((g for g in ghosts if me and overlaps(me, g)), None)
            if found.ok and slayer is not None:
                removed = await board.remove(OWN_PACMAN)
                show(
                    turn,
                    removed,
                    f"slain by {slayer.name}; removed={removed.reply and removed.reply.removed}",
                )
                deaths += 1
                rejoined = await board.join()
                show(turn, rejoined, "back on the board")
                me = None

            fruitless = fruitless + 1 if board.tally.total(outcome=Outcome.SUCCESS) == before else 0
            if fruitless >= GIVE_UP_AFTER:
                console.print(f"giving up after {fruitless} turns without a single success")
                break
            await asyncio.sleep(settings.interval)

        if board.connected:
            await board.leave()

    console.print()
    console.print(outcome_table(board.tally))
    return DemoReport(board.tally, turn, deaths, last_failure)
