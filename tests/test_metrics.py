"""GET /metrics: the server's figures in the format Prometheus scrapes, checked by parsing them
as Prometheus's own client library does, and by Prometheus's own promtool."""

import asyncio
import shutil
import subprocess
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from pacnet.client.remote import RemoteBoard
from pacnet.protocol.outcome import Outcome
from pacnet.server.config import ServerConfig
from pacnet.server.embedded import running_server
from pacnet.server.net import BoardServer
from tests.conftest import switch_on


def scrape(server: BoardServer) -> tuple[str, str]:
    """The metrics page's content type and text."""
    address = (server.url or "").replace("ws://", "http://").rstrip("/") + "/metrics"
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
        kind, text = await asyncio.to_thread(scrape, server)
    assert kind.startswith("text/plain")
    seen = samples(text)
    assert seen["pacnet_requests_total", (("action", "find"), ("code", "ok"))] == 3
    assert seen["pacnet_requests_total", (("action", "findAll"), ("code", "INVALID_MESSAGE"))] == 2
    assert seen["pacnet_requests_total", (("action", "findAll"), ("code", "ok"))] == 1
    assert seen["pacnet_request_seconds_count", (("action", "find"),)] == 3
    assert seen["pacnet_request_seconds_bucket", (("action", "find"), ("le", "+Inf"))] == 3
    fired = (("domain", "server"), ("kind", "reject"), ("step", "VALIDATE_REQUEST"))
    assert seen["pacnet_faults_fired_total", fired] == 2, "counted though the fault is spent"
    assert seen["pacnet_users", ()] == 1
    assert seen["pacnet_connections", ()] == 1  # the scrape is not a WebSocket
    for name in ("keepalive_expiries", "tick_overruns", "snapshot_failures", "connections_cut",
                 "connections_refused"):  # fmt: skip
        assert (f"pacnet_{name}_total", ()) in seen, name


def test_promtool_finds_nothing_wrong_with_the_metrics() -> None:
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool comes with the OS's prometheus package (.ci/run)"

    async def metrics_of_a_game() -> str:
        async with (
            running_server(ServerConfig(port=0, layout="small", seed=1)) as server,
            RemoteBoard(server.url or "", "alice") as alice,
        ):
            assert (await alice.join()).ok
            return (await asyncio.to_thread(scrape, server))[1]

    checked = subprocess.run(
        [promtool, "check", "metrics"], input=asyncio.run(metrics_of_a_game()),
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
