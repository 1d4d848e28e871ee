"""The connection limits: in all and from one address, refused at the handshake with the
reason, every kind of connection counted, and a slot freed when a connection closes."""

import asyncio
import json
import resource
import socket
import urllib.request
from collections.abc import Callable
from contextlib import AsyncExitStack

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from pacnet.client.remote import RemoteBoard
from pacnet.feeds.addresses import endpoint_url
from pacnet.feeds.doors import FILE_HEADROOM
from pacnet.protocol.feeds import BOARD_PATH
from pacnet.protocol.outcome import Outcome
from pacnet.proxy.config import ProxyConfig
from pacnet.proxy.relay import running_proxy
from pacnet.server.config import ServerConfig, ServerLimits
from pacnet.server.embedded import running_server
from tests.conftest import ServerProcess


def status_of(address: str) -> int:
    with urllib.request.urlopen(address, timeout=5) as response:
        return int(response.status)


def limited(total: int, per_peer: int) -> ServerConfig:
    limits = ServerLimits(max_connections=total, max_connections_per_peer=per_peer)
    return ServerConfig(port=0, layout="small", seed=1, limits=limits)


async def test_one_address_gets_its_share_and_another_gets_in() -> None:
    async with running_server(limited(10, 3)) as server, AsyncExitStack() as stack:
        url = server.url or ""
        for _ in range(3):
            await stack.enter_async_context(connect(url))
        with pytest.raises(InvalidStatus) as refused:
            await stack.enter_async_context(connect(url))
        assert refused.value.response.status_code == 503
        assert b"too many connections from 127.0.0.1: at most 3" in refused.value.response.body
        # Another address on this machine is another peer.
        await stack.enter_async_context(connect(url, local_addr=("127.0.0.2", 0)))
        assert server.statistics()["connectionsRefused"] == 1


async def test_the_server_holds_at_most_its_total_and_a_closed_one_frees_a_slot() -> None:
    async with running_server(limited(3, 3)) as server, AsyncExitStack() as stack:
        url = server.url or ""
        feed = await stack.enter_async_context(connect(endpoint_url(url, BOARD_PATH)))
        await stack.enter_async_context(connect(url))
        alice = await stack.enter_async_context(RemoteBoard(url, "alice"))
        assert (await alice.join()).ok
        async with RemoteBoard(url, "bob") as bob:
            joined = await bob.join()
        assert joined.outcome is Outcome.POST_FAILED, "refused at the handshake: nothing sent"
        assert "too many connections: the server holds at most 3" in joined.message
        # The page and the health check are not WebSockets: served even when full.
        http = url.replace("ws://", "http://").rstrip("/")
        for path in ("/healthz", "/"):
            assert await asyncio.to_thread(status_of, http + path) == 200
        await feed.close()  # a feed is a connection too: closing it frees its slot
        async with RemoteBoard(url, "bob") as bob:
            assert (await bob.join()).ok


async def test_by_default_one_address_takes_most_of_the_server_never_all() -> None:
    limits = ServerLimits(max_connections=4)  # per peer: the default, three quarters
    config = ServerConfig(port=0, layout="small", seed=1, limits=limits)
    async with running_server(config) as server, AsyncExitStack() as stack:
        url = server.url or ""
        for _ in range(3):
            await stack.enter_async_context(connect(url))
        with pytest.raises(InvalidStatus):
            await stack.enter_async_context(connect(url))
        await stack.enter_async_context(connect(url, local_addr=("127.0.0.2", 0)))


def test_pacnet_serve_takes_the_limits_as_flags_and_says_them_when_it_starts(
    server_process: Callable[..., ServerProcess],
) -> None:
    process = server_process("--max-connections-per-peer", "2")
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)

    async def third_is_refused() -> None:
        async with connect(process.url), connect(process.url):
            with pytest.raises(InvalidStatus):
                await connect(process.url)

    asyncio.run(third_is_refused())
    (started,) = [e for e in process.events() if e["event"] == "server_started"]
    assert started["maxConnectionsPerPeer"] == 2
    if hard != resource.RLIM_INFINITY:  # raised to the system's limit, less the server's own
        assert started["maxConnections"] == hard - FILE_HEADROOM
    refused = [e for e in process.events() if e["event"] == "connection_refused"]
    assert refused[0]["reason"] == "too many connections from 127.0.0.1: at most 2 from one address"


async def flood(ws: ClientConnection, frame: str) -> None:
    """Send ``frame`` again and again, reading nothing, until the connection closes."""
    async with asyncio.timeout(30):
        while True:
            await ws.send(frame)


async def test_a_client_that_stops_reading_is_cut_off_and_the_others_play_on() -> None:
    """It sends and never reads: the server holds a bounded buffer for it, then cuts it."""
    limits = ServerLimits(send_timeout=0.5)
    async with running_server(
        ServerConfig(port=0, layout="small", seed=1, limits=limits)
    ) as server:
        url = server.url or ""
        deaf = socket.socket()
        deaf.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills at once
        deaf.connect(("127.0.0.1", int(url.rstrip("/").rsplit(":", 1)[1])))
        deaf.setblocking(False)
        ping = json.dumps({"v": 1, "requestId": "p", "userId": "deaf", "action": "ping"})
        async with RemoteBoard(url, "alice") as alice, connect(url, sock=deaf, max_queue=4) as ws:
            assert (await alice.join()).ok
            with pytest.raises(ConnectionClosed):
                await flood(ws, ping)
            assert (await alice.find()).ok, "the other players play on"
        assert server.statistics()["connectionsCut"] == 1


async def test_the_proxy_keeps_the_same_limits_before_it_opens_anything_upstream() -> None:
    async with running_server(ServerConfig(port=0, layout="small", seed=1)) as server:
        config = ProxyConfig(port=0, upstream=server.url or "", seed=1, max_connections_per_peer=2)
        async with running_proxy(config) as proxy, AsyncExitStack() as stack:
            url = proxy.url or ""
            for _ in range(2):
                await stack.enter_async_context(connect(url))
            upstream = server.doors.open  # the two relayed, and the proxy's own feed
            with pytest.raises(InvalidStatus) as refused:
                await stack.enter_async_context(connect(url))
            assert b"at most 2 from one address" in refused.value.response.body
            assert server.doors.open == upstream, "the refused one never reached the server"
            assert proxy.statistics().refused == 1
