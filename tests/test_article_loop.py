"""The article loop the window and the bots share (pacnet/client/play.py), against a real server."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from pacnet.client.play import article_loop
from pacnet.client.remote import RemoteBoard
from pacnet.client.view import View
from pacnet.protocol.models import Direction, GhostState
from pacnet.server.net import BoardServer
from tests.conftest import StartServer, ghost_at_start


@asynccontextmanager
async def playing(
    server: BoardServer, user: str, joystick: Callable[[], Direction | None], *, others: bool
) -> AsyncIterator[tuple[RemoteBoard, View]]:
    assert server.url is not None
    async with RemoteBoard(server.url, user) as board:
        joined = await board.join()
        assert joined.reply is not None
        view = View.joined(joined.reply)
        task = asyncio.create_task(
            article_loop(board, view, joystick, lambda result: None, others=others)
        )
        try:
            yield board, view
        finally:
            task.cancel()


async def until(condition: Callable[[], bool], seconds: float = 3.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while not condition():
        assert loop.time() < end, "not within the time"
        await asyncio.sleep(0.02)


async def test_the_window_sees_every_pac_man_and_a_bot_only_its_own(
    start_server: StartServer,
) -> None:
    server = await start_server()
    async with (
        playing(server, "1001", lambda: None, others=True) as (window, seen_all),
        playing(server, "1002", lambda: None, others=False) as (bot, seen_own),
    ):
        await until(lambda: len(seen_all.latest.pieces) == 4 + 2)
        await until(lambda: seen_own.mine() is not None)
        assert seen_own.latest.pieces.keys() == {*seen_all.latest.pieces} - {window.pacman}
        assert bot.tally.total("find") > 0
        assert window.tally.total("find") == 0


async def test_a_caught_bot_stops_steering_until_its_pac_man_is_back(
    start_server: StartServer,
) -> None:
    server = await start_server()
    async with playing(server, "1003", lambda: "left", others=False) as (board, view):
        await until(lambda: board.tally.total("move") > 2)
        assert server.game.board.lose_life(board.pacman)  # a ghost caught it
        await until(lambda: view.mine() is None)
        moves = board.tally.total("move")
        await asyncio.sleep(0.5)  # off the board for 1.5 s: nothing to steer meanwhile
        assert board.tally.total("move") == moves
        await until(lambda: view.mine() is not None, seconds=3.0)
        await until(lambda: board.tally.total("move") > moves)
        mine = view.mine()
        assert mine is not None
        assert mine.lives == 2


@pytest.mark.parametrize(
    ("state", "caught"),
    [
        pytest.param("normal", True, id="a-normal-ghost-catches"),
        pytest.param("frightened", False, id="a-frightened-ghost-is-eaten-not-removed-for"),
        pytest.param("eyes", False, id="eyes-are-harmless"),
    ],
)
async def test_only_a_ghost_that_can_catch_makes_the_loop_remove_its_pac_man(
    start_server: StartServer, state: GhostState, caught: bool
) -> None:
    # A board that ticks every 5 s: the server's referee (which eats a frightened ghost and
    # leaves its eyes on the tile) stays out of the way, so what happens is the loop's doing.
    server = await start_server(tick_rate=0.2)
    ghost_at_start(server, state)
    async with playing(server, "1004", lambda: None, others=False) as (remote, _):
        await until(lambda: remote.tally.total("findAll") > 3)
        assert remote.tally.total("remove") == (1 if caught else 0)
        assert server.game.board.pacman_status(remote.pacman) == (
            "caught" if caught else "on the board"
        )
