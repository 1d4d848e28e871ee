"""The window's network side: the article's loop over the remote board, as an async task.

    board.move(pacman, joystick direction)
    ghosts = board.findAll(":ghost")
    for ghost in ghosts: if overlaps(pacman, ghost): board.remove(pacman)

It never blocks the frame loop: it runs on the same event loop, awaits each call (each has
its deadline), and leaves what it learns in a ``View`` the frames draw from.
"""

import asyncio
import itertools
import time
from collections.abc import Callable

from pacnet.client.remote import CallResult, RemoteBoard
from pacnet.client.view import View
from pacnet.protocol.errors import ErrorCode
from pacnet.protocol.models import (
    OWN_PACMAN,
    Direction,
    Entity,
    FindAllReply,
    FindReply,
    GhostState,
    OkReply,
)

INPUT_INTERVAL = 0.1
"""Seconds between turns of the loop: 10 turns a second, about 35 calls a second with the
food refresh, under the server's default 50 a second per user."""
FOOD_INTERVAL = 0.5
"""Seconds between refreshes of the pellets and energizers (they only ever disappear)."""


def noticed(view: View, result: CallResult[OkReply], now: float) -> None:
    """USER_NOT_FOUND: the server gave up on us (our keepalive expired). The loop joins
    again at its next turn; the window says what happened meanwhile."""
    if result.code is ErrorCode.USER_NOT_FOUND and view.given_up_at is None:
        view.given_up_at = view.last_given_up = now


CATCHING: frozenset[GhostState | None] = frozenset({None, "normal"})
"""The ghost states that catch a pac-man (the server's referee, pacnet/server/board.py): a
frightened ghost is eaten instead, eyes are harmless. The page's overlaps (game.js) is the same."""


def overlaps(me: Entity, ghost: Entity) -> bool:
    """The article's ``board.overlaps``: on the same tile as a ghost that can catch it, not one
    it may eat or the eyes of one it ate (a ``remove`` then would cost a life for nothing)."""
    return ghost.state in CATCHING and (me.x_pos, me.y_pos) == (ghost.x_pos, ghost.y_pos)


async def article_loop(
    board: RemoteBoard,
    view: View,
    joystick: Callable[[], Direction | None],
    report: Callable[[CallResult[OkReply]], None],
    *,
    others: bool = True,
) -> None:
    """Play until cancelled: steer, look at the ghosts and pac-men, remove on a collision.

    ``others``: look at every pac-man (``findAll :pacman``), as the window does to draw the
    other players; without, only at our own (``find pacman``), as the article's loop does. A
    fleet of bots needs the latter: each of N bots reading all N pac-men ten times a second
    costs the server N squared entities a tenth of a second.
    """
    loop = asyncio.get_running_loop()
    next_food = 0.0
    # Moves are numbered, so the server can ignore one the network delivers after a newer
    # one. Counting from the wall clock in ms keeps the numbers rising across restarts of
    # the window too, should a session be resumed.
    moves = itertools.count(int(time.time() * 1000))

    def seen(result: CallResult[OkReply]) -> None:
        report(result)
        noticed(view, result, loop.time())

    while True:
        if view.rejoin or view.given_up_at is not None:
            view.rejoin = False
            joined = await board.join()
            report(joined)
            if joined.ok:
                view.last_lives = None
                if view.given_up_at is not None:
                    view.rejoins += 1
                    view.given_up_at = None
        direction = joystick()
        if direction is not None and view.mine() is not None:  # nothing to steer while caught
            seq = next(moves)
            view.steered(seq, direction, loop.time())
            moved = await board.move(OWN_PACMAN, direction, seq=seq)
            view.settled(seq, moved.outcome, moved.reply.clock if moved.reply else None)
            seen(moved)
        ghosts = await board.find_all(":ghost")
        pacmen = await (board.find_all(":pacman") if others else board.find(OWN_PACMAN))
        seen(ghosts)
        seen(pacmen)
        seeing = _pacmen(pacmen)
        if ghosts.reply is not None and seeing is not None:
            clock = (pacmen.reply or ghosts.reply).clock  # when our pac-man was where it is
            view.update(loop.time(), [*ghosts.reply.entities, *seeing], clock)
            view.level = ghosts.reply.level or view.level
            me = next((p for p in seeing if p.name == board.pacman), None)
            if me is not None and any(overlaps(me, ghost) for ghost in ghosts.reply.entities):
                seen(await board.remove(OWN_PACMAN))
        if loop.time() >= next_food:
            next_food = loop.time() + FOOD_INTERVAL
            await _refresh_food(board, view, seen)
        await asyncio.sleep(INPUT_INTERVAL)


def _pacmen(result: CallResult[FindAllReply] | CallResult[FindReply]) -> list[Entity] | None:
    """The pac-men a findAll or a find saw (None: it did not see). A find of our own that
    says NOT_FOUND saw something too: our pac-man is off the board (caught, or game over)."""
    reply = result.reply
    if isinstance(reply, FindAllReply):
        return list(reply.entities)
    if isinstance(reply, FindReply):
        return [Entity.model_validate(reply.model_dump(include=set(Entity.model_fields)))]
    return [] if result.code is ErrorCode.NOT_FOUND else None


async def _refresh_food(
    board: RemoteBoard, view: View, report: Callable[[CallResult[OkReply]], None]
) -> None:
    pellets = await board.find_all(":pellet")
    energizers = await board.find_all(":energizer")
    report(pellets)
    report(energizers)
    if pellets.reply is not None and energizers.reply is not None:
        entities = [*pellets.reply.entities, *energizers.reply.entities]
        view.food = {e.name: e for e in entities}
