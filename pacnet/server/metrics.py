"""The server's figures for the tools operators already use: ``GET /metrics``, in the text
format Prometheus scrapes, written by prometheus-client.

The request path counts with plain dicts and a bucket list (``RequestFigures.record``: a few
hundred nanoseconds), and the metric families are made only when someone scrapes, from those
counts and the server's own state (``ServerCollector``). prometheus-client's labelled
``Counter`` and ``Histogram`` would cost a lock and a label lookup on every request, a share of
the request path worth keeping (docs/performance.md). Each server has its own registry, so
servers in one process (the tests, an embedded one) never mix their figures.
"""

from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from pacnet.feeds.metrics import counter, faults_fired
from pacnet.server.reports import Reports

LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)
"""Seconds from a frame's arrival to its reply being written: a localhost request takes a tenth
of a millisecond, one held by a slow client's buffer or a busy loop far more."""


@dataclass
class RequestFigures:
    """Every request the server answered (or did not), by action and how it ended."""

    requests: dict[tuple[str, str], int] = field(default_factory=dict)
    """(action, code) -> requests; the code is ``ok`` for a success, else the error code (or
    ``NO_REPLY``); an action the frame did not name is ``invalid``."""
    buckets: dict[str, list[int]] = field(default_factory=dict)
    """action -> observations per latency bucket (not cumulative), the last one past them."""
    seconds: dict[str, float] = field(default_factory=dict)

    def record(self, action: str, code: str, seconds: float) -> None:
        key = (action, code)
        self.requests[key] = self.requests.get(key, 0) + 1
        counts = self.buckets.get(action)
        if counts is None:
            counts = self.buckets[action] = [0] * (len(LATENCY_BUCKETS) + 1)
        counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.seconds[action] = self.seconds.get(action, 0.0) + seconds


@dataclass
class ServerCounts:
    """The server's events that operators count, beside its requests."""

    keepalive_expiries: int = 0
    tick_overruns: int = 0
    snapshots_written: int = 0
    snapshot_failures: int = 0


@dataclass(frozen=True)
class RoomFigures:
    """What the metrics read of one room."""

    name: str
    users: int
    reports: Reports
    """Its calls, as its players report them: ``charted`` (the article calls since the
    start, by outcome, as the reports' growth says) and ``totals()`` (the current exercise's,
    as the projector's grid shows them)."""


@dataclass(frozen=True)
class Sources:
    """Where the collector reads the server's state at scrape time."""

    requests: RequestFigures
    counts: ServerCounts
    connections: Callable[[], int]
    users: Callable[[], int]
    refused: Callable[[], int]
    cut: Callable[[], int]
    shed: Callable[[], int]
    """Requests refused OVERLOADED for waiting too long to be read."""
    overloaded: Callable[[], bool]
    """Whether requests queue now (``pacnet.server.admission``)."""
    lag: Callable[[], float]
    """Seconds late the server's loop last fired a timer."""
    faults_fired: Callable[[], dict[tuple[str, str], int]]
    """(step, kind) -> times fired, since the start."""
    rooms: Callable[[], list[RoomFigures]]
    """Every room open: its users and its players' reports."""


class ServerCollector(Collector):
    """The metric families of one server, made from its counts when scraped."""

    def __init__(self, sources: Sources) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Metric]:
        s = self.sources
        requests = CounterMetricFamily(
            "pacnet_requests", "Requests answered, by action and code (ok, or the error code).",
            labels=["action", "code"],
        )  # fmt: skip
        for (action, code), n in sorted(s.requests.requests.items()):
            requests.add_metric([action, code], n)
        yield requests
        latency = HistogramMetricFamily(
            "pacnet_request_seconds", "From a frame's arrival to its reply written, by action.",
            labels=["action"],
        )  # fmt: skip
        for action, counts in sorted(s.requests.buckets.items()):
            running, cumulative = 0, []
            for bound, n in zip((*LATENCY_BUCKETS, float("inf")), counts, strict=True):
                running += n
                cumulative.append((_bound(bound), running))
            latency.add_metric([action], cumulative, s.requests.seconds[action])
        yield latency
        yield GaugeMetricFamily(
            "pacnet_connections", "Connections open now, every kind.", value=s.connections()
        )
        rooms = s.rooms()
        yield GaugeMetricFamily("pacnet_users", "Users on the boards now.", value=s.users())
        yield GaugeMetricFamily("pacnet_rooms", "Rooms open now.", value=len(rooms))
        users = GaugeMetricFamily("pacnet_room_users", "Users on each room's board now.",
                                  labels=["room"])  # fmt: skip
        for room in rooms:
            users.add_metric([room.name], room.users)
        yield users
        yield GaugeMetricFamily(
            "pacnet_overloaded", "1 while requests queue: none read on time for a whole "
            "--max-wait (the server sheds them and takes no new players).",
            value=int(s.overloaded()),
        )  # fmt: skip
        yield GaugeMetricFamily(
            "pacnet_loop_lag_seconds", "How late the server's event loop last fired a timer: "
            "how long whatever is ready waits for it.", value=s.lag(),
        )  # fmt: skip
        for name, what, value in (
            ("pacnet_connections_refused", "Handshakes refused for a limit.", s.refused()),
            ("pacnet_connections_cut", "Connections cut: their client stopped reading.", s.cut()),
            ("pacnet_requests_shed", "Requests refused OVERLOADED: they waited too long to be "
             "read.", s.shed()),
            ("pacnet_keepalive_expiries", "Users dropped after the keepalive timeout.",
             s.counts.keepalive_expiries),
            ("pacnet_tick_overruns", "Times the tick fell ten ticks behind and skipped.",
             s.counts.tick_overruns),
            ("pacnet_snapshots_written", "Saves of the game.", s.counts.snapshots_written),
            ("pacnet_snapshot_failures", "Saves of the game that failed.",
             s.counts.snapshot_failures),
        ):  # fmt: skip
            yield counter(name, what, value)
        yield faults_fired("server", s.faults_fired())
        # The room's outcomes, as its clients report them: only a client knows how its call
        # ended (UNKNOWN is its verdict), so these, not pacnet_requests_total, are the grid and
        # the rates the projector shows.
        reported = CounterMetricFamily(
            "pacnet_room_calls", "Each room's article calls by how they ended, as the clients "
            "report them (the projector's rates).", labels=["room", "outcome"],
        )  # fmt: skip
        grid = GaugeMetricFamily(
            "pacnet_room_exercise_calls", "Each room's calls in its current exercise by action "
            "and outcome, as the clients report them (the projector's grid).",
            labels=["room", "action", "outcome"],
        )  # fmt: skip
        for room in rooms:
            for outcome, n in room.reports.charted.items():
                reported.add_metric([room.name, outcome], n)
            for count in room.reports.totals():
                grid.add_metric([room.name, count.action, count.outcome.value], count.calls)
        yield reported
        yield grid


def _bound(seconds: float) -> str:
    return "+Inf" if seconds == float("inf") else repr(seconds)
