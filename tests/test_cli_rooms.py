"""Rooms on the command line, as a user meets them: ``--room NAME`` on ``pacnet play`` and
``demo``, and a bad name refused in one line.
Real servers on 127.0.0.1, the commands as real processes."""

import asyncio
import os
import sys
from pathlib import Path

import pytest

from pacnet.feeds.reader import read_lobby
from pacnet.protocol.rooms import LobbyView
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
        ["demo", "--server", "ws://127.0.0.1:9/rooms/Bad"],
    ],
    ids=["play-capitals", "demo-space", "server-path"],
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


def test_pacnet_demo_with_a_room_plays_there() -> None:
    done = pacnet("demo", "--room", "alpha", "--iterations", "2", "--interval", "0", timeout=30)
    assert done.returncode == 0, done.stderr
    head = done.stdout.splitlines()[0]
    assert head.startswith("pacnet demo: user ")
    assert head.endswith("/rooms/alpha")
