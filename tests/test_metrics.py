"""GET /metrics: the server's figures in the format Prometheus scrapes, checked by parsing them
as Prometheus's own client library does, and by Prometheus's own promtool."""

import asyncio
import shutil
import subprocess
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from pacnet.client.remote import RemoteBoard
from pacnet.protocol.outcome import Outcome
from pacnet.proxy.config import ProxyConfig
from pacnet.proxy.relay import Proxy, running_proxy
from pacnet.server.config import ServerConfig
from pacnet.server.embedded import running_server
from pacnet.server.net import BoardServer
from tests.conftest import switch_on


def scrape(component: BoardServer | Proxy) -> tuple[str, str]:
    """The metrics page's content type and text."""
    address = (component.url or "").replace("ws://", "http://").rstrip("/") + "/metrics"
    with urllib.request.urlopen(address, timeout=5) as response:
        return response.headers["Content-Type"], response.read().decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample, by name and labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_the_metrics_count_what_the_server_did() -> None:
    async with (
        running_server(ServerConfig(port=0, layout="small", seed=1)) as server,
        RemoteBoard(server.url or "", "alice") as alice,
    ):
        assert (await alice.join()).ok
        for _ in range(3):
            assert (await alice.find()).ok
        await switch_on(server, kind="reject", action="findAll", count=2)
        for _ in range(3):
            await alice.find_all(":ghost")
        assert alice.tally.count("findAll", Outcome.FATAL) == 2
        await switch_on(server, kind="no_reply", action="find", count=1)
        assert (await alice.find()).outcome is Outcome.UNKNOWN
        assert (await alice.report(0, 1, alice.tally.as_counts())).ok
        kind, text = await asyncio.to_thread(scrape, server)
    assert kind.startswith("text/plain")
    seen = samples(text)
    assert seen["pacnet_requests_total", (("action", "find"), ("code", "ok"))] == 3
    assert seen["pacnet_requests_total", (("action", "findAll"), ("code", "INVALID_MESSAGE"))] == 2
    assert seen["pacnet_requests_total", (("action", "findAll"), ("code", "ok"))] == 1
    assert seen["pacnet_requests_total", (("action", "find"), ("code", "NO_REPLY"))] == 1, (
        "done, and no reply sent: not ok"
    )
    assert seen["pacnet_request_seconds_count", (("action", "find"),)] == 4  # every one timed
    assert seen["pacnet_request_seconds_bucket", (("action", "find"), ("le", "+Inf"))] == 4
    fired = (("domain", "server"), ("kind", "reject"), ("step", "VALIDATE_REQUEST"))
    assert seen["pacnet_faults_fired_total", fired] == 2, "counted though the fault is spent"
    assert seen["pacnet_users", ()] == 1
    # The room's outcomes as the client reported them: the projector's rates and grid.
    main = ("room", "main")
    assert (
        seen["pacnet_room_calls_total", (("outcome", "SUCCESS"), main)] == 4
    )  # 3 finds, 1 findAll
    assert seen["pacnet_room_calls_total", (("outcome", "FATAL"), main)] == 2
    grid = (("action", "find"), ("outcome", "SUCCESS"), main)
    assert seen["pacnet_room_exercise_calls", grid] == 3
    assert seen["pacnet_rooms", ()] == 1
    assert seen["pacnet_room_users", (main,)] == 1
    assert seen["pacnet_connections", ()] == 1  # the scrape is not a WebSocket
    for name in ("keepalive_expiries", "tick_overruns", "snapshot_failures", "connections_cut",
                 "connections_refused"):  # fmt: skip
        assert (f"pacnet_{name}_total", ()) in seen, name


async def test_the_proxys_metrics_count_its_traffic_and_the_networks_faults() -> None:
    async with (
        running_server(ServerConfig(port=0, layout="small", seed=1)) as server,
        running_proxy(ProxyConfig(port=0, upstream=server.url or "", seed=1)) as proxy,
        RemoteBoard(proxy.url or "", "alice") as alice,
    ):
        assert (await alice.join()).ok
        await switch_on(proxy, kind="drop", direction="reply", action="find", count=2)
        for _ in range(4):
            await alice.find()
        assert alice.tally.count("find", Outcome.UNKNOWN) == 2
        _, text = await asyncio.to_thread(scrape, proxy)
    seen = samples(text)
    fired = (("domain", "network"), ("kind", "drop"), ("step", "DELIVER_REPLY"))
    assert seen["pacnet_faults_fired_total", fired] == 2
    assert seen["pacnet_proxy_requests_total", ()] >= 5  # the join and four finds
    assert seen["pacnet_proxy_connections", ()] == 1
    assert seen["pacnet_proxy_connections_accepted_total", ()] == 1


def test_promtool_finds_nothing_wrong_with_the_metrics() -> None:
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool comes with the OS's prometheus package (.ci/run)"

    async def metrics_of_a_game() -> list[str]:
        async with (
            running_server(ServerConfig(port=0, layout="small", seed=1)) as server,
            running_proxy(ProxyConfig(port=0, upstream=server.url or "", seed=1)) as proxy,
            RemoteBoard(proxy.url or "", "alice") as alice,
        ):
            assert (await alice.join()).ok
            return [(await asyncio.to_thread(scrape, c))[1] for c in (server, proxy)]

    for text in asyncio.run(metrics_of_a_game()):
        checked = subprocess.run(
            [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
