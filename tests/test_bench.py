"""The benchmarks still run, and their table says what the figures say (bench/)."""

import asyncio
import json
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

import instructions  # noqa: E402
import restart  # noqa: E402
import roundtrip  # noqa: E402
import run  # noqa: E402
import servers  # noqa: E402
import users  # noqa: E402
from fleet import accepts_for  # noqa: E402
from messages import TURNS, article_text, window_text  # noqa: E402

from pacnet.client.retry import Reconnects  # noqa: E402
from pacnet.server.board import Board  # noqa: E402
from pacnet.server.layout import load_layout  # noqa: E402


@pytest.mark.parametrize("request_", sorted(instructions.REQUESTS))
def test_the_loop_instructions_are_counted_in_runs_every_request_right(request_: str) -> None:
    """The loop bench/instructions.py runs under callgrind, here without it: each request is
    answered with a success (the loop asserts it), on the server of this checkout."""
    command = [
        sys.executable, "-c", instructions.LOOP, str(instructions.ROOT), str(instructions.MAZE),
        "200", "pacnet.",
    ]  # fmt: skip
    done = subprocess.run(
        command, input=instructions.loop_input(request_), capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def cell(server: str, n: int, rate: float, p50: float, p99: float) -> roundtrip.Cell:
    return roundtrip.Cell(
        server=server, connections=n, seconds=1.0, round_trips=int(rate), per_second=rate,
        p50_ms=p50, p90_ms=p99, p99_ms=p99, max_ms=p99, server_cpu=1.0, load_cpu=0.5,
        slice_rates=[rate, rate], server_us_per_rt=1e6 / rate, replies_checked=1,
        replies_wrong=0, first_wrong=None,
    )  # fmt: skip


def stage(server: str, mode: str, asked: int, broke: str | None = None) -> users.Stage:
    return users.Stage(
        server=server, mode=mode, asked=asked, users=asked, refused=0, first_refusal=None,
        open_seconds=1.0, rss_start_mib=20.0, rss_mib=40.0, kib_per_user=20.0, seconds=1.0,
        calls_per_second=10.0, skipped=0.0, wrong=0, first_wrong=None, lost=0, first_lost=None,
        p50_ms=1.0, p99_ms=600.0 if server == "pacnet" else 5.0, max_ms=700.0, server_cpu=0.5,
        load_cpu=0.1, broke=broke, slow=server == "pacnet",
    )  # fmt: skip


def test_round_trips_are_judged_on_their_ratio_to_the_echo_server() -> None:
    cells = [
        cell("echo", 1, 10_000, 0.1, 0.2), cell("pacnet", 1, 7_000, 0.14, 0.3),
        cell("echo", 100, 20_000, 5.0, 9.0), cell("pacnet", 100, 10_000, 10.0, 20.0),
    ]  # fmt: skip
    rows = {row.figure: row for row in run.roundtrip_rows("find", cells)}
    assert rows["find: round trips/s, 1 conn."].met is True  # 0.70
    assert rows["find: round trips/s, 100 conn."].met is False  # 0.50
    assert rows["find: p50 ms, 1 conn."].met is True  # 1.4
    assert rows["find: p50 ms, 100 conn."].met is False  # 2.0
    assert rows["find: p99 ms, 100 conn."].met is None  # no target, shown all the same


def test_users_held_are_the_most_before_the_first_stage_that_broke() -> None:
    stages = [
        stage("pacnet", "idle", 1000), stage("pacnet", "idle", 5000),
        stage("pacnet", "idle", 10500, broke="500 users not joined: OVERLOADED"),
        stage("echo", "idle", 1000), stage("echo", "idle", 5000), stage("echo", "idle", 10500),
    ]  # fmt: skip
    rows = run.users_rows(stages)
    held, latency, memory = rows
    assert held.pacnet == "5,000"
    assert held.met is True
    assert "OVERLOADED" in held.figure
    assert latency.figure == "idle: p99 ms at 5,000 users"
    assert latency.met is False
    assert memory.ratio == "1.00"


def test_a_missing_display_is_a_row_that_says_so() -> None:
    rows = run.frametime_rows(None, "no display")
    assert [row.pacnet for row in rows] == ["no display", "no display"]
    assert all(row.met is None for row in rows)


@pytest.mark.parametrize("loop", [article_text, window_text], ids=["article", "window"])
def test_every_move_of_a_playing_cycle_has_its_own_request_id(
    loop: Callable[[int, int], bytes],
) -> None:
    moves = [loop(7, i) for i in range(3 * TURNS) if b'"move"' in loop(7, i)]
    assert len(moves) == len(set(moves)) == TURNS > 64  # the server remembers 64


def test_the_article_loop_looks_at_its_own_pac_man_and_the_window_at_every_one() -> None:
    article = [json.loads(article_text(3, i)) for i in range(3)]
    window = [json.loads(window_text(3, i)) for i in range(3)]
    assert [r["action"] for r in article] == ["move", "findAll", "find"]
    assert [r["action"] for r in window] == ["move", "findAll", "findAll"]
    assert article[1]["kind"] == window[1]["kind"] == ":ghost"
    assert (article[2]["name"], window[2]["kind"]) == ("pacman", ":pacman")


def test_the_window_workload_is_shown_without_a_target() -> None:
    cells = [cell("echo", 10, 20_000, 0.5, 1.0), cell("pacnet", 10, 5_000, 2.0, 4.0)]
    rows = run.roundtrip_rows("window", cells)
    assert [row.figure for row in rows] == [
        "window: round trips/s, 10 conn.",
        "window: p50 ms, 10 conn.",
        "window: p99 ms, 10 conn.",
    ]
    assert rows[0].ratio.startswith("0.25")  # the ratio is there, beside echo
    assert all(row.met is None and row.target == "" for row in rows)


def test_the_penned_ghosts_move_and_never_reach_a_pac_man() -> None:
    """The benchmarks' maze: findAll :ghost has ghosts to send, and no bench pac-man is ever
    caught (a catch would turn its calls into NOT_FOUND, another path). Steered as the
    benchmarks steer, many times a tick, the direction going round the four."""
    board = Board(load_layout(str(servers.MAZE)), random.Random(5), tick_rate=60)
    pacmen = [board.add_pacman(f"bench-{n}") for n in range(8)]
    steer = random.Random(6)
    turns = [0] * len(pacmen)
    seen: set[tuple[int, int]] = set()
    for _ in range(60 * 60):  # a minute
        for n, pacman in enumerate(pacmen):
            for _ in range(steer.randrange(8)):
                board.steer(pacman, ("left", "up", "right", "down")[turns[n] % 4])
                turns[n] += 1
        board.tick()
        assert not any(board.layout.blocks_pacman(pacman.tile) for pacman in pacmen)
        seen |= {(round(g.x), round(g.y)) for g in board.all_of(":ghost")}
    assert board.count(":ghost") == 4
    assert len(seen) > 1  # they move
    assert all(pacman.lives == 3 for pacman in pacmen)
    assert board.count(":pacman") == 8


def test_replies_are_checked_cheaply_but_rightly() -> None:
    pacnet, echo = accepts_for("pacnet"), accepts_for("echo")
    assert pacnet(b"", b'{"v":1,"requestId":"p","clock":3,"status":"ok","entities":[]}')
    assert not pacnet(b"", b'{"v":1,"requestId":"p","clock":3,"status":"error"}')
    assert echo(b"same", b"same")
    assert not echo(b"same", b"other")


def test_every_workload_runs_against_real_servers_with_every_reply_right(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(roundtrip, "CHECK_EVERY", 1)  # a real run checks one in 1000: too few
    for workload in roundtrip.WORKLOADS:
        status = roundtrip.main(
            ["--seconds", "0.2", "--warmup", "0", "--slice", "0.1", "--connections", "2",
             "--workload", workload]
        )  # fmt: skip
        assert status == 0, workload  # 1: a reply checked was wrong


def test_a_baseline_run_writes_its_figures_as_json(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    root = str(BENCH.parent)  # this checkout, measured a second time as the baseline
    status = roundtrip.main(
        ["--seconds", "0.2", "--warmup", "0", "--slice", "0.1", "--connections", "2",
         "--baseline", root, "--json", str(out)]
    )  # fmt: skip
    assert status == 0
    figures = json.loads(out.read_text())
    assert figures["plan"]["baseline"] == root
    assert {cell["server"] for cell in figures["cells"]} == {"echo", "pacnet", "baseline"}


def test_the_load_generator_busy_polls_unless_told_to_sleep(
    capsys: pytest.CaptureFixture[str],
) -> None:
    quick = ["--seconds", "0.4", "--warmup", "0", "--slice", "0.1", "--connections", "2"]
    used: dict[str, float] = {}
    for client in ("spins", "sleeps"):
        began = time.process_time()
        assert roundtrip.main([*quick] if client == "spins" else [*quick, "--idle-client"]) == 0
        used[client] = time.process_time() - began
        shown = capsys.readouterr().out
        assert ("busy-polls" if client == "spins" else "sleeps between replies") in shown
    # Spinning keeps this process on its core through the calibration and every slice (about
    # 1.0 s of CPU here); sleeping, it works only on the replies (about 0.3 s). With the other
    # test worker's servers on the second core the spinner gets less of its own (0.54 s
    # against 0.29 s was seen): a ratio, measured in one run, holds under that too.
    assert used["spins"] > 1.5 * used["sleeps"], used


async def test_a_spinner_keeps_the_event_loop_turning_and_knows_a_lap() -> None:
    async with roundtrip.spinning() as spinner:
        laps = spinner.laps
        await asyncio.sleep(0.05)
        turned = spinner.laps - laps
    assert turned > 100  # a sleeping loop would have turned a handful of times
    assert 0 < spinner.lap_seconds < 0.001
    assert spinner.idle_seconds(laps) == pytest.approx(turned * spinner.lap_seconds)


async def test_the_round_trips_counted_in_place_are_all_answered_with_successes() -> None:
    """What bench/instructions.py --in-place plays on each server (echo, pacnet with its
    callgrind flags), here without callgrind: every reply of the mixed workload is a right
    one, and a wrong one stops the count instead of counting another path."""
    from websockets.asyncio.client import connect

    workload = roundtrip.WORKLOADS["mixed"]
    for target in instructions.in_place_targets(None):
        async with servers.running(target, None) as server:
            async with connect(server.url, compression=None) as link:
                await instructions._play(link, target, [instructions.join_text(0)], 0, 1)
                await instructions._play(link, target, workload.texts(0), 0, 3 * TURNS + 3)
            if target.name == "pacnet":  # a find by a user who never joined: NOT_FOUND
                async with connect(server.url, compression=None) as stranger:
                    with pytest.raises(RuntimeError, match="answered"):
                        await instructions._play(stranger, target, workload.texts(7), 2, 1)


def _tries_of_a_crowd(clients: int, down: float, **policy: float) -> list[float]:
    """When each of ``clients`` tries to reconnect to a server that went away at 0 and stays
    away ``down`` seconds: each notices at once and every try before ``down`` is refused."""
    tries = []
    for seed in range(clients):
        reconnects, rng = Reconnects(**policy), random.Random(seed)
        reconnects.lost(0.0, rng)
        while (now := reconnects.not_before) < down:
            reconnects.check(now)
            tries.append(now)
            reconnects.failed(now, "refused", rng)
    return sorted(tries)


def test_a_crowd_that_lost_its_server_does_not_crowd_its_first_tries() -> None:
    """bench/restart.py's figure for the reconnection policy alone: the first tries of 200
    clients that lost the same server, and the next ones after each refusal, never put a
    fifth of the crowd into one 10 ms. With the first try as quick as the first backoff
    (100 ms), about a quarter came in the busiest 10 ms."""
    assert restart.busiest(_tries_of_a_crowd(200, 2.0))[0] < 200 / 5
    assert restart.busiest(_tries_of_a_crowd(200, 2.0, first=0.1))[0] >= 200 / 5  # what it was


def test_the_overload_bench_runs_each_server_and_reports_every_stage(tmp_path: Path) -> None:
    """A short run of bench/overload.py: both servers, light load (nothing to shed), every
    figure in the table and the JSON."""
    report = tmp_path / "overload.json"
    done = subprocess.run(
        [sys.executable, str(BENCH / "overload.py"), "--users", "20", "--rates", "2,4",
         "--hold", "0.5", "--runs", "0", "--json", str(report)],
        capture_output=True, text=True, timeout=120, cwd=BENCH,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| no shedding")]
    assert len(rows) == 2, done.stdout
    stages = json.loads(report.read_text())["stages"]
    assert [s["users"] for s in stages] == [20, 20]
    for stage in stages:
        assert stage["shed"] == 0
        assert stage["wrong"] == 0
        assert stage["goodput"] > 0
        assert stage["late"] == 0.0


def test_the_cluster_bench_runs_each_way_and_reports_every_stage(tmp_path: Path) -> None:
    """A short run of bench/cluster.py on real Redis and HAProxy: one server alone, behind
    HAProxy, and two behind it; every user's replies right, HAProxy's CPU only where it is."""
    report = tmp_path / "cluster.json"
    done = subprocess.run(
        [sys.executable, str(BENCH / "cluster.py"), "--users", "20", "--hold", "0.5",
         "--rooms", "4", "--json", str(report)],
        capture_output=True, text=True, timeout=120, cwd=BENCH,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    stages = json.loads(report.read_text())["stages"]
    assert [s["run"] for s in stages] == ["direct", "haproxy", "two"]
    for stage in stages:
        assert stage["joined"] == 20
        assert (stage["wrong"], stage["lost"], stage["broke"]) == (0, 0, None)
        assert stage["calls_per_second"] > 0
    assert stages[0]["haproxy_cpu"] == 0.0
    assert "held: direct 20, haproxy 20, two 20" in done.stdout


def test_the_cluster_failover_bench_sees_every_moved_bot_resume(tmp_path: Path) -> None:
    """A short run of bench/restart.py --cluster: the server holding the most rooms killed,
    every bot of its rooms back with its session on the other server."""
    report = tmp_path / "failover.json"
    done = subprocess.run(
        [sys.executable, str(BENCH / "restart.py"), "--cluster", "--bots", "12", "--rooms", "3",
         "--json", str(report)],
        capture_output=True, text=True, timeout=120, cwd=BENCH,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(report.read_text())
    assert figures["bots whose room moved"] >= 4  # at least one room of the three, of 4 bots
    assert figures["resumed"] == figures["bots whose room moved"]
    assert figures["sessions lost (re-joins)"] == 0
