"""``GET /metrics`` for the server and the proxy alike: the text format Prometheus scrapes,
written by prometheus-client from a component's own registry (``pacnet/server/metrics.py``,
``pacnet/proxy/metrics.py`` say what each counts)."""

from http import HTTPStatus

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from websockets.asyncio.server import ServerConnection
from websockets.http11 import Response

METRICS_PATH = "/metrics"


def metrics_response(connection: ServerConnection, registry: CollectorRegistry) -> Response:
    """The answer to ``GET /metrics``: the registry's metrics, as Prometheus reads them."""
    response = connection.respond(HTTPStatus.OK, "")
    response.body = generate_latest(registry)
    del response.headers["Content-Type"], response.headers["Content-Length"]
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    response.headers["Content-Length"] = str(len(response.body))
    return response


def registry_of(*collectors: Collector) -> CollectorRegistry:
    """A registry of its own for one component, so components sharing a process (the tests,
    an embedded server) never mix their figures."""
    registry = CollectorRegistry(auto_describe=False)
    for collector in collectors:
        registry.register(collector)
    return registry


def counter(name: str, what: str, value: float) -> CounterMetricFamily:
    """One unlabelled counter (``name`` without ``_total``: the family adds it)."""
    return CounterMetricFamily(name, what, value=value)


def faults_fired(domain: str, fired: dict[tuple[str, str], int]) -> CounterMetricFamily:
    """``pacnet_faults_fired_total{domain, step, kind}`` from a fault set's ``fired``."""
    family = CounterMetricFamily(
        "pacnet_faults_fired", "Faults injected, by the article's step and the fault's kind.",
        labels=["domain", "step", "kind"],
    )  # fmt: skip
    for (step, kind), n in sorted(fired.items()):
        family.add_metric([domain, step, kind], n)
    return family
