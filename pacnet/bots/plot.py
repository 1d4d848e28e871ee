"""``pacnet bots --plot FILE.png``: outcome rates and latency over the run, per second.

matplotlib is an optional extra (``uv sync --extra plot``): ``require_matplotlib()`` says in
one line how to get it, before any bot starts, and nothing else in pacnet imports it.
"""

import math
from pathlib import Path
from typing import Any

from pacnet.protocol.outcome import Outcome

MIN_SPAN = 0.1
"""Seconds of the run a timeline entry must span to be drawn (``span_s``)."""
INSTALL_HINT = "--plot needs matplotlib: install it with uv sync --extra plot"


class PlotUnavailable(RuntimeError):
    """matplotlib is not installed; the message says how to install it."""


def require_matplotlib() -> None:
    """Check that ``--plot`` can be honoured.

    Raises:
        PlotUnavailable: matplotlib cannot be imported.
    """
    try:
        import matplotlib  # noqa: F401  (only whether it imports)
    except ImportError:
        raise PlotUnavailable(INSTALL_HINT) from None


def plot(data: dict[str, Any], path: Path) -> None:
    """Draw ``data`` (``pacnet.bots.report.summary``) to ``path``: calls per second by
    outcome above, latency p50 and p99 below, one point per second of the run.

    Raises:
        PlotUnavailable: matplotlib cannot be imported.
        OSError: the file cannot be written.
    """
    require_matplotlib()
    import matplotlib

    matplotlib.use("Agg")  # a file, never a window
    from matplotlib import pyplot

    # A rate over less than a tenth of a second says more about the stragglers than the run.
    timeline = [entry for entry in data["timeline"] if entry["span_s"] >= MIN_SPAN]
    seconds = [entry["second"] for entry in timeline]
    figure, (rates, latency) = pyplot.subplots(2, 1, sharex=True, figsize=(10, 6.5))
    try:
        for outcome in Outcome:
            # Per second of the run: the last second is usually cut short by the end.
            counts = [entry[outcome.value] / entry["span_s"] for entry in timeline]
            if any(counts):
                rates.plot(seconds, counts, label=outcome.value, color=outcome.colour)
        rates.set_ylabel("calls per second")
        rates.set_ylim(bottom=0)
        rates.legend(loc="upper left", fontsize="small")
        rates.grid(alpha=0.3)
        for key, style in (("p50_ms", "-"), ("p99_ms", "--")):
            values = [math.nan if entry[key] is None else entry[key] for entry in timeline]
            latency.plot(seconds, values, style, color="#444444", label=key.replace("_ms", ""))
        latency.set_yscale("log")  # p99 can be a hundred times p50
        latency.set_ylabel("call latency (ms)")
        latency.set_xlabel("seconds since the start")
        latency.legend(loc="upper left", fontsize="small")
        latency.grid(alpha=0.3)
        run = data["run"]
        processes = f"{run['processes']} process" + ("es" if run["processes"] > 1 else "")
        figure.suptitle(f"pacnet bots: {run['bots']} {run['strategy']} bots, {processes}")
        figure.tight_layout()
        figure.savefig(path, dpi=100)
    finally:
        pyplot.close(figure)
