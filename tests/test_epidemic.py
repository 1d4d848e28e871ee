"""The catalog server's epidemic, end to end, on a real group: ``pacnet cluster up`` (Redis,
two board servers, HAProxy from the OS's packages), players in eight rooms, and two crowds of
seekers finding their rooms through the lobby at once: one trusts the lobby, one validates it.

One server's disk fills up (``disk_full --action lobby``): its lobby answers at once with no
room. The test measures what the article says happens, and what each cure changes:

- with a balancer that checks only that servers are alive, leastconn sends the broken
  server most of the lobby's requests, and the trusting seekers open rooms nobody needed
  until joins fail;
- the validating seekers (step 7) open nothing and fail no join, though the broken server
  keeps drawing their requests too;
- with the balancer checking the store (``pacnet cluster lobby-check store``), the broken
  server is out of the lobby, and nobody is harmed.
"""

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pacnet.cluster.seek import ask_lobby
from pacnet.cluster.stack import Stack
from pacnet.protocol.outcome import Outcome
from pacnet.server.net import BoardServer
from tests.conftest import ROOT
from tests.test_cluster import pacnet

sys.path.insert(0, str(ROOT / "bench"))
from epidemic import CROWDS, epidemic
from epidemic import group as bench_group


@pytest.fixture
def group(tmp_path: Path) -> Iterator[Stack]:
    """A group of two servers on the classic maze (a lobby that reads eight classic games
    does real work), its lobby checked for life alone: the article's balancer
    (``bench/epidemic.py``'s)."""
    with bench_group(tmp_path / "cluster") as stack:
        yield stack


async def test_a_full_disk_draws_the_lobby_harms_the_trusting_and_each_cure_does_its_part(
    group: Stack,
) -> None:
    """The phases of ``bench/epidemic.py``, short: its figures are what the docs show."""

    async def switch(check: str) -> None:  # as a facilitator does it
        shown = await asyncio.to_thread(
            pacnet, "cluster", "lobby-check", check, "--dir", group.directory
        )
        assert shown.returncode == 0, shown.stderr
        assert f"({check})" in shown.stdout

    rows = await epidemic(group, seekers=20, stay=0.2, seconds=3.0, switch_check=switch)
    by = {(row.phase, row.crowd): row for row in rows}
    healthy = [by["healthy", crowd] for crowd in CROWDS]
    assert all(0.3 < row.broken_share < 0.7 for row in healthy), healthy
    assert all((row.empty, row.opened, row.failed) == (0, 0, 0) for row in healthy), healthy

    trusting, validating = by["full disk", "trusting"], by["full disk", "validating"]
    for row in (trusting, validating):  # (about 75% here; 66% with two more test runs)
        assert row.broken_share > 0.6, f"leastconn favours the fast, empty lobby: {row}"
    assert trusting.opened > 0, "the trusting seekers opened rooms nobody needed"
    assert trusting.failed > 0, "until the servers had no room left, and joins failed"
    assert (validating.opened, validating.failed) == (0, 0), "validated: no harm"
    assert validating.refused > 0
    assert validating.joined > 0

    cured = [by["store check", crowd] for crowd in CROWDS]
    assert all(row.broken_share == 0 for row in cured), "out of the lobby"
    assert all((row.empty, row.opened, row.failed) == (0, 0, 0) for row in cured), cured
    assert all(row.joined > 0 for row in cured)


async def test_an_ask_of_the_lobby_ends_in_an_outcome_as_any_remote_call_does(
    server: BoardServer, closed_port: int
) -> None:
    """Answered: SUCCESS, with the lobby. Nothing listening: POST_FAILED, nothing was
    asked. Listening but silent past the deadline: UNKNOWN."""
    assert server.url is not None
    port = int(server.url.rsplit(":", 1)[1])
    answered = await ask_lobby("127.0.0.1", port)
    assert answered.outcome is Outcome.SUCCESS
    assert answered.lobby is not None
    assert [room.name for room in answered.lobby.rooms] == ["main"]
    refused = await ask_lobby("127.0.0.1", closed_port)
    assert (refused.outcome, refused.lobby) == (Outcome.POST_FAILED, None)
    silent = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
    async with silent:
        silent_port = silent.sockets[0].getsockname()[1]
        unanswered = await ask_lobby("127.0.0.1", silent_port, within=0.3)
    assert (unanswered.outcome, unanswered.why) == (Outcome.UNKNOWN, "no answer in time")


def test_chaos_run_epidemic_plays_the_fault_and_the_balancers_cure_then_puts_both_back(
    group: Stack,
) -> None:
    """The scenario switches the fault on one server of the group, and the group's
    balancer through HAProxy's runtime API; at its end both are as they were."""
    s2 = next(member for member in group.members if member.name == "s2")
    played = pacnet(
        "chaos", "run", "epidemic", "--time-scale", "0.02", "--server",
        f"ws://127.0.0.1:{s2.port}", "--token", group.admin_token, "--cluster", group.directory,
    )  # fmt: skip
    assert played.returncode == 0, played.stdout + played.stderr
    said = " ".join(played.stdout.split())
    checks = [
        "the lobby's balancer checks: that a server is alive (live)",
        "on: s1 on the server: disk_full action=lobby",
        "the lobby's balancer checks: that a server is alive and can read the store (store)",
        "every fault it set is off; the lobby's balancer checks that a server is alive (live)",
    ]
    positions = [said.find(check) for check in checks]
    assert -1 not in positions, said
    assert positions == sorted(positions), "in the scenario's order"
    assert group.lobby_check() == "live", "as it was before the run"
    listed = pacnet(
        "chaos", "list", "--json", "--server", f"ws://127.0.0.1:{s2.port}",
        "--token", group.admin_token,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["server"]["faults"] == [], "the fault is off again"


def test_status_watch_looks_again_every_second_until_ctrl_c(group: Stack) -> None:
    watching = subprocess.Popen(
        [sys.executable, "-m", "pacnet", "cluster", "status", "--watch", "--dir",
         group.directory],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    time.sleep(3.5)
    watching.send_signal(signal.SIGINT)
    out, err = watching.communicate(timeout=10)
    assert watching.returncode == 0, err
    assert err == ""
    assert out.count("pacnet cluster at ") >= 2, out
    assert out.count("the lobby's balancer checks that a server is alive (live)") >= 2


async def test_a_scenario_that_switches_the_balancer_says_so_in_one_line_when_no_group_is_up(
    tmp_path: Path, server: BoardServer
) -> None:
    assert server.url is not None
    played = await asyncio.to_thread(
        pacnet, "chaos", "run", "epidemic", "--server", server.url, "--token",
        server.admin.token, "--cluster", str(tmp_path / "none"),
    )  # fmt: skip
    assert played.returncode == 1
    assert played.stderr.strip().splitlines() == [
        f"pacnet chaos: error: no cluster is up in {tmp_path / 'none'} (pacnet cluster up): this "
        "scenario needs a group of servers"
    ]


async def test_seek_finds_rooms_on_a_single_server_too_and_says_what_it_did(
    server: BoardServer, tmp_path: Path, closed_port: int
) -> None:
    """The lobby of a server alone lists its own rooms: seekers join them. An address where
    nothing listens is one line; so is a bad flag."""
    assert server.url is not None
    counts = tmp_path / "seek.json"
    ran = await asyncio.to_thread(
        pacnet, "cluster", "seek", "--server", server.url, "-n", "3", "--duration", "1.5",
        "--stay", "0.1", "--json", str(counts),
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert "3 seekers at" in ran.stdout
    assert "validating the lobby" in ran.stdout
    assert "in all, over 2 s:" in ran.stdout
    seen = json.loads(counts.read_text())
    assert seen["joined"] > 0
    assert seen["answeredBy"] == {server.name: seen["outcomes"]["SUCCESS"]}
    assert (seen["opened"], seen["failed"]) == (0, 0)
    gone = await asyncio.to_thread(
        pacnet, "cluster", "seek", "--server", f"ws://127.0.0.1:{closed_port}"
    )
    assert gone.returncode == 1
    assert gone.stderr.startswith("pacnet cluster seek: error: cannot reach ws://127.0.0.1:")
    assert len(gone.stderr.strip().splitlines()) == 1
    bad = await asyncio.to_thread(pacnet, "cluster", "seek", "--stay", "-1")
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "pacnet cluster seek: error: argument --stay: '-1' must be 0 or more seconds "
        "(see pacnet cluster seek --help)"
    ]
