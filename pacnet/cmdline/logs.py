"""structlog set-up shared by every pacnet process: one line per event, stable keys.

The libraries' own loggers (websockets, asyncio) go through the same renderer, so a JSON log
stays JSON from its first line to its last. A log that can no longer be written (stderr
closed, its pipe's reader gone) is dropped rather than raised: losing the log must never
stop, or keep running, the process it describes.
"""

import contextlib
import logging
import sys
from typing import Literal, TextIO

import structlog

LogFormat = Literal["json", "console"]
LIBRARY_LEVEL = logging.WARNING
"""The libraries' records kept: their warnings and errors, not websockets' line per
connection."""


class Sink:
    """A text stream whose writes never raise: what cannot be written is counted and dropped."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.lost = 0
        """Writes that failed (a structlog line is two: its text, then its newline)."""

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except (OSError, ValueError):  # a closed pipe, or a closed file object
            self.lost += 1
            return 0

    def flush(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.stream.flush()

    def isatty(self) -> bool:
        try:
            return self.stream.isatty()
        except (OSError, ValueError):
            return False


def configure_logging(
    fmt: LogFormat = "console", *, level: int = logging.INFO, stream: TextIO | None = None
) -> None:
    """Send structlog events at ``level`` and above, and the libraries' warnings and errors,
    to ``stream`` (stderr) as JSON or text."""
    sink = Sink(stream or sys.stderr)
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sink.isatty())
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sink),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sink)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(level, LIBRARY_LEVEL))


class LineQuota:
    """How many lines of one kind a process may log: ``rate`` a second, in bursts of up to
    ``burst``; the rest are counted, not written, and ``suppressed`` says how many (and of
    what) once a second, for one summary line. So a peer that makes the server refuse 20,000
    requests costs the log a few hundred lines and a count, not 20,000 lines, and the tick
    that shares the event loop with the logging is not held up by it.

    Pure: the caller passes the time.
    """

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._at: float | None = None
        self._counts: dict[str, int] = {}
        self._said_at: float | None = None

    def allow(self, now: float, what: str = "") -> bool:
        """Whether a line (of ``what``, for the summary) may be written now."""
        if self._at is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        self._counts[what] = self._counts.get(what, 0) + 1
        return False

    def suppressed(self, now: float) -> dict[str, int]:
        """The lines not written since the last summary, by ``what``, when a summary is due
        (a second since the last, and something to say); else empty."""
        if not self._counts or (self._said_at is not None and now - self._said_at < 1.0):
            return {}
        counts, self._counts, self._said_at = self._counts, {}, now
        return counts
