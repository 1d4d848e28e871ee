"""docker-compose.yml and docker-compose.cluster.yml: Docker cannot run on these machines, so
what the compose files name is checked piece by piece: their services and the files they mount
exist, each pacnet command in them parses, Prometheus's own tools accept the Prometheus
configuration, a real Prometheus (the OS package) scrapes a real server and proxy with it and
answers every query of the Grafana dashboard shipped, and HAProxy's configuration for the
cluster is the one ``pacnet cluster config`` makes and HAProxy's own check accepts."""

import asyncio
import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from pacnet.client.remote import RemoteBoard
from pacnet.cluster.components import free_port
from pacnet.proxy.config import ProxyConfig
from pacnet.proxy.relay import running_proxy
from pacnet.server.config import ServerConfig
from pacnet.server.embedded import running_server
from tests.conftest import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
CLUSTER = yaml.safe_load((ROOT / "docker-compose.cluster.yml").read_text())
PROMETHEUS_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
DASHBOARD = json.loads((ROOT / "deploy" / "grafana" / "dashboards" / "pacnet.json").read_text())


def test_the_compose_file_has_its_services_and_every_file_it_mounts() -> None:
    services = COMPOSE["services"]
    assert set(services) == {"server", "proxy", "prometheus", "grafana"}
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which is missing"
    provisioned = ROOT / "deploy" / "grafana" / "provisioning"
    assert (provisioned / "datasources" / "prometheus.yml").is_file()
    assert (provisioned / "dashboards" / "pacnet.yml").is_file()


@pytest.mark.parametrize(
    ("compose", "name"),
    [(COMPOSE, "proxy"), (CLUSTER, "s1"), (CLUSTER, "s2"), (CLUSTER, "follow")],
    ids=["proxy", "cluster-s1", "cluster-s2", "cluster-follow"],
)
def test_each_pacnet_command_in_them_parses(compose: dict[str, Any], name: str) -> None:
    command = compose["services"][name]["command"]
    assert command[0].endswith("/bin/pacnet")
    pacnet = shutil.which("pacnet")
    assert pacnet is not None
    done = subprocess.run([pacnet, *command[1:], "--help"], capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr


def test_promtool_accepts_the_prometheus_configuration() -> None:
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool comes with the OS's prometheus package (.ci/run)"
    done = subprocess.run(
        [promtool, "check", "config", str(PROMETHEUS_CONFIG)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def query(port: int, expr: str) -> dict[str, Any]:
    address = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(address, timeout=5) as response:
        answer: dict[str, Any] = json.load(response)
        return answer


def dashboard_queries() -> list[str]:
    return [target["expr"] for panel in DASHBOARD["panels"] for target in panel["targets"]]


SEEN_AT_ONCE = [
    "sum by (outcome) (rate(pacnet_room_calls_total[30s]))",
    'sum by (action, outcome) (pacnet_room_exercise_calls{action=~"find|move|findAll|remove"})',
    "sum by (code) (rate(pacnet_requests_total[30s]))",
    "pacnet_proxy_connections",
]
"""The dashboard's queries that have an answer as soon as anyone plays (the faults' and the
limits' stay empty until a fault fires or a limit is hit)."""


def start_prometheus(tmp_path: Path, where: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    """The OS's Prometheus with the compose file's configuration, each job's target at
    ``where[job]`` (a ws:// address) instead of its compose name, scraping every second."""
    prometheus = shutil.which("prometheus")
    assert prometheus is not None, "the OS's prometheus package (.ci/run installs it)"
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    config["global"]["scrape_interval"] = config["global"]["evaluation_interval"] = "1s"
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [where[job["job_name"]][5:].rstrip("/")]}]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    watcher = subprocess.Popen(
        [prometheus, f"--config.file={tmp_path / 'prometheus.yml'}",
         f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=(tmp_path / "prometheus.log").open("w"),
    )  # fmt: skip
    return watcher, port


def answers_of(port: int) -> dict[str, dict[str, Any]]:
    """Every dashboard query Prometheus answers now."""
    answers = {expr: _try(port, expr) for expr in dashboard_queries()}
    return {expr: answer for expr, answer in answers.items() if answer is not None}


def test_a_real_prometheus_scrapes_both_and_answers_every_dashboard_query(
    tmp_path: Path,
) -> None:
    async def play_and_watch() -> dict[str, dict[str, Any]]:
        async with (
            running_server(ServerConfig(port=0, layout="small", seed=1, calm=True)) as server,
            running_proxy(ProxyConfig(port=0, upstream=server.url or "", seed=1)) as proxy,
            RemoteBoard(proxy.url or "", "alice") as alice,
        ):
            where = {"pacnet-server": server.url or "", "pacnet-proxy": proxy.url or ""}
            watcher, port = await asyncio.to_thread(start_prometheus, tmp_path, where)
            try:
                assert (await alice.join()).ok
                deadline = time.monotonic() + 60
                while True:  # play and report until Prometheus has seen it all
                    for _ in range(5):
                        assert (await alice.find()).ok
                    seq = int(time.monotonic() * 1000)
                    assert (await alice.report(0, seq, alice.tally.as_counts())).ok
                    await asyncio.sleep(0.5)
                    answers = await asyncio.to_thread(answers_of, port)
                    if all(_results(answers.get(expr)) for expr in SEEN_AT_ONCE):
                        return answers
                    log = (tmp_path / "prometheus.log").read_text()[-2000:]
                    assert time.monotonic() < deadline, log
            finally:
                watcher.terminate()
                await asyncio.to_thread(watcher.wait, 10)

    answers = asyncio.run(play_and_watch())
    assert set(answers) == set(dashboard_queries())
    for expr, answer in answers.items():
        assert answer["status"] == "success", (expr, answer)  # valid PromQL, on these metrics
    rates = answers[SEEN_AT_ONCE[0]]["data"]["result"]
    assert {r["metric"]["outcome"] for r in rates} >= {"SUCCESS"}


def _results(answer: dict[str, Any] | None) -> list[Any]:
    return list(answer["data"]["result"]) if answer is not None else []


def _try(port: int, expr: str) -> dict[str, Any] | None:
    try:
        return query(port, expr)
    except OSError:
        return None  # not listening yet


# --- docker-compose.cluster.yml: a group of servers behind HAProxy -------------------------

CLUSTER_SERVERS = ["s1=s1:8765", "s2=s2:8765"]


def test_the_cluster_compose_file_has_its_services_and_every_file_it_mounts() -> None:
    services = CLUSTER["services"]
    assert set(services) == {"redis", "s1", "s2", "haproxy", "follow"}
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert (ROOT / source).is_file(), f"{name} mounts {source}, which is missing"


def test_haproxys_configuration_for_compose_is_the_one_pacnet_makes_and_haproxy_accepts(
    tmp_path: Path,
) -> None:
    pacnet = shutil.which("pacnet")
    assert pacnet is not None
    made = subprocess.run(
        [pacnet, "cluster", "config", "--servers", ",".join(CLUSTER_SERVERS)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert (ROOT / "deploy" / "haproxy" / "haproxy.cfg").read_text() == made.stdout, (
        "deploy/haproxy/haproxy.cfg is stale: pacnet cluster config --servers "
        f"{','.join(CLUSTER_SERVERS)} > deploy/haproxy/haproxy.cfg"
    )
    # The same configuration with addresses this machine resolves, checked by HAProxy itself.
    for name in ("rooms.map", "lobby.map"):
        (tmp_path / name).write_text((ROOT / "deploy" / "haproxy" / name).read_text())
    here = made.stdout.replace(" s1:8765", " 127.0.0.1:8765").replace(" s2:8765", " 127.0.0.1:8766")
    config = tmp_path / "haproxy.cfg"
    config.write_text(here.replace("/usr/local/etc/haproxy/", f"{tmp_path}/"))
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    checked = subprocess.run([haproxy, "-c", "-f", str(config)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
