"""The proxy's figures for ``GET /metrics`` (``pacnet.feeds.metrics``): its connections and
messages as ``ProxyStatistics`` counts them, and the network's faults that fired."""

from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from pacnet.feeds.metrics import counter, faults_fired
from pacnet.proxy.traffic import ProxyStatistics


class ProxyCollector(Collector):
    """The metric families of one proxy, made from its statistics when scraped."""

    def __init__(
        self,
        statistics: Callable[[], ProxyStatistics],
        fired: Callable[[], dict[tuple[str, str], int]],
    ) -> None:
        self.statistics = statistics
        self.fired = fired

    def collect(self) -> Iterator[Metric]:
        stats = self.statistics()
        yield GaugeMetricFamily(
            "pacnet_proxy_connections", "Client connections open now.", value=stats.connections
        )
        for name, what, value in (
            ("pacnet_proxy_connections_accepted", "Client connections accepted.", stats.accepted),
            ("pacnet_proxy_connections_refused", "Client connections refused: by a refuse "
             "fault, or because the server could not be reached.", stats.refused),
            ("pacnet_proxy_requests", "Messages received from clients.", stats.requests),
            ("pacnet_proxy_replies", "Messages received from the server.", stats.replies),
        ):  # fmt: skip
            yield counter(name, what, value)
        yield faults_fired("network", self.fired())
