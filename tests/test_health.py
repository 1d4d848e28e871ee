"""``GET /healthz``: 200 while the server serves, 503 with the reason when it cannot; what a
load balancer and the image's health check ask."""

import json
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pacnet.server.health import STALL_AFTER, Health
from tests.conftest import MS, ServerProcess


def healthz(url: str) -> tuple[int, dict[str, Any]]:
    """The status and JSON body of ``GET /healthz`` on the server at ``url`` (ws://...)."""
    http = url.replace("ws://", "http://", 1) + "/healthz"
    try:
        with urllib.request.urlopen(http, timeout=5) as response:
            assert response.headers["Content-Type"] == "application/json"
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def until(check: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.05)


def test_a_serving_server_is_healthy(server_process: Callable[..., ServerProcess]) -> None:
    server = server_process("--no-state")
    status, body = healthz(server.url)
    assert status == 200
    assert body["status"] == "ok"
    assert body["reason"] == "serving"
    assert body["users"] == 0


def test_a_game_that_cannot_be_saved_is_unhealthy_until_it_can(
    server_process: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    state = tmp_path / "state.sqlite"
    server = server_process("--state", str(state), "--snapshot-interval", "0.1")
    assert healthz(server.url)[0] == 200
    with sqlite3.connect(state) as db:  # the store breaks under the running server
        db.execute("DROP TABLE room_snapshot")
    until(lambda: healthz(server.url)[0] == 503, 3000 * MS)
    body = healthz(server.url)[1]
    assert body["status"] == "unavailable"
    assert body["reason"].startswith("the game cannot be saved: cannot write ")
    assert "no such table: room_snapshot" in body["reason"]
    time.sleep(0.5)  # several more failed snapshots: logged once, not each time
    assert [e["event"] for e in server.events()].count("snapshot_failed") == 1
    with sqlite3.connect(state) as db:  # repaired: the next snapshot succeeds
        db.execute(
            "CREATE TABLE room_snapshot (room TEXT PRIMARY KEY, schema INTEGER NOT NULL, "
            "layout TEXT NOT NULL, taken_at REAL NOT NULL, data TEXT NOT NULL)"
        )
    until(lambda: healthz(server.url)[0] == 200, 3000 * MS)
    assert any(e["event"] == "snapshot_recovered" for e in server.events())
    assert server.process.poll() is None  # the game went on all along


@pytest.mark.parametrize(
    ("events", "ready", "reason"),
    [
        ([], True, "serving"),
        (["stopping"], False, "stopping"),
        (["save_failed"], False, "the game cannot be saved: disk full"),
        (["save_failed", "saved"], True, "serving"),
        (["stall"], False, f"the board's clock is stalled: no tick for {STALL_AFTER + 1:.1f} s"),
        (["stall", "ticked"], True, "serving"),
        (["save_failed", "stopping"], False, "stopping"),
    ],
    ids=["fresh", "stopping", "cannot-save", "saved-again", "stalled", "ticking-again",
         "stopping-first"],
)  # fmt: skip
def test_the_verdict_names_the_first_reason_not_to_serve(
    events: list[str], ready: bool, reason: str
) -> None:
    health, now = Health(now=0.0), 0.0
    for event in events:
        match event:
            case "stopping":
                health.stopping()
            case "save_failed":
                health.save_failed("disk full")
            case "saved":
                health.saved()
            case "stall":
                now += STALL_AFTER + 1
            case "ticked":
                health.ticked(now)
    verdict = health.check(now)
    assert (verdict.ready, verdict.reason) == (ready, reason)


def test_a_failed_save_is_news_once() -> None:
    health = Health(now=0.0)
    assert health.save_failed("disk full") is True
    assert health.save_failed("disk full") is False
    health.saved()
    assert health.save_failed("disk full") is True


def test_a_save_after_a_failure_is_news_once_whatever_else_is_wrong() -> None:
    health = Health(now=0.0)
    assert health.saved() is False  # nothing had failed
    health.save_failed("disk full")
    health.stopping()  # the verdict now says "stopping", not the failed save
    assert health.saved() is True
    assert health.saved() is False
