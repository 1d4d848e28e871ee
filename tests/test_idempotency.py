"""A retry with the same requestId is answered, not run again: the server remembers the
replies to recent mutations per user (``pacnet/server/idempotency.py``). Real server, real frames."""

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import connect

from pacnet.client.remote import RemoteBoard
from pacnet.client.timeouts import Timeouts
from pacnet.protocol.codec import read_request
from pacnet.protocol.errors import ErrorCode
from pacnet.protocol.models import FindReply, RequestFields
from pacnet.protocol.outcome import Outcome
from pacnet.server.idempotency import IdempotencyCache
from tests.conftest import MS, Acted, StartServer, switch_on

ME = "8765309"


def frame(request_id: str, action: str, user: str = ME, **fields: Any) -> str:
    message = {"v": 1, "requestId": request_id, "userId": user, "action": action, **fields}
    return json.dumps(message)


async def ask(ws: Any, raw: str, *, wait: float = 2000 * MS) -> dict[str, Any] | None:
    """Send ``raw``; its reply, or None when none comes within ``wait`` seconds."""
    await ws.send(raw)
    try:
        async with asyncio.timeout(wait):
            reply: dict[str, Any] = json.loads(await ws.recv())
            return reply
    except TimeoutError:
        return None


async def test_a_move_whose_reply_was_lost_is_answered_again_not_run_again(
    start_server: StartServer,
) -> None:
    acted = Acted()
    server = await start_server(hooks=(acted,))
    async with connect(server.url or "") as ws:
        assert (await ask(ws, frame("j", "join")) or {})["status"] == "ok"
        await switch_on(server, kind="no_reply", action="move", count=1)
        move = frame("m1", "move", name="pacman", direction="right")
        assert await ask(ws, move, wait=300 * MS) is None  # UNKNOWN: did it happen?
        await asyncio.sleep(200 * MS)  # the board ticks on
        retried = await ask(ws, move)
    assert retried is not None
    assert retried["status"] == "ok"
    assert acted.times["m1"] == 1  # run once
    assert retried["clock"] == acted.clock["m1"]  # the first reply, clock and all
    assert retried["clock"] < server.game.board.clock


async def test_a_remove_retried_after_unknown_takes_one_life_and_says_it_did(
    start_server: StartServer,
) -> None:
    server = await start_server()
    async with connect(server.url or "") as ws:
        assert (await ask(ws, frame("j", "join")) or {})["status"] == "ok"
        pacman = server.game.board.get(f"pacman-{ME}")
        assert pacman is not None
        await switch_on(server, kind="no_reply", action="remove", count=1)
        remove = frame("r1", "remove", name="pacman")
        assert await ask(ws, remove, wait=300 * MS) is None
        retried = await ask(ws, remove)
        fresh = await ask(ws, frame("r2", "remove", name="pacman"))
    assert retried is not None
    assert fresh is not None
    assert retried["removed"] is True  # the first answer: it was removed by the first try
    assert fresh["removed"] is False  # a new remove finds it already off the board
    assert pacman.lives == 2  # one life, not two


async def test_a_requestid_reused_for_another_request_is_refused_for_good(
    start_server: StartServer,
) -> None:
    server = await start_server()
    async with connect(server.url or "") as ws:
        await ask(ws, frame("j", "join"))
        assert (await ask(ws, frame("m1", "move", name="pacman", direction="right")) or {})[
            "status"
        ] == "ok"
        pacman = server.game.board.get(f"pacman-{ME}")
        assert pacman is not None
        reused = await ask(ws, frame("m1", "move", name="pacman", direction="up"))
    assert reused is not None
    assert reused["error"]["code"] == ErrorCode.REQUEST_ID_REUSED.value
    assert reused["error"]["retryable"] is False
    assert "already used for a different move" in reused["error"]["message"]
    assert pacman.wanted == "right"  # the second move was not applied


async def test_another_users_equal_requestid_is_a_new_request(start_server: StartServer) -> None:
    acted = Acted()
    server = await start_server(hooks=(acted,))
    async with connect(server.url or "") as alice, connect(server.url or "") as bob:
        await ask(alice, frame("j", "join", user="alice"))
        await ask(bob, frame("j", "join", user="bob"))
        a = await ask(alice, frame("same", "move", user="alice", name="pacman", direction="left"))
        b = await ask(bob, frame("same", "move", user="bob", name="pacman", direction="left"))
    assert a is not None
    assert b is not None
    assert a["status"] == b["status"] == "ok"
    assert acted.times["same"] == 2  # once for each user


async def test_a_repeat_sent_before_the_first_reply_came_back_is_run_once(
    start_server: StartServer,
) -> None:
    """Two copies in flight at once, as a network that duplicates or a hasty retry sends them."""
    acted = Acted()
    server = await start_server(hooks=(acted,))
    async with connect(server.url or "") as ws:
        await ask(ws, frame("j", "join"))
        move = frame("m1", "move", name="pacman", direction="left")
        await asyncio.gather(ws.send(move), ws.send(move))
        async with asyncio.timeout(2000 * MS):
            first, second = json.loads(await ws.recv()), json.loads(await ws.recv())
    assert first == second  # the very same reply, clock included
    assert acted.times["m1"] == 1


async def test_a_resumed_session_gets_its_earlier_replies_a_stranger_does_not(
    start_server: StartServer,
) -> None:
    server = await start_server()
    url = server.url or ""
    async with connect(url) as first:
        joined = await ask(first, frame("j1", "join"))
        assert joined is not None
        await switch_on(server, kind="no_reply", action="move", count=1)
        assert (
            await ask(first, frame("m1", "move", name="pacman", direction="up"), wait=0.3) is None
        )
    async with connect(url) as stranger:  # no token: the same join id is not theirs to repeat
        refused = await ask(stranger, frame("j1", "join"))
    async with connect(url) as resumed:
        assert (await ask(resumed, frame("j2", "join", token=joined["sessionToken"])) or {})[
            "status"
        ] == "ok"
        repeat = await ask(resumed, frame("m1", "move", name="pacman", direction="up"))
    assert refused is not None
    assert refused["error"]["code"] == ErrorCode.FORBIDDEN.value
    assert repeat is not None
    assert repeat["status"] == "ok"


async def test_the_articles_sequence_find_then_an_unknown_move_then_find_again(
    start_server: StartServer,
) -> None:
    """`find` ok, `move` UNKNOWN, `find` again: the second find is how the client learns
    that the move it could not confirm was applied (docs/resilience.md)."""
    server = await start_server()
    async with RemoteBoard(server.url or "", ME, timeouts=Timeouts(reply=300 * MS)) as board:
        assert (await board.join()).ok
        before = await board.find()
        await switch_on(server, kind="no_reply", action="move", count=1)
        moved = await board.move("pacman", "right")
        await asyncio.sleep(300 * MS)  # five ticks' worth of the server's clock at least
        after = await board.find()
    assert before.outcome is Outcome.SUCCESS
    assert moved.outcome is Outcome.UNKNOWN
    assert after.outcome is Outcome.SUCCESS
    assert isinstance(before.reply, FindReply)
    assert isinstance(after.reply, FindReply)
    assert after.reply.heading == "right"  # the move happened
    assert after.reply.x_pos > before.reply.x_pos
    assert after.reply.clock > before.reply.clock


def test_the_cache_keeps_a_bounded_number_of_recent_replies_per_user() -> None:
    cache = IdempotencyCache(per_user=2, max_age=10.0)

    def move(request_id: str) -> RequestFields:
        return read_request(frame(request_id, "move", name="pacman", direction="up"))

    for n, at in ((1, 0.0), (2, 1.0), (3, 2.0)):
        cache.put(move(f"m{n}"), {"n": n}, at)
    assert cache.get(move("m1"), 2.0) is None  # pushed out: two per user
    assert cache.get(move("m3"), 2.0) is not None
    assert cache.get(move("m2"), 11.5) is None  # too old to remember
    cache.forget(ME)
    assert len(cache) == 0


@pytest.mark.parametrize("action", ["find", "findAll"])
def test_reads_are_not_remembered(action: str) -> None:
    cache = IdempotencyCache()
    fields = {"name": "pacman"} if action == "find" else {"kind": ":pellet"}
    request = read_request(frame("f", action, **fields))
    cache.put(request, {"big": "reply"}, 0.0)
    assert cache.get(request, 0.0) is None


async def test_a_join_says_whether_it_resumed_and_with_what_score_and_lives(
    start_server: StartServer,
) -> None:
    server = await start_server()
    url = server.url or ""
    async with connect(url) as first:
        fresh = await ask(first, frame("j1", "join"))
        assert fresh is not None
        pacman = server.game.board.get(f"pacman-{ME}")
        assert pacman is not None
        pacman.score = 120  # it ate twelve pellets
        assert (await ask(first, frame("r1", "remove", name="pacman")) or {})["removed"] is True
    async with connect(url) as second:
        resumed = await ask(second, frame("j2", "join", token=fresh["sessionToken"]))
    assert (fresh["resumed"], fresh["score"], fresh["lives"]) == (False, 0, 3)
    assert resumed is not None
    assert (resumed["resumed"], resumed["score"], resumed["lives"]) == (True, 120, 2)
    assert resumed["name"] == fresh["name"]
