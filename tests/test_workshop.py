"""``pacnet workshop``: one command opens a room, as a facilitator runs it: real child
processes, real ports, a real crash and its restart, Ctrl-C."""

import asyncio
import json
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from pacnet.client.remote import RemoteBoard
from pacnet.cluster.components import free_port
from pacnet.faults.admin import AdminClient
from pacnet.feeds.reader import read_lobby
from tests.conftest import MS, ROOT


def two_free_ports() -> int:
    """A port whose next one is free too."""
    for _ in range(50):
        port = free_port()
        if port < 65534 and all(free(p) for p in (port, port + 1)):
            return port
    raise AssertionError("no two free ports in a row")


def free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


class Room:
    def __init__(self, folder: Path, port: int, *flags: str) -> None:
        self.port = port
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pacnet", "workshop", "--dir", str(folder), "--port",
             str(port), "--host", "127.0.0.1", *flags],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        )  # fmt: skip
        self.said: list[str] = []

    def read_until(self, words: str) -> str:
        assert self.process.stdout is not None
        while True:
            line = self.process.stdout.readline()
            assert line, f"the room closed: {self.said} {self.process.stderr}"
            self.said.append(line)
            if words in line:
                return line

    @property
    def token(self) -> str:
        line = next(line for line in self.said if "PACNET_ADMIN_TOKEN=" in line)
        return line.split("PACNET_ADMIN_TOKEN=")[1].strip()


@pytest.fixture
def room(tmp_path: Path) -> Iterator[Room]:
    opened = Room(tmp_path / "room", two_free_ports())
    yield opened
    if opened.process.poll() is None:
        opened.process.kill()
        opened.process.wait(timeout=10)


def test_a_room_opens_serves_the_page_survives_a_crash_and_closes_on_ctrl_c(
    room: Room, tmp_path: Path
) -> None:
    room.read_until("Ctrl-C closes the room")
    said = "".join(room.said)
    assert f"participants open   http://127.0.0.1:{room.port + 1}/" in said
    assert (
        f"the projector       http://127.0.0.1:{room.port}/watch?network=127.0.0.1:{room.port + 1}"
        in said
    )
    assert f"without retries http://127.0.0.1:{room.port + 1}/?retries=off" in said
    with urllib.request.urlopen(f"http://127.0.0.1:{room.port + 1}/", timeout=5) as page:
        assert page.status == 200  # through the proxy: the network's faults reach them
    proxy, server = f"ws://127.0.0.1:{room.port + 1}", f"ws://127.0.0.1:{room.port}"

    async def crash_and_come_back() -> bool:
        async with AdminClient(server, room.token) as admin:
            assert (await admin.add({"kind": "crash", "crash": "exit", "count": 1})).ok
        async with RemoteBoard(proxy, "alice") as board:
            await board.join()  # the server crashes on it
        await asyncio.to_thread(room.read_until, "starting it again")
        for _ in range(100):  # back within a few seconds, the game resumed
            async with RemoteBoard(proxy, "bob") as board:
                if (await board.join()).ok:
                    return True
            await asyncio.sleep(0.1)
        return False

    assert asyncio.run(crash_and_come_back())
    room.process.send_signal(signal.SIGINT)
    assert room.process.wait(timeout=20_000 * MS) == 0
    room.read_until("the room is closed")
    log = (tmp_path / "room" / "server.log").read_text().splitlines()
    started = [json.loads(line) for line in log if '"server_started"' in line]
    assert len(started) == 2  # both runs of the server, in one log appended to


def test_with_tables_each_table_gets_its_own_games_page_and_projector(tmp_path: Path) -> None:
    room = Room(tmp_path / "room", two_free_ports(), "--tables", "2")
    try:
        room.read_until("Ctrl-C closes the room")
        said = "".join(room.said)
        proxy, server = f"127.0.0.1:{room.port + 1}", f"127.0.0.1:{room.port}"
        assert f"  table-1             http://{proxy}/rooms/table-1\n" in said
        assert f"  table-2             http://{proxy}/rooms/table-2\n" in said
        assert f"pacnet play --server ws://{proxy} --room table-N" in said
        assert f"  table-2 projector   http://{server}/rooms/table-2/watch?network={proxy}" in said

        async def join_table_2() -> list[str]:
            async with RemoteBoard(f"ws://{proxy}/rooms/table-2", "alice") as board:
                assert (await board.join()).ok
            lobby = await asyncio.to_thread(read_lobby, f"ws://{server}")
            assert lobby is not None
            return [r.name for r in lobby.rooms if r.players]

        assert asyncio.run(join_table_2()) == ["table-2"]  # through the proxy, to its game
    finally:
        room.process.send_signal(signal.SIGINT)  # it stops the server and the proxy it started
        room.process.wait(timeout=20_000 * MS)


def test_a_port_without_room_for_the_proxy_is_a_bad_flag() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pacnet", "workshop", "--port", "65535"],
        capture_output=True, text=True, timeout=30, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "pacnet workshop: error: argument --port: '65535': the proxy needs the next port too "
        "(1-65534) (see pacnet workshop --help)"
    ]


def test_a_port_in_use_says_so_in_one_line(tmp_path: Path) -> None:
    port = two_free_ports()
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("0.0.0.0", port))
        taken.listen()
        done = subprocess.run(
            [sys.executable, "-m", "pacnet", "workshop", "--dir", str(tmp_path), "--port",
             str(port)],
            capture_output=True, text=True, timeout=60, cwd=ROOT,
        )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"pacnet workshop: error: cannot listen on 0.0.0.0:{port}: address already in use"
    ]
