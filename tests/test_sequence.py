"""Numbered moves: the server acknowledges the highest move it applied (``lastSeq``) and
ignores one it has already overtaken, so a late input cannot undo a newer one."""

import asyncio

from pacnet.client.remote import RemoteBoard
from pacnet.faults.admin import AdminClient
from pacnet.protocol.outcome import Outcome
from pacnet.proxy.config import ProxyConfig
from pacnet.proxy.relay import running_proxy
from tests.conftest import MS, StartServer

ME = "8765309"


async def test_a_numbered_move_is_acknowledged_in_its_reply_and_in_snapshots(
    start_server: StartServer,
) -> None:
    server = await start_server()
    async with RemoteBoard(server.url or "", ME) as board:
        assert (await board.join()).ok
        moved = await board.move("pacman", "right", seq=1)
        seen = await board.find_all(":pacman")
        plain = await board.find()
    assert moved.reply is not None
    assert moved.reply.last_seq == 1
    assert seen.reply is not None
    (me,) = seen.reply.entities
    assert me.last_seq == 1
    assert plain.reply is not None
    assert plain.reply.last_seq == 1


async def test_a_move_older_than_one_applied_is_acknowledged_and_ignored(
    start_server: StartServer,
) -> None:
    server = await start_server()
    async with RemoteBoard(server.url or "", ME) as board:
        assert (await board.join()).ok
        newer = await board.move("pacman", "right", seq=2)
        older = await board.move("pacman", "left", seq=1)
    pacman = server.game.board.get(f"pacman-{ME}")
    assert pacman is not None
    assert newer.ok
    assert older.ok  # not an error: the input was simply overtaken
    assert older.reply is not None
    assert older.reply.last_seq == 2
    assert pacman.wanted == "right"


async def test_unnumbered_moves_are_applied_as_they_come(start_server: StartServer) -> None:
    server = await start_server()
    async with RemoteBoard(server.url or "", ME) as board:
        assert (await board.join()).ok
        moved = await board.move("pacman", "right")
        again = await board.move("pacman", "left")
    assert moved.reply is not None
    assert moved.reply.last_seq is None
    assert again.ok
    pacman = server.game.board.get(f"pacman-{ME}")
    assert pacman is not None
    assert pacman.wanted == "left"


async def test_a_move_the_network_held_up_cannot_undo_the_one_after_it(
    start_server: StartServer,
) -> None:
    """The player pressed left, then right; the network held "left" back for 300 ms. Without
    numbers the server would steer right, then left: the player's last input lost."""
    server = await start_server()
    assert server.url is not None
    async with running_proxy(ProxyConfig(port=0, upstream=server.url, seed=1)) as proxy:
        assert proxy.url is not None
        async with (
            RemoteBoard(proxy.url, ME) as board,
            AdminClient(proxy.url, proxy.admin.token) as admin,
        ):
            assert (await board.join()).ok
            hold = {"kind": "delay", "direction": "request", "action": "move", "delayMs": 300,
                    "count": 1}  # fmt: skip
            assert (await admin.add(hold)).ok
            late = asyncio.create_task(board.move("pacman", "left", seq=1))
            await asyncio.sleep(50 * MS)
            assert (await board.move("pacman", "right", seq=2)).ok
            held = await late
            await asyncio.sleep(400 * MS)  # the held move has long arrived
    pacman = server.game.board.get(f"pacman-{ME}")
    assert pacman is not None
    assert held.outcome in (Outcome.SUCCESS, Outcome.UNKNOWN)
    assert pacman.wanted == "right"
    assert pacman.last_seq == 2
