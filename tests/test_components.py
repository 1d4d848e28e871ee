"""The real components a group of servers runs on (``pacnet.cluster.components``): redis-server
and HAProxy from the OS's packages, started on free ports in the test's own folder, in front of
real board servers."""

import asyncio
import functools
import time
from pathlib import Path

import pytest

from pacnet.client.remote import RemoteBoard
from pacnet.cluster.components import (
    HAProxy,
    MissingComponent,
    Redis,
    admin_socket,
    free_port,
    program,
    redis_command,
    runtime,
)
from pacnet.cluster.config import Member, haproxy_config, write_maps
from pacnet.cluster.follow import MapFollower
from pacnet.cluster.lease import Leases
from pacnet.cluster.link import StoreLink
from pacnet.server.config import ServerConfig
from pacnet.server.embedded import running_server
from pacnet.server.net import BoardServer
from tests.conftest import MS


def test_a_missing_component_names_the_package_to_install() -> None:
    with pytest.raises(MissingComponent, match="no-such-db is not installed: apt-get install "
                       "no-such-package"):  # fmt: skip
        program("no-such-db", "no-such-package")


def test_redis_runs_on_a_port_of_its_own_in_its_own_folder(tmp_path: Path) -> None:
    redis = Redis.start(tmp_path / "redis")
    try:
        assert redis_command(redis.port, "SET", "room:lobby", "s1") == b"+OK\r\n"
        assert redis_command(redis.port, "GET", "room:lobby") == b"$2\r\ns1\r\n"
        assert (tmp_path / "redis" / "redis.conf").is_file()
    finally:
        redis.stop()
    with pytest.raises(ConnectionRefusedError):
        redis_command(redis.port, "PING")


def config(directory: Path, port: int, backends: dict[str, int], *, rooms: bool) -> str:
    """HAProxy in front of board servers: one backend each, health-checked on /healthz; with
    ``rooms``, a room's connections go where the map ``rooms.map`` says, else to the first."""
    lines = [
        "global", f"    stats socket {admin_socket(directory)} level admin",
        "defaults", "    mode http", "    timeout connect 2s", "    timeout client 30s",
        "    timeout server 30s", "    timeout tunnel 1h",
        "frontend game", f"    bind 127.0.0.1:{port}",
    ]  # fmt: skip
    first = next(iter(backends))
    if rooms:
        (directory / "rooms.map").write_text("")
        lines.append(f"    use_backend %[path,field(3,/),map({directory}/rooms.map,{first})]")
    lines.append(f"    default_backend {first}")
    for name, server_port in backends.items():
        lines += [
            f"backend {name}", "    option httpchk GET /healthz",
            f"    server {name} 127.0.0.1:{server_port} check inter 200ms fall 2 rise 1",
        ]  # fmt: skip
    return "\n".join(lines) + "\n"


def port_of(server: BoardServer) -> int:
    return int((server.url or "").rsplit(":", 1)[1])


def sessions(server: BoardServer, room: str) -> set[str]:
    """The users on ``room``'s board at ``server`` (none if it is not open there)."""
    opened = server.rooms.get(room)
    return set(opened.game.sessions) if opened is not None else set()


async def up(haproxy: HAProxy, name: str, status: str) -> None:
    """Until HAProxy's health checks say ``name`` is ``status`` (UP, DOWN), a few seconds."""
    deadline = time.monotonic() + 5000 * MS
    while haproxy.servers()[(name, name)]["status"] != status:
        assert time.monotonic() < deadline, haproxy.servers()[(name, name)]
        await asyncio.sleep(0.05)


async def test_haproxy_carries_the_game_and_marks_a_dead_server_down(tmp_path: Path) -> None:
    config_ = ServerConfig(port=0, layout="small", seed=1)
    async with running_server(config_) as server:
        port = free_port()
        haproxy = HAProxy.start(tmp_path, config(tmp_path, port, {"s1": port_of(server)},
                                                 rooms=False), ready_port=port)  # fmt: skip
        try:
            await up(haproxy, "s1", "UP")
            async with RemoteBoard(f"ws://127.0.0.1:{port}", "through") as board:
                assert (await board.join()).ok
                assert (await board.find()).ok
            assert "through" in server.game.sessions
            assert int(haproxy.servers()[("s1", "s1")]["stot"]) >= 1
            server.stop()  # the server goes away; HAProxy's checks notice
            await up(haproxy, "s1", "DOWN")
        finally:
            haproxy.stop()


async def test_haproxy_sends_a_rooms_connections_where_its_map_says_changed_while_it_runs(
    tmp_path: Path,
) -> None:
    async with (
        running_server(ServerConfig(port=0, layout="small", seed=1)) as s1,
        running_server(ServerConfig(port=0, layout="small", seed=2)) as s2,
    ):
        port = free_port()
        backends = {"s1": port_of(s1), "s2": port_of(s2)}
        haproxy = HAProxy.start(tmp_path, config(tmp_path, port, backends, rooms=True),
                                ready_port=port)  # fmt: skip
        try:
            await up(haproxy, "s2", "UP")
            url = f"ws://127.0.0.1:{port}/rooms/arcade"
            async with RemoteBoard(url, "before") as board:
                assert (await board.join()).ok
            assert s2.rooms.get("arcade") is None
            assert "before" in sessions(s1, "arcade"), "a room the map does not name: default"
            answer = haproxy.runtime(f"add map {tmp_path}/rooms.map arcade s2")
            assert answer.strip() == "", answer
            async with RemoteBoard(url, "after") as board:
                assert (await board.join()).ok
            assert "after" in sessions(s2, "arcade"), "the map, changed while HAProxy runs"
            assert "after" not in sessions(s1, "arcade")
        finally:
            haproxy.stop()


async def test_haproxys_runtime_api_over_tcp_serves_the_follower_as_in_containers(
    tmp_path: Path, redis_server: Redis
) -> None:
    """As in docker-compose.cluster.yml: the runtime API on TCP, the map file not the
    follower's to write; the follower routes a room the directory names all the same."""
    async with running_server(ServerConfig(port=0, layout="small")) as s1:
        port, api = free_port(), free_port()
        directory = tmp_path / "haproxy"
        directory.mkdir()
        write_maps(directory)
        rooms_map = directory / "rooms.map"
        config = haproxy_config(
            directory, [Member("s1", "127.0.0.1", port_of(s1))], host="127.0.0.1", port=port,
            stats_port=free_port(), admin_api=f"ipv4@127.0.0.1:{api}", rooms_map=rooms_map,
        )  # fmt: skip
        haproxy = HAProxy.start(directory, config, ready_port=port)
        link = StoreLink("127.0.0.1", redis_server.port)
        try:
            redis_command(redis_server.port, "HSET", "pacnet:rooms", "arcade", "s1")
            follower = MapFollower(
                Leases(link, "follow", 1.0), functools.partial(runtime, ("127.0.0.1", api)),
                rooms_map, write_file=False,
            )  # fmt: skip
            assert await follower.step()
            shown = runtime(("127.0.0.1", api), f"show map {rooms_map}")
        finally:
            await link.close()
            haproxy.stop()
    assert "arcade s1" in shown
    assert rooms_map.read_text() == "", "HAProxy's file, not the follower's"
