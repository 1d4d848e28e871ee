"""How every pacnet process logs: one renderer for its own events and the libraries', and a log
that cannot be written is dropped, never raised."""

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from pacnet.cmdline.logs import Sink, configure_logging


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """Each test configures this process's logging: put it back for the tests after it."""
    config, root = structlog.get_config(), logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    structlog.configure(**config)
    root.handlers[:], root.level = handlers, level


def test_a_librarys_warning_is_a_json_line_in_a_json_log() -> None:
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    logging.getLogger("websockets.server").warning("opening handshake failed")
    structlog.get_logger("pacnet.server").info("server_started", url="ws://127.0.0.1:1")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["event"] for line in lines] == ["opening handshake failed", "server_started"]
    assert lines[0]["logger"] == "websockets.server"
    assert lines[0]["level"] == "warning"
    assert "timestamp" in lines[0]


def test_a_librarys_chatter_below_warning_stays_out() -> None:
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    logging.getLogger("websockets.server").info("connection open")
    assert stream.getvalue() == ""


def test_a_closed_log_drops_lines_instead_of_raising() -> None:
    closed = io.StringIO()
    closed.close()
    configure_logging("json", stream=closed)
    installed = logging.getLogger().handlers[0].stream  # the one sink structlog writes to too
    assert isinstance(installed, Sink)
    structlog.get_logger("pacnet.server").info("server_stopping", signal="SIGTERM")
    lost = installed.lost
    assert lost > 0
    logging.getLogger("asyncio").error("something the loop noticed")  # no exception either
    assert installed.lost > lost
