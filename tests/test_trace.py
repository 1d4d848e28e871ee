"""``pacnet trace``: one call's story joined from the client's and the server's JSON logs,
and the checker that holds every outcome against what the server really did."""

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from pacnet.client.remote import RemoteBoard
from pacnet.client.timeouts import Timeouts
from pacnet.cluster.components import Redis
from pacnet.cmdline.logs import configure_logging
from pacnet.faults.admin import AdminClient
from pacnet.main import main
from pacnet.protocol.outcome import Outcome
from pacnet.protocol.rooms import room_url
from pacnet.proxy.config import ProxyConfig
from pacnet.proxy.relay import running_proxy
from pacnet.trace.logs import read_events, server_span, stories
from pacnet.trace.verdict import Story, Verdict
from tests.conftest import MS, ROOT, ServerProcess


@pytest.fixture
def client_log(tmp_path: Path) -> Iterator[Path]:
    """This process logs JSON to a file while the test runs (as ``pacnet play --trace``)."""
    path = tmp_path / "client.log"
    saved = structlog.get_config()
    with path.open("w") as stream:
        configure_logging("json", stream=stream)
        try:
            yield path
        finally:
            structlog.configure(**saved)


async def test_the_trace_shows_the_server_acted_on_a_call_the_client_saw_as_unknown(
    server_process: Callable[..., ServerProcess],
    client_log: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = server_process("--layout", "small", "--trace", "--admin-token", "t0ken")
    async with RemoteBoard(
        server.url, "8765309", timeouts=Timeouts(reply=400 * MS), trace=True
    ) as board:
        assert (await board.join()).ok
        async with AdminClient(server.url, "t0ken") as admin:
            assert (await admin.add({"kind": "no_reply", "action": "move", "count": 1})).ok
        lost = await board.move("pacman", "right")
        found = await board.find()
    assert lost.outcome is Outcome.UNKNOWN
    assert found.ok
    server.stop()  # its log is complete

    assert (
        main(["trace", lost.request_id, "--log", str(client_log), "--log", str(server.log_path)])
        == 0
    )
    story = capsys.readouterr().out
    assert f"request {lost.request_id}  move  (user 8765309)" in story
    assert "FAULT s1: no_reply" in story
    assert "update_state" in story
    assert "[acted; reply: none]" in story
    assert f"UNKNOWN (no reply in {400 * MS * 1000:.0f} ms)" in story
    assert "1+ 2? 3? 4? 5? 6? 7? 8?" in story
    assert "verdict: UNKNOWN, and the server acted" in story

    assert main(["trace", "--check", "--log", str(client_log), "--log", str(server.log_path)]) == 0
    check = capsys.readouterr().out
    assert "UNKNOWN, and the server acted" in check
    assert "0 violation(s)" in check


def test_an_unknown_request_id_and_a_missing_log_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "empty.log"
    log.write_text("not json\n")
    assert main(["trace", "nope-1", "--log", str(log)]) == 1
    assert capsys.readouterr().err == "pacnet trace: error: no log line mentions request 'nope-1'\n"
    assert main(["trace", "x", "--log", str(tmp_path / "missing.log")]) == 1
    assert "cannot read" in capsys.readouterr().err


# The verdicts below are built from hand-written log lines: a correct server and client never
# produce a violation, which is the point of the checker. The real path is tested above.


def lines(*events: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"timestamp": f"2026-11-25T10:00:00.{i:06d}Z", **e} for i, e in enumerate(events)]


def call(outcome: str, action: str = "move") -> dict[str, Any]:
    return {"event": "call_traced", "requestId": "r-1", "action": action, "outcome": outcome,
            "latencyMs": 1.0, "domain": "client"}  # fmt: skip


def served(acted: bool) -> dict[str, Any]:
    return {"event": "request_traced", "requestId": "r-1", "acted": acted, "domain": "server",
            "stages": {}, "reply": "ok"}  # fmt: skip


@pytest.mark.parametrize(
    ("events", "verdict"),
    [
        (lines(served(True), call("SUCCESS")), Verdict.AGREE),
        (lines(served(False), call("FATAL")), Verdict.AGREE),
        (lines(served(True), call("RETRYABLE")), Verdict.VIOLATION),
        (lines(call("POST_FAILED"), served(True)), Verdict.VIOLATION),
        (lines(served(False), call("SUCCESS")), Verdict.FALSE_SUCCESS),
        (lines(served(True), served(True), call("UNKNOWN")), Verdict.APPLIED_TWICE),
        (lines(served(True), served(True), call("SUCCESS", "find")), Verdict.AGREE),
        (lines(call("UNKNOWN")), Verdict.UNKNOWN_NEVER_SEEN),
    ],
)
def test_the_checker_holds_each_outcome_against_the_servers_truth(
    events: list[dict[str, Any]], verdict: Verdict
) -> None:
    story = Story("r-1", events)
    assert story.verdict(server_traces=True) is verdict


def test_a_violation_fails_the_check_and_is_shown_in_full(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "mixed.log"
    log.write_text("\n".join(json.dumps(e) for e in lines(served(True), call("FATAL"))) + "\n")
    assert main(["trace", "--check", "--log", str(log)]) == 1
    out = capsys.readouterr().out
    assert "VIOLATION: the outcome promised nothing happened, but the server acted" in out
    assert "request r-1  move" in out  # the whole story, to see how it came about
    assert "1 violation(s)" in out
    assert stories(read_events([log]))["r-1"].verdict(server_traces=True).alarm


async def test_a_reply_lost_by_the_network_is_traced_through_all_three_domains(
    server_process: Callable[..., ServerProcess],
    client_log: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = server_process("--layout", "small", "--trace", "--admin-token", "t0ken")
    config = ProxyConfig(port=0, upstream=server.url, seed=1, trace=True)
    async with running_proxy(config) as proxy:  # logs to client_log: this process's log
        assert proxy.url is not None
        async with RemoteBoard(
            proxy.url, "8765309", timeouts=Timeouts(reply=400 * MS), trace=True
        ) as board:
            assert (await board.join()).ok
            async with AdminClient(proxy.url, proxy.admin.token) as admin:
                drop = {"kind": "drop", "direction": "reply", "action": "move", "count": 1}
                assert (await admin.add(drop)).ok
            lost = await board.move("pacman", "right")
    assert lost.outcome is Outcome.UNKNOWN
    server.stop()

    assert (
        main(["trace", lost.request_id, "--log", str(client_log), "--log", str(server.log_path)])
        == 0
    )
    story = capsys.readouterr().out.splitlines()
    domains = ("client", "network", "server")
    said = [next(w for w in line.split() if w in domains) for line in story if line[2:3].isdigit()]
    # The client sent, the network relayed, the server acted, the network lost the reply
    # (the fault, then the relay's own line), and the client gave up.
    assert said == ["client", "network", "server", "network", "network", "client"], story
    assert story[1].split()[1] == "client"  # the first line has no gap before it
    assert all(" ms  " in line for line in story[2:7])  # every later one its hop's time
    assert any("request on connection 1: relayed" in line for line in story)
    assert any("FAULT n1: drop reply (DELIVER_REPLY)" in line for line in story)
    assert any("reply on connection 1: lost" in line for line in story)
    assert story[-1] == "  verdict: UNKNOWN, and the server acted"


async def test_faulted_tells_the_stories_of_the_requests_a_fault_hit_even_a_crash(
    server_process: Callable[..., ServerProcess],
    client_log: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = server_process("--layout", "small", "--trace", "--admin-token", "t0ken")
    async with RemoteBoard(server.url, "8765309", trace=True) as board:
        assert (await board.join()).ok
        async with AdminClient(server.url, "t0ken") as admin:
            assert (await admin.add({"kind": "crash", "crash": "abort", "action": "move"})).ok
        crashed = await board.move("pacman", "right")
    assert crashed.outcome is Outcome.UNKNOWN
    server.stop()
    logs = ["--log", str(client_log), "--log", str(server.log_path)]
    assert main(["trace", "--faulted", *logs]) == 0
    story = capsys.readouterr().out.splitlines()
    assert story[0] == f"request {crashed.request_id}  move  (user 8765309)"
    assert any("FAULT s1: crash" in line for line in story)
    assert any("receive 0.000 ms  [did not act; reply: none]" in line for line in story)
    assert "  the server: saw it and did not act" in story
    assert story[-1] == "  verdict: UNKNOWN, and the server saw it but did not act"


def _ctrl_c_heard() -> None:
    """Ctrl-C as at a terminal: a test run started in the background (``pytest &``) ignores
    SIGINT, and a child would inherit that and never hear it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_follow_prints_each_call_as_it_settles_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    log = tmp_path / "live.log"
    log.write_text(
        json.dumps({**call("SUCCESS"), "requestId": "old-1"}) + "\n"
    )  # before: not shown
    follower = subprocess.Popen(
        [sys.executable, "-m", "pacnet", "trace", "--follow", "--log", str(log)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT, preexec_fn=_ctrl_c_heard,
    )  # fmt: skip
    try:
        assert follower.stdout is not None
        assert follower.stdout.readline().startswith("following live.log")  # tailing it now
        with log.open("a") as out:
            for event in lines(served(True), call("UNKNOWN")):
                out.write(json.dumps(event) + "\n")
            success = {**call("SUCCESS", "find"), "requestId": "r-2"}
            out.write(json.dumps({**served(True), "requestId": "r-2"}) + "\n")
            out.write(json.dumps(success) + "\n")
        time.sleep(1.5)  # each call settles half a second after its client line
        follower.send_signal(signal.SIGINT)
        printed, _ = follower.communicate(timeout=10)
    finally:
        follower.kill()
    assert follower.returncode == 0
    assert "old-1" not in printed
    assert "request r-1  move  (user None)" in printed
    assert "  verdict: UNKNOWN, and the server acted" in printed
    assert "r-2  find  SUCCESS" in printed


def at(seconds: float, event: dict[str, Any], **more: Any) -> dict[str, Any]:
    """``event`` logged ``seconds`` after 10:00:00."""
    stamp = f"2026-11-25T10:00:{seconds:09.6f}+00:00"
    return {**event, "timestamp": stamp, **more}


def other(request_id: str, seconds: float) -> dict[str, Any]:
    """Another request the server traced ``seconds`` after 10:00:00 (its log's reach)."""
    return at(seconds, {**served(True), "requestId": request_id})


@pytest.mark.parametrize(
    ("events", "verdict"),
    [
        ([other("r-0", 1.0), at(5.0, call("SUCCESS")), other("r-2", 9.0)], Verdict.FALSE_SUCCESS),
        ([other("r-0", 1.0), at(8.9, call("SUCCESS")), other("r-2", 9.0)], Verdict.PENDING),
        ([at(0.5, call("SUCCESS"), sentAt="2026-11-25T10:00:00.400000+00:00"), other("r-0", 1.0),
          other("r-2", 9.0)], Verdict.BEFORE_SERVER_LOG),
        ([other("r-0", 1.0), at(5.0, call("UNKNOWN")), other("r-2", 9.0)], Verdict.UNKNOWN_NEVER_SEEN),
        ([other("r-0", 1.0), at(8.9, call("UNKNOWN")), other("r-2", 9.0)], Verdict.PENDING),
        ([other("r-0", 1.0), at(8.8, served(False)), at(8.9, call("SUCCESS")), other("r-2", 9.0)],
         Verdict.FALSE_SUCCESS),
    ],
    ids=["a-success-the-server-never-logged", "a-success-as-the-log-ends-is-pending",
         "a-success-before-a-new-server-log-is-no-evidence", "unknown-and-never-seen",
         "unknown-as-the-log-ends-is-pending", "a-record-that-says-not-acted-is-evidence"],
)  # fmt: skip
def test_a_call_the_servers_log_does_not_reach_is_pending_never_a_violation(
    events: list[dict[str, Any]], verdict: Verdict
) -> None:
    story = Story("r-1", [e for e in events if e["requestId"] == "r-1"])
    assert story.verdict(server_traces=True, span=server_span(events)) is verdict


def test_check_counts_calls_in_flight_as_pending_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A window still playing: its last call's server line is not in the log yet."""
    log = tmp_path / "mixed.log"
    events = [other("r-0", 1.0), at(8.95, call("SUCCESS")), other("r-2", 9.0)]
    log.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    assert main(["trace", "--check", "--log", str(log)]) == 0
    out = capsys.readouterr().out
    assert "pending" in out
    assert "0 violation(s)" in out


@pytest.mark.parametrize(
    ("room", "head"),
    [
        ("alpha", "request r-1  move  (user u-1, room alpha)"),
        ("main", "request r-1  move  (user u-1)"),
        (None, "request r-1  move  (user u-1)"),
    ],
    ids=["a-room-is-named", "the-default-room-is-not", "a-log-without-rooms"],
)
def test_a_story_names_the_room_its_server_line_gives(
    room: str | None, head: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server_line = {**served(True), **({"room": room} if room else {})}
    log = tmp_path / "mixed.log"
    events = lines(server_line, {**call("SUCCESS"), "userId": "u-1"})
    log.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    assert main(["trace", "r-1", "--log", str(log)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == head


async def test_a_move_whose_snapshot_write_went_unknown_shows_both_levels(
    server_process: Callable[..., ServerProcess],
    redis_server: Redis,
    client_log: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The recursion in one story: a player's move, SUCCESS, and then the server's own call to
    Redis that was to save it, whose reply was lost: UNKNOWN, one level down."""
    server = server_process(
        "--name", "s1", "--redis", f"127.0.0.1:{redis_server.port}", "--layout", "small",
        "--trace", "--admin-token", "t0ken", "--snapshot-interval", "0.3",
        command=("cluster", "serve"),
    )  # fmt: skip
    async with RemoteBoard(room_url(server.url, "arcade"), "8765309", trace=True) as board:
        assert (await board.join()).ok
        async with AdminClient(server.url, "t0ken") as admin:
            fault = {"kind": "store_drop", "direction": "reply", "action": "snapshot.save",
                     "count": 1}  # fmt: skip
            assert (await admin.add(fault)).ok
        moved = await board.move("pacman", "right")
        await asyncio.sleep(1.2)  # the next save, and its half second's deadline
    assert moved.ok
    server.stop()

    logs = ["--log", str(client_log), "--log", str(server.log_path)]
    assert main(["trace", moved.request_id, *logs]) == 0
    story = capsys.readouterr().out
    assert f"request {moved.request_id}  move  (user 8765309, room arcade)" in story
    assert "[acted; reply: ok]" in story
    assert "FAULT s1: store_drop reply (DELIVER_REPLY)" in story
    assert "its own call to Redis, snapshot.save: UNKNOWN (no reply within 0.5 s" in story
    assert "verdict: agree" in story, "the player's call is one level up, and it succeeded"
