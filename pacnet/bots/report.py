"""What ``pacnet bots`` shows: the live display while the bots play, and the report after.

``summary()`` turns a fleet's counts into one plain dict: ``--json`` writes it as it is, the
printed report and ``--plot`` are drawn from it, so the three cannot disagree. Its shape is
documented in docs/bots.md.
"""

from collections import deque
from dataclasses import dataclass
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from pacnet.bots.counts import FleetCounts, Gauges, Latencies
from pacnet.client.report import outcome_table
from pacnet.client.tally import OutcomeTally
from pacnet.protocol.actions import ARTICLE_CALLS
from pacnet.protocol.outcome import Outcome

REPORTED_CALLS = (*ARTICLE_CALLS, "join")
"""The article's four calls, and the join every bot makes (again after a game over or when
the server gave up on it, and to resume its session after a reconnection)."""
PERCENTILES = {"p50": 0.50, "p90": 0.90, "p99": 0.99}


@dataclass(frozen=True, kw_only=True)
class RunInfo:
    """What the report says about the run itself."""

    bots: int
    strategy: str
    processes: int
    server: str
    embedded: bool
    duration: float
    ramp: float
    seed: int
    retries: bool
    rooms: tuple[str, ...]
    """The rooms the bots were dealt into, in turn."""


class Rates:
    """Calls and attempts per second over the last few seconds, from running totals."""

    def __init__(self, window: float = 2.0) -> None:
        self._window = window
        self._seen: deque[tuple[float, int, int]] = deque()

    def update(self, now: float, calls: int, attempts: int) -> tuple[float, float]:
        """Note the totals at ``now``; returns (calls, attempts) per second."""
        self._seen.append((now, calls, attempts))
        while len(self._seen) > 2 and now - self._seen[1][0] >= self._window:
            self._seen.popleft()
        then, calls_then, attempts_then = self._seen[0]
        span = now - then
        if span <= 0:
            return 0.0, 0.0
        return (calls - calls_then) / span, (attempts - attempts_then) / span


# --- while running ---


def live_view(
    gauges: Gauges, info: RunInfo, elapsed: float, rates: tuple[float, float]
) -> RenderableType:
    """The live display: progress, bots connected, calls per second, the outcome grid."""
    calls, attempts = rates
    head = Text(f"pacnet bots: {elapsed:5.1f} s of {info.duration:g} s   ", style="bold")
    head.append(f"{gauges.connected}/{info.bots} bots connected{_in_rooms(info)}   ")
    head.append(f"{calls:,.0f} calls/s   {attempts:,.0f} attempts/s")
    foot = Text(
        f"deaths {gauges.deaths}   re-joins {gauges.rejoins}   "
        f"reconnections {gauges.reconnections} ({gauges.connections_lost} lost)",
        style="dim",
    )
    return Group(head, outcome_table(gauges.calls), foot)


def plain_line(gauges: Gauges, info: RunInfo, elapsed: float, rates: tuple[float, float]) -> str:
    """The live display as one line, for a log file or a pipe."""
    outcomes = " ".join(f"{o.value} {gauges.calls.total(outcome=o)}" for o in Outcome)
    return (
        f"pacnet bots: {elapsed:.0f} s: {gauges.connected}/{info.bots} connected"
        f"{_in_rooms(info)}, "
        f"{rates[0]:.0f} calls/s, {outcomes}, deaths {gauges.deaths}, "
        f"re-joins {gauges.rejoins}, reconnections {gauges.reconnections}"
    )


def _in_rooms(info: RunInfo) -> str:
    return f" in {len(info.rooms)} rooms" if len(info.rooms) > 1 else ""


# --- at the end ---


def summary(
    counts: FleetCounts, info: RunInfo, elapsed: float, problems: list[str] | None = None
) -> dict[str, Any]:
    """Everything the report says, as JSON-ready data (docs/bots.md: "The report as JSON")."""
    gauges = counts.gauges()
    calls_total, attempts_total = gauges.calls.total(), gauges.attempts.total()
    timeline = _timeline(counts, elapsed)
    return {
        "run": {
            "bots": info.bots, "strategy": info.strategy, "processes": info.processes,
            "server": info.server, "embedded": info.embedded, "duration_s": info.duration,
            "ramp_s": info.ramp, "seed": info.seed, "retries": info.retries,
            "rooms": list(info.rooms), "elapsed_s": round(elapsed, 3),
        },
        "bots": {
            "started": gauges.bots, "connected_at_end": gauges.connected,
            "by_room": {room: gauges.rooms[room] for room in info.rooms},
        },
        "calls": _grid(gauges.calls),
        "attempts": _grid(gauges.attempts),
        "calls_total": calls_total,
        "attempts_total": attempts_total,
        "calls_per_second": round(calls_total / elapsed, 1) if elapsed > 0 else 0.0,
        "peak_calls_per_second": max((s["calls"] for s in timeline[1:-1]), default=None),
        "latency_ms": {
            action: _latency(counts.samples.latencies.get(action)) for action in REPORTED_CALLS
        },
        "rejoins": gauges.rejoins,
        "reconnections": {
            "connections_lost": gauges.connections_lost,
            "reconnected": gauges.reconnections,
            "tries": gauges.reconnect_tries,
        },
        "deaths": gauges.deaths,
        "games_over": gauges.games_over,
        "scores": {
            "total": gauges.scores.total, "best": gauges.scores.best,
            "mean": round(gauges.scores.mean, 1), "games": gauges.scores.games,
        },
        "strategy_errors": {
            "count": gauges.strategy_errors, "first": gauges.first_strategy_error or None
        },
        "timeline": timeline,
        "problems": list(problems or ()),
    }  # fmt: skip


def report(data: dict[str, Any]) -> RenderableType:
    """The final report, drawn from ``summary()``'s data."""
    run = data["run"]
    where = f"the embedded server {run['server']}" if run["embedded"] else run["server"]
    processes = f"{run['processes']} process" + ("es" if run["processes"] > 1 else "")
    retries = "" if run["retries"] else ", no retries"
    head = Text(
        f"pacnet bots: {data['bots']['started']} {run['strategy']} bots for "
        f"{run['elapsed_s']:.1f} s on {where} ({processes}, seed {run['seed']}{retries})",
        style="bold",
    )
    tally = OutcomeTally()
    for action, row in data["calls"].items():
        for outcome, n in row.items():
            tally.counts[action, Outcome(outcome)] = n
    return Group(
        head, outcome_table(tally, "calls by outcome"), _latency_table(data), *_figures(data)
    )


def _latency_table(data: dict[str, Any]) -> Table:
    table = Table(title="calls, attempts and latency per call", title_justify="left")
    for column in ("call", "calls", "attempts", "p50 ms", "p90 ms", "p99 ms", "max ms"):
        table.add_column(column, justify="left" if column == "call" else "right")
    for action in REPORTED_CALLS:
        latency = data["latency_ms"][action]
        shown = [
            "-" if latency is None else f"{latency[key]:.1f}"
            for key in (*PERCENTILES, "max")
        ]  # fmt: skip
        calls = sum(data["calls"][action].values())
        attempts = sum(data["attempts"][action].values())
        table.add_row(action, f"{calls:,}", f"{attempts:,}", *shown)
    table.add_row(
        "all", f"{data['calls_total']:,}", f"{data['attempts_total']:,}", "", "", "", "",
        style="bold",
    )  # fmt: skip
    return table


def _figures(data: dict[str, Any]) -> list[Text]:
    reconnections, scores, errors = data["reconnections"], data["scores"], data["strategy_errors"]
    peak = data["peak_calls_per_second"]
    lines = [
        f"bots              {data['bots']['started']:,} started, "
        f"{data['bots']['connected_at_end']:,} connected at the end",
        "rooms             "
        + ", ".join(f"{room} {n:,}" for room, n in data["bots"]["by_room"].items())
        + " (bots started in each)",
        f"calls per second  {data['calls_per_second']:,.0f} on average"
        + (f", {peak:,} at peak" if peak is not None else ""),
        f"re-joins          {data['rejoins']:,} (the server gave up on a bot; it joined again)",
        f"reconnections     {reconnections['reconnected']:,} (connections lost "
        f"{reconnections['connections_lost']:,}, tries {reconnections['tries']:,})",
        f"deaths            {data['deaths']:,} (games over {data['games_over']:,})",
        f"scores            total {scores['total']:,}, best {scores['best']:,}, "
        f"mean {scores['mean']:,.1f} over {scores['games']:,} games",
    ]
    if errors["count"]:
        lines.append(f"strategy errors   {errors['count']:,} (first: {errors['first']})")
    texts = [Text(line) for line in lines]
    texts += [Text(f"problem: {problem}", style="bold red") for problem in data["problems"]]
    return texts


def _grid(tally: OutcomeTally) -> dict[str, dict[str, int]]:
    actions = [*REPORTED_CALLS, *sorted({a for a, _ in tally.counts} - set(REPORTED_CALLS))]
    return {a: {o.value: tally.count(a, o) for o in Outcome} for a in actions}


def _latency(latencies: Latencies | None) -> dict[str, float | int] | None:
    if latencies is None or not latencies.count:
        return None
    shown: dict[str, float | int] = {"calls": latencies.count}
    for key, fraction in PERCENTILES.items():
        shown[key] = round((latencies.percentile(fraction) or 0.0) * 1000, 3)
    shown["max"] = round(latencies.max * 1000, 3)
    return shown


def _timeline(counts: FleetCounts, elapsed: float) -> list[dict[str, Any]]:
    """One entry per second of the run, gaps (seconds without a call) included, each with how
    much of that second the run lasted (``span_s``: the last one is cut short by the end, and
    calls still in flight at the end land in a second with nothing left of the run)."""
    timeline = counts.samples.timeline
    if not timeline:
        return []
    entries = []
    for second in range(min(timeline), max(timeline) + 1):
        bucket = timeline.get(second)
        outcomes = {o.value: bucket.outcomes[o] if bucket else 0 for o in Outcome}
        latencies = bucket.latencies if bucket else Latencies()
        p50, p99 = latencies.percentile(0.5), latencies.percentile(0.99)
        entries.append({
            "second": second, "span_s": round(min(1.0, max(0.0, elapsed - second)), 3),
            "calls": sum(outcomes.values()), **outcomes,
            "p50_ms": None if p50 is None else round(p50 * 1000, 3),
            "p99_ms": None if p99 is None else round(p99 * 1000, 3),
        })  # fmt: skip
    return entries
