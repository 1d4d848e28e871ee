"""``pacnet cluster up / status / down`` as a user runs them: Redis, two board servers and
HAProxy from the OS's packages, started in the background in the test's folder. A player
plays through HAProxy; the server holding their room is killed; the room moves and the player
resumes with the same pac-man and score; the dead server comes back while another holds its
room; HAProxy's map is stale for a moment; and ``down`` leaves nothing running."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from pacnet.client.remote import RemoteBoard
from pacnet.client.retry import RetryPolicy
from pacnet.cluster.components import free_port, runtime
from pacnet.cluster.stack import Stack, running
from pacnet.protocol.rooms import room_url
from tests.conftest import ROOT, ServerProcess


def pacnet(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pacnet", *args], capture_output=True, text=True,
        timeout=timeout, cwd=ROOT,
    )  # fmt: skip


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Stack]:
    directory = tmp_path / "cluster"
    up = pacnet(
        "cluster", "up", "--dir", str(directory), "--port", str(free_port()), "--stats-port",
        str(free_port()), "--layout", "small", "--calm", "--lease", "1",
        "--admin-token=-a-token-that-looks-like-a-flag",  # passed on to each server intact
    )  # fmt: skip
    assert up.returncode == 0, up.stderr
    stack = Stack.load(directory)
    assert f"play on      {stack.url}" in up.stdout
    assert stack.admin_token == "-a-token-that-looks-like-a-flag"
    assert f"admin token  {stack.admin_token}" in up.stdout
    assert stack.stats_url in up.stdout
    yield stack
    pacnet("cluster", "down", "--dir", str(directory))


def status(stack: Stack) -> dict[str, Any]:
    shown = pacnet("cluster", "status", "--dir", stack.directory, "--json")
    assert shown.returncode == 0, shown.stderr
    answer: dict[str, Any] = json.loads(shown.stdout)
    return answer


async def until(check: Any, seconds: float) -> float:
    """Seconds until ``check()`` is true (it fails the test past ``seconds``)."""
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < seconds, "not in time"
        await asyncio.sleep(0.1)
    return time.monotonic() - start


async def test_a_killed_servers_room_moves_and_its_player_resumes_where_they_were(
    cluster: Stack, server_process: Callable[..., ServerProcess]
) -> None:
    members = {m.name: m for m in cluster.members}
    policy = RetryPolicy(deadline=10.0)
    async with RemoteBoard(room_url(cluster.url, "arcade"), "alice", policy=policy) as alice:
        joined = await alice.join()
        assert joined.reply is not None
        assert (await alice.move("pacman", "right")).ok
        await asyncio.sleep(1.0)  # eating along the row, saved in Redis every second
        before = await alice.find()
        assert before.reply is not None
        first = cluster.holder("arcade")
        assert [s["haproxy"] for s in status(cluster)["servers"]] == ["UP", "UP"]
        os.kill(members[first].pid, signal.SIGKILL)
        killed_at = time.monotonic()
        after = await alice.find()  # retried until the room is back, on the other server
        moved_in = time.monotonic() - killed_at
        resumed = await alice.join(alice.session_token)
        second = cluster.holder("arcade")
        shown = {s["name"]: s for s in status(cluster)["servers"]}
    assert second != first
    assert after.reply is not None, after.message
    assert after.reply.score == before.reply.score > 0, "at most a second of game lost"
    assert resumed.reply is not None
    assert resumed.reply.resumed
    assert resumed.reply.name == joined.reply.name
    assert moved_in < 8.0
    assert shown[first]["haproxy"] == "DOWN"
    assert not shown[first]["running"]
    assert shown[second]["haproxy"] == "UP"
    assert shown[second]["health"]["rooms"] == 1

    # The dead server comes back while another holds its room: HAProxy sends it players
    # again, but the room stays where the directory says, and it never claims it.
    server_process(
        "--name", first, "--port", str(members[first].port), "--redis",
        f"127.0.0.1:{cluster.redis.port}", "--layout", "small", "--calm", "--lease", "1",
        command=("cluster", "serve"),
    )  # fmt: skip
    await until(lambda: status(cluster)["servers"][int(first[1:]) - 1]["haproxy"] == "UP", 15)
    async with RemoteBoard(room_url(cluster.url, "arcade"), "bob") as bob:
        assert (await bob.join()).ok
    assert cluster.holder("arcade") == second
    assert {s["name"]: s["health"]["rooms"] for s in status(cluster)["servers"]}[first] == 0


async def test_while_haproxys_map_is_stale_the_rooms_old_server_refuses_and_the_player_gets_in(
    cluster: Stack,
) -> None:
    """The moment the directory and HAProxy disagree: the follower has not told HAProxy yet
    (here it is stopped). A connection lands on a server that does not hold the room: it is
    refused, never served; once the follower catches up, it lands where the room is."""
    async with RemoteBoard(room_url(cluster.url, "arcade"), "carol") as carol:
        assert (await carol.join()).ok
        owner = cluster.holder("arcade")
        other = next(m.name for m in cluster.members if m.name != owner)
        rooms_map = Path(cluster.directory) / "haproxy" / "rooms.map"
        routed = f"arcade {owner}"
        await until(lambda: routed in runtime(cluster.haproxy_socket, f"show map {rooms_map}"), 5)
        os.kill(cluster.follow.pid, signal.SIGSTOP)
        try:
            answer = runtime(cluster.haproxy_socket, f"set map {rooms_map} arcade {other}")
            assert answer.strip() == ""
            with pytest.raises(InvalidStatus) as refused:
                async with connect(room_url(cluster.url, "arcade")):
                    pass
            assert refused.value.response.status_code == 503
            assert f"held by {owner}".encode() in refused.value.response.body
        finally:
            os.kill(cluster.follow.pid, signal.SIGCONT)
        await until(lambda: routed in runtime(cluster.haproxy_socket, f"show map {rooms_map}"), 5)
        async with connect(room_url(cluster.url, "arcade")) as dave:
            await dave.send(json.dumps({"v": 1, "requestId": "d1", "userId": "dave",
                                        "action": "join"}))  # fmt: skip
            assert json.loads(await dave.recv())["status"] == "ok"
        assert (await carol.find()).ok, "carol played on throughout"


def test_status_shows_each_servers_share_of_the_lobby_while_it_is_asked(
    cluster: Stack,
) -> None:
    """The lobby is the replicated tier, balanced by leastconn: status says how HAProxy
    shares it out over the second it looks (where the catalog server's epidemic shows)."""
    asking = threading.Event()

    def ask() -> None:
        lobby = cluster.url.replace("ws://", "http://") + "/lobby"
        while not asking.is_set():
            with urllib.request.urlopen(lobby, timeout=5) as answer:
                assert answer.status == 200

    askers = [threading.Thread(target=ask) for _ in range(4)]
    for asker in askers:
        asker.start()
    try:
        shown = status(cluster)["servers"]
    finally:
        asking.set()
        for asker in askers:
            asker.join()
    shares = [server["lobby"] for server in shown]
    assert sum(shares) == pytest.approx(1.0)
    assert all(share > 0 for share in shares), "both servers answer the lobby"


def test_down_stops_everything_up_started_and_up_refuses_a_second_cluster_in_one_folder(
    cluster: Stack,
) -> None:
    again = pacnet("cluster", "up", "--dir", cluster.directory)
    assert again.returncode == 1
    assert "already up" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    down = pacnet("cluster", "down", "--dir", cluster.directory)
    assert down.returncode == 0, down.stderr
    assert "stopped s1, s2, follow, haproxy, redis" in down.stdout
    assert not [p.name for p in cluster.processes() if running(p.pid)]
    gone = pacnet("cluster", "status", "--dir", cluster.directory)
    assert gone.returncode == 1
    assert "no cluster is up" in gone.stderr
