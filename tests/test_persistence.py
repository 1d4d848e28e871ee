"""A restart loses no game: the server keeps a snapshot in SQLite and resumes from it, after
a graceful stop or a SIGKILL, and its players resume their sessions with their tokens."""

import asyncio
import random
import signal
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from pacnet.client.remote import RemoteBoard
from pacnet.client.retry import RetryPolicy
from pacnet.protocol.outcome import Outcome
from pacnet.server.board import Board
from pacnet.server.config import ServerLimits
from pacnet.server.game import Game
from pacnet.server.layout import load_layout
from pacnet.server.store import Saved, StateError, StateStore
from tests.conftest import ServerProcess


def game(seed: int = 1) -> Game:
    return Game(Board(load_layout("small"), random.Random(seed)), ServerLimits())


def test_a_game_snapshot_restores_the_board_and_who_is_on_it() -> None:
    played = game()
    session, pacman, _ = played.join("alice", None, 1, 0.0)
    played.board.steer(pacman, "right")
    for _ in range(90):  # a second and a half of play: pellets eaten, ghosts out
        played.tick(0.0)
    before = played.snapshot()
    resumed = game(seed=99)  # another random source: only the snapshot carries state over
    resumed.restore(before, now=5.0)
    assert resumed.snapshot() == before
    assert resumed.sessions["alice"].token == session.token
    assert resumed.sessions["alice"].connection is None  # to be resumed on a new connection
    assert "alice" in resumed.keepalive  # with a full keepalive window from the restart
    back = resumed.board.get("pacman-alice")
    assert back is not None
    assert (back.score, back.lives, back.tile) == (pacman.score, pacman.lives, pacman.tile)
    assert back.score > 0


def test_the_store_keeps_one_snapshot_a_room_and_refuses_another_layouts(
    tmp_path: Path,
) -> None:
    store = StateStore(tmp_path / "state.sqlite")
    assert store.load("main", "small") is None
    store.save([Saved("main", "small", {"n": 1}), Saved("alpha", "small", {"n": 10})])
    store.save([Saved("main", "small", {"n": 2})])
    assert store.load("main", "small") == {"n": 2}
    assert store.load("alpha", "small") == {"n": 10}
    assert store.load("beta", "small") is None
    with pytest.raises(StateError, match="on the 'small' maze, not 'classic'") as refused:
        store.load("main", "classic")
    assert "a new game (--no-state)" in str(refused.value)  # the way out, named
    rows = sqlite3.connect(tmp_path / "state.sqlite").execute("SELECT COUNT(*) FROM room_snapshot")
    assert rows.fetchone() == (2,)


def test_a_file_from_before_rooms_is_the_default_rooms_game(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    old = sqlite3.connect(path, isolation_level=None)  # the table such a file has, and its row
    old.execute(
        "CREATE TABLE snapshot (id INTEGER PRIMARY KEY CHECK (id = 1), schema INTEGER NOT "
        "NULL, layout TEXT NOT NULL, taken_at REAL NOT NULL, data TEXT NOT NULL)"
    )
    old.execute("INSERT INTO snapshot VALUES (1, 1, 'small', 0, '{\"n\": 7}')")
    old.close()
    store = StateStore(path)
    assert store.load("main", "small") == {"n": 7}
    assert store.load("alpha", "small") is None  # it was one game: the default room's
    store.save([Saved("main", "small", {"n": 8})])
    assert store.load("main", "small") == {"n": 8}  # the room's own row, once saved


def test_a_file_that_is_not_a_state_store_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "state.sqlite"
    bad.write_text("this is not a database\n" * 100)
    with pytest.raises(StateError, match=r"cannot use .* as the game's state"):
        StateStore(bad)


async def test_after_sigkill_a_restarted_server_resumes_the_game_and_its_players(
    server_process: Callable[..., ServerProcess], closed_port: int, tmp_path: Path
) -> None:
    state = tmp_path / "game.sqlite"
    args = ("--layout", "small", "--port", str(closed_port), "--state", str(state),
            "--snapshot-interval", "0.1")  # fmt: skip
    first = server_process(*args)
    policy = RetryPolicy(attempt_timeout=0.5, deadline=3.0)
    async with RemoteBoard(first.url, "alice", policy=policy) as alice:
        joined = await alice.join()
        assert joined.ok
        assert (await alice.move("pacman", "right")).ok  # along row 7, eating, to the wall
        await asyncio.sleep(2.0)
        before = await alice.find()
        assert before.reply is not None
        assert before.reply.score is not None
        assert before.reply.score > 0
        await asyncio.sleep(0.5)  # a few snapshots since it stopped at the wall
        first.signal(signal.SIGKILL)
        assert first.process.wait(timeout=10) == -signal.SIGKILL

        second = server_process(*args)
        assert second.url == first.url
        after = await alice.find()  # reconnects, resumes with its token, asks again
        resumed = await alice.join(alice.session_token)
    assert after.outcome is Outcome.SUCCESS
    assert after.reply is not None
    assert (after.reply.x_pos, after.reply.y_pos) == (before.reply.x_pos, before.reply.y_pos)
    assert after.reply.score == before.reply.score
    assert resumed.reply is not None
    assert resumed.reply.resumed is True
    assert joined.reply is not None
    assert resumed.reply.name == joined.reply.name
    events = [e["event"] for e in second.events()]
    assert "state_restored" in events


async def test_a_graceful_stop_saves_the_last_moment(
    server_process: Callable[..., ServerProcess], closed_port: int, tmp_path: Path
) -> None:
    state = tmp_path / "game.sqlite"
    args = ("--layout", "small", "--port", str(closed_port), "--state", str(state),
            "--snapshot-interval", "3600")  # fmt: skip
    first = server_process(*args)
    async with RemoteBoard(first.url, "bob") as bob:
        assert (await bob.join()).ok
    first.signal(signal.SIGTERM)
    assert first.process.wait(timeout=10) == 0
    restored = StateStore(state).load("main", "small")
    assert restored is not None
    assert [user for user, _ in restored["sessions"]] == ["bob"]
