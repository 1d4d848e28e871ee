"""Rooms on the command line, as a user meets them: ``--room NAME`` on ``pacnet play``,
``demo`` and ``status``, ``pacnet bots --rooms K``, and a bad name refused in one line.
Real servers on 127.0.0.1, the commands as real processes."""

import argparse
import asyncio
import io
import json
import os
import sys
from pathlib import Path

import pytest
from rich.console import Console

from pacnet.client.remote import RemoteBoard
from pacnet.feeds.reader import read_lobby
from pacnet.protocol.lobby import LobbyView
from pacnet.protocol.rooms import room_url
from pacnet.proxy.config import ProxyConfig
from pacnet.proxy.relay import running_proxy
from pacnet.status.table import run_status
from tests.conftest import MS, ROOT, StartServer
from tests.test_cli import pacnet


async def pacnet_async(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """``pacnet ARGS`` as a child process, without blocking this event loop (whose
    in-process server the command plays on)."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pacnet", *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(child.communicate(), 60_000 * MS)
    assert child.returncode is not None
    return child.returncode, out.decode(), err.decode()


async def lobby(url: str) -> LobbyView:
    """What the server's ``GET /lobby`` says."""
    seen = await asyncio.to_thread(read_lobby, url)
    assert seen is not None
    return seen


def players(seen: LobbyView) -> dict[str, int]:
    return {room.name: room.players for room in seen.rooms}


@pytest.mark.parametrize(
    "args",
    [
        ["play", "--room", "Alpha"],
        ["demo", "--room", "no room"],
        ["status", "--room", "_x"],
        ["bots", "--room", "x" * 33],
        ["demo", "--server", "ws://127.0.0.1:9/rooms/Bad"],
    ],
    ids=["play-capitals", "demo-space", "status-underscore-first", "bots-too-long", "server-path"],
)
def test_a_name_no_room_can_have_is_one_line_and_exit_2(args: list[str]) -> None:
    done = pacnet(*args, timeout=20)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"pacnet {args[0]}: error: argument --")
    assert "cannot name a room: 1 to 32 lower-case letters, digits" in lines[0]


async def test_pacnet_play_with_room_alpha_plays_in_alpha(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await start_server()
    assert server.url is not None
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
    status, _, err = await pacnet_async(
        "play", "--server", server.url, "--room", "alpha", "--name", "alice", "--exit-after",
        "1", "--screenshot", str(tmp_path / "alpha.png"), env=env,
    )  # fmt: skip
    assert status == 0, err
    assert players(await lobby(server.url)) == {"alpha": 1, "main": 0}
    assert (tmp_path / "alpha.png").stat().st_size > 1000


async def test_pacnet_bots_rooms_3_deals_the_bots_into_three_rooms(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await start_server()
    assert server.url is not None
    report = tmp_path / "bots.json"
    status, out, err = await pacnet_async(
        "bots", "-n", "7", "--rooms", "3", "--duration", "2", "--server", server.url,
        "--seed", "1", "--json", str(report),
    )  # fmt: skip
    assert status == 0, err
    # bot i in bots-(i mod 3 + 1): three, two and two
    expected = {"bots-1": 3, "bots-2": 2, "bots-3": 2}
    assert players(await lobby(server.url)) == {**expected, "main": 0}
    data = json.loads(report.read_text())
    assert data["bots"]["by_room"] == expected
    assert data["run"]["rooms"] == ["bots-1", "bots-2", "bots-3"]
    assert "rooms             bots-1 3, bots-2 2, bots-3 2 (bots started in each)" in out


async def test_pacnet_bots_room_puts_every_bot_in_that_room(start_server: StartServer) -> None:
    server = await start_server()
    assert server.url is not None
    status, out, err = await pacnet_async(
        "bots", "-n", "3", "--room", "beta", "--duration", "1", "--server", server.url,
    )  # fmt: skip
    assert status == 0, err
    assert players(await lobby(server.url)) == {"beta": 3, "main": 0}
    assert "rooms             beta 3 (bots started in each)" in out


def test_more_rooms_than_bots_is_a_bad_flag() -> None:
    done = pacnet("bots", "-n", "2", "--rooms", "3", timeout=20)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "pacnet bots: error: --rooms 3 is more rooms than the 2 bots"
    ]


def test_pacnet_demo_with_a_room_plays_there() -> None:
    done = pacnet("demo", "--room", "alpha", "--iterations", "2", "--interval", "0", timeout=30)
    assert done.returncode == 0, done.stderr
    head = done.stdout.splitlines()[0]
    assert head.startswith("pacnet demo: user ")
    assert head.endswith("/rooms/alpha")


async def test_pacnet_status_shows_the_lobby_and_the_named_rooms_keepalive_table(
    start_server: StartServer,
) -> None:
    server = await start_server()
    assert server.url is not None
    async with (
        running_proxy(ProxyConfig(port=0, upstream=server.url, seed=1)) as proxy,
        RemoteBoard(room_url(server.url, "alpha"), "alice") as alice,
        RemoteBoard(server.url, "bob") as bob,
    ):
        assert proxy.url is not None
        assert (await alice.join()).ok
        assert (await bob.join()).ok
        out = io.StringIO()
        args = argparse.Namespace(server=server.url, room="alpha", proxy=proxy.url, once=True)
        assert await run_status(args, Console(file=out, width=200)) == 0
    shown = out.getvalue()
    assert "2 of at most 32 rooms open on 127.0.0.1:" in shown
    rows = {
        cells[0]: cells[1:]
        for line in shown.splitlines()
        if (cells := [c.strip() for c in line.split("│")[1:-1]])
    }
    assert rows["alpha (below)"][:2] == ["1", "1"]  # players, connected
    assert rows["main"][:2] == ["1", "1"]
    assert "1 users in room alpha, 0 suspected" in shown
    assert "alice" in rows
    assert "bob" not in rows  # the default room's
