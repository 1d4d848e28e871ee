"""``pacnet bots``: a fleet of full clients, its counts, its report, and its command line,
against real servers on 127.0.0.1 and as real processes."""

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pacnet.bots.counts import FleetCounts, Gauges, Latencies, Progress, Samples
from pacnet.bots.fleet import Bot, Fleet, FleetPlan
from pacnet.bots.strategies import Maze
from pacnet.bots.workers import shares
from pacnet.client.remote import CallResult
from pacnet.client.tally import RecentCalls, percentile
from pacnet.faults.admin import AdminClient
from pacnet.protocol.feeds import PlayerReport
from pacnet.protocol.models import Entity, JoinReply
from pacnet.protocol.outcome import Outcome
from pacnet.server.net import BoardServer
from tests.conftest import MS, ROOT, ServerProcess, StartServer, switch_on
from tests.test_article_loop import until
from tests.test_cli import pacnet, table_row

SMALL = (
    "#################",
    "#       #       #",
    "# ## ## # ## ## #",
    "#               #",
    "# ## ###-### ## #",
    "     #     #     ",
    "# ## ####### ## #",
    "#               #",
    "# ## ## # ## ## #",
    "#       #       #",
    "#################",
)


def bots_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pacnet", "bots", *args]


async def run_bots(*args: str, limit: float = 90) -> tuple[int, str, str]:
    """``pacnet bots`` as a child process, without blocking this event loop (whose
    in-process server the bots may be playing on)."""
    child = await asyncio.create_subprocess_exec(
        *bots_command(*args), cwd=ROOT, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(child.communicate(), limit)
    assert child.returncode is not None
    return child.returncode, out.decode(), err.decode()


def cells(output: str, first: str, after: str = "") -> list[str]:
    """The cells of the table row whose first cell is ``first`` (in the first table whose
    title starts with ``after``)."""
    lines = output.splitlines()
    if after:
        lines = lines[next(i for i, line in enumerate(lines) if line.startswith(after)) :]
    for line in lines:
        row = [c.strip() for c in line.replace("│", "|").split("|")][1:-1]
        if row and row[0] == first:
            return row[1:]
    raise AssertionError(f"no row {first!r} in:\n{output}")


def number(text: str) -> int:
    return int(text.replace(",", ""))


def figure(output: str, label: str) -> str:
    """The rest of the report's line that starts with ``label``."""
    for line in output.splitlines():
        if line.startswith(label):
            return line[len(label) :].strip()
    raise AssertionError(f"no line {label!r} in:\n{output}")


# --- the counts: pure ---


def test_latency_percentiles_are_within_two_percent_of_the_exact_ones() -> None:
    latencies = Latencies()
    values = [0.0001 * 1.01**i for i in range(1000)]  # 0.1 ms to ~2 s
    for value in values:
        latencies.record(value)
    for fraction in (0.5, 0.9, 0.99):
        exact = sorted(values)[int(fraction * len(values)) - 1]
        assert percentile(values, fraction) == exact
        assert latencies.percentile(fraction) == pytest.approx(exact, rel=0.02)
    assert latencies.max == max(values)
    assert latencies.percentile(1.0) == max(values)
    assert Latencies().percentile(0.5) is None


@pytest.mark.parametrize("count", [1, 2, 7, 100, 333])
def test_the_window_and_the_bots_report_read_the_same_percentile(count: int) -> None:
    """One definition: the window's recent calls and the report's histogram agree on p50 and
    p99 of the same latencies, to the histogram's 2%."""
    values = [0.001 * (1 + (i * 7919) % count) for i in range(count)]
    recent, latencies = RecentCalls(keep=count), Latencies()
    for value in values:
        recent.record(Outcome.SUCCESS, value, "")
        latencies.record(value)
    for fraction in (0.5, 0.99):
        assert recent.percentile(fraction) == percentile(values, fraction)
        assert latencies.percentile(fraction) == pytest.approx(
            recent.percentile(fraction), rel=0.02
        )


def test_samples_from_two_processes_add_up_as_if_one_had_seen_them_all() -> None:
    one, two, both = Samples(), Samples(), Samples()
    for n in range(100):
        latency, outcome = 0.001 * (n + 1), Outcome.SUCCESS if n % 3 else Outcome.UNKNOWN
        (one if n % 2 else two).record("move", outcome, latency, second=n // 40)
        both.record("move", outcome, latency, second=n // 40)
    one.add(two)
    assert one.latencies["move"] == both.latencies["move"]
    assert one.timeline == both.timeline
    assert one.timeline[0].outcomes[Outcome.UNKNOWN] == 14


@pytest.mark.parametrize(
    ("bots", "processes", "sizes"),
    [(10, 3, [4, 3, 3]), (2, 2, [1, 1]), (1000, 4, [250] * 4), (3, 5, [1, 1, 1, 0, 0])],
    ids=["uneven", "one-each", "even", "more-processes-than-bots"],
)
def test_the_bots_are_shared_out_over_processes_without_gap_or_overlap(
    bots: int, processes: int, sizes: list[int]
) -> None:
    parts = shares(bots, processes)
    assert [len(part) for part in parts] == sizes
    assert [i for part in parts for i in part] == list(range(bots))


def test_rooms_deal_the_bots_in_turn_and_their_counts_add_up_over_processes() -> None:
    plan = FleetPlan(
        url="ws://h:1", bots=5, strategy="greedy", duration=1, seed=1, rooms=("a", "b")
    )
    assert [plan.url_of(i) for i in range(3)] == [
        "ws://h:1/rooms/a", "ws://h:1/rooms/b", "ws://h:1/rooms/a"
    ]  # fmt: skip
    alone = FleetPlan(url="ws://h:1/rooms/c", bots=5, strategy="greedy", duration=1, seed=1)
    assert alone.url_of(4) == "ws://h:1/rooms/c"  # no rooms dealt: the one its URL names
    counts = FleetCounts()
    for worker, rooms in enumerate(({"a": 2, "b": 1}, {"a": 1, "b": 1})):
        counts.receive(Progress(worker, Gauges(bots=3, rooms=Counter(rooms)), Samples()))
    assert counts.gauges().rooms == {"a": 3, "b": 2}


def test_each_bot_has_its_own_randomness_and_a_replay_has_the_same() -> None:
    plan = FleetPlan(url="ws://127.0.0.1:9", bots=3, strategy="random", duration=1, seed=5)
    again = FleetPlan(url="ws://127.0.0.1:9", bots=3, strategy="random", duration=1, seed=5)
    other = FleetPlan(url="ws://127.0.0.1:9", bots=3, strategy="random", duration=1, seed=6)
    draws = [plan.rng_of(i, "strategy").random() for i in range(3)]
    assert draws == [again.rng_of(i, "strategy").random() for i in range(3)]
    assert len(set(draws)) == 3
    assert draws != [other.rng_of(i, "strategy").random() for i in range(3)]
    assert plan.rng_of(0, "backoff").random() != draws[0]


def test_the_ramp_starts_the_bots_evenly() -> None:
    plan = FleetPlan(url="ws://h:1", bots=4, strategy="greedy", duration=9, seed=1, ramp=2.0)
    assert [plan.start_of(i) for i in range(4)] == [0.0, 0.5, 1.0, 1.5]


# --- one bot's games: a view fed by hand ---
# (async where the bot steers: steer runs inside the event loop, whose clock the view keeps)


def pacman(lives: int, score: int) -> Entity:
    return Entity(name="pacman-b", kind=":pacman", x_pos=1, y_pos=1, lives=lives, score=score)


def joined(clock: int) -> CallResult[Any]:
    reply = JoinReply.model_validate({
        "requestId": f"r{clock}", "clock": clock, "name": "pacman-b", "sessionToken": "t",
        "width": 17, "height": 11, "maze": SMALL, "score": 0, "lives": 3,
    })  # fmt: skip
    return CallResult("join", Outcome.SUCCESS, f"r{clock}", 0.001, reply=reply)


async def test_a_bot_counts_lives_lost_and_a_game_over_and_joins_again() -> None:
    plan = FleetPlan(url="ws://127.0.0.1:9", bots=1, strategy="greedy", duration=1, seed=1)
    seen: list[str] = []
    bot = Bot(0, plan, lambda sight: "left", lambda result: seen.append(result.action))
    bot.maze = Maze.from_rows(SMALL)
    bot.view.me = "pacman-b"
    bot.report(joined(1))
    for at, lives, score in ((1, 3, 10), (2, 2, 40), (3, 1, 90)):
        bot.view.update(at, [pacman(lives, score)])
        assert bot.steer() == "left"
    assert (bot.deaths, bot.games_over, bot.score) == (2, 0, 90)
    bot.view.update(4, [])  # caught on its last life: off the board for good
    assert bot.view.game_over
    assert bot.steer() is None
    assert bot.view.rejoin  # the article loop joins again at its next turn
    assert (bot.deaths, bot.games_over, bot.scores.games, bot.scores.total) == (3, 1, 1, 90)
    assert bot.steer() is None  # a game over is counted once
    assert bot.deaths == 3
    bot.report(joined(5))
    bot.view.update(5, [pacman(3, 0)])
    assert bot.steer() == "left"
    assert (bot.playing, bot.score, bot.lives) == (True, 0, 3)
    assert seen == ["join", "join"]


async def test_a_strategy_that_raises_is_counted_and_the_bot_plays_on() -> None:
    plan = FleetPlan(url="ws://127.0.0.1:9", bots=1, strategy="greedy", duration=1, seed=1)

    def broken(sight: object) -> None:
        raise KeyError("oops")

    bot = Bot(0, plan, broken, lambda result: None)
    bot.maze = Maze.from_rows(SMALL)
    assert bot.steer() is None
    assert bot.steer() is None
    assert bot.strategy_errors == 2
    assert bot.first_strategy_error.startswith("KeyError: 'oops' (")
    assert "test_bots.py" in bot.first_strategy_error


# --- a fleet on a real server ---


async def test_a_fleet_of_greedy_bots_plays_and_scores(start_server: StartServer) -> None:
    server = await start_server()
    assert server.url is not None
    counts = FleetCounts()
    plan = FleetPlan(
        url=server.url, bots=8, strategy="greedy", duration=2500 * MS, seed=1, ramp=0.2
    )
    fleet = Fleet(plan, range(8), counts.receive)
    await fleet.run()
    gauges = counts.gauges()
    assert gauges.bots == 8
    assert counts.finished == {0}
    assert gauges.calls.count("join", Outcome.SUCCESS) == 8
    assert gauges.calls.count("findAll", Outcome.SUCCESS) > 8 * 10
    assert gauges.calls.count("move", Outcome.SUCCESS) > 8
    assert gauges.calls.count("find", Outcome.SUCCESS) > 8 * 5  # only its own pac-man
    assert gauges.calls.count("findAll", Outcome.SUCCESS) < 3 * gauges.calls.total("find")
    assert gauges.calls.total(outcome=Outcome.POST_FAILED) == 0
    assert gauges.scores.total > 0
    assert gauges.scores.games == 8
    assert not any(bot.board.connected for bot in fleet.bots)  # all closed at the end
    # Latencies come from the calls the loops saw end: all but a few cut short at the end.
    findall = gauges.calls.total("findAll")
    assert findall - 2 * 8 <= counts.samples.latencies["findAll"].count <= findall


async def test_a_fleet_stops_when_told_and_still_reports(start_server: StartServer) -> None:
    server = await start_server()
    assert server.url is not None
    counts = FleetCounts()
    plan = FleetPlan(url=server.url, bots=4, strategy="random", duration=60, seed=1)
    stop = asyncio.Event()
    started = time.monotonic()
    asyncio.get_running_loop().call_later(1.0, stop.set)
    await Fleet(plan, range(4), counts.receive).run(stop)
    assert time.monotonic() - started < 10
    assert counts.finished == {0}
    assert counts.gauges().calls.count("findAll", Outcome.SUCCESS) > 0


async def test_the_bots_report_to_the_room_and_start_afresh_at_a_new_exercise(
    start_server: StartServer,
) -> None:
    server = await start_server()
    assert server.url is not None
    plan = FleetPlan(url=server.url, bots=3, strategy="random", duration=60, seed=1, report=True)
    fleet = Fleet(plan, range(3), FleetCounts().receive)
    stop = asyncio.Event()

    def players() -> dict[str, PlayerReport]:
        view = server.game.reports.view(time.monotonic())
        return {p.user_id: p for p in view.players}

    def reported(player: PlayerReport) -> int:
        return sum(count.calls for count in player.counts)

    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(fleet.run(stop))
        await until(lambda: len(players()) == 3 and all(map(reported, players().values())), 20)
        await asyncio.sleep(1.5)  # some calls before the exercise
        async with AdminClient(server.url, server.admin.token) as admin:
            exercise = (await admin.mark("step 2: the room starts afresh")).exercise.number
        before = {bot.board.user_id: bot.board.tally.total() for bot in fleet.bots}
        await until(
            lambda: all(p.exercise == exercise and reported(p) > 0 for p in players().values()),
            20,
        )
        stop.set()
    for user_id, player in players().items():
        assert player.exercise == exercise
        # only the calls made since the mark: fewer than the bot had made before it
        assert 0 < reported(player) < before[user_id], user_id
    assert {count.action for p in players().values() for count in p.counts} >= {"find", "move"}


# --- the command line ---


def test_a_short_run_reports_calls_outcomes_and_scores() -> None:
    done = pacnet("bots", "-n", "20", "--duration", "3", "--seed", "1", timeout=90)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("pacnet bots: 20 greedy bots for 3.0 s on the embedded server")
    findall = table_row(out, "findAll")
    assert findall[0] > 20 * 10  # SUCCESS
    assert findall[0] == findall[-1]
    assert table_row(out, "move")[0] > 0
    assert table_row(out, "find")[0] > 20 * 5  # its own pac-man, as the article's loop asks
    assert figure(out, "bots").startswith("20 started, 20 connected at the end")
    assert number(figure(out, "scores").split()[1].rstrip(",")) > 0
    assert "Traceback" not in out + done.stderr
    # Its embedded server's faults can be switched: the command says how, on stderr.
    assert "pacnet bots: the board is on ws://127.0.0.1:" in done.stderr
    assert "switch its faults with: pacnet chaos --server ws://127.0.0.1:" in done.stderr


def test_two_processes_give_one_report_whose_json_agrees_with_it(tmp_path: Path) -> None:
    report = tmp_path / "bots.json"
    done = pacnet(
        "bots", "-n", "12", "--duration", "4", "--processes", "2", "--strategy", "cautious",
        "--seed", "3", "--json", str(report), timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(report.read_text())
    assert data["run"]["processes"] == 2
    assert data["bots"]["started"] == 12
    assert data["problems"] == []
    assert figure(done.stdout, "bots").startswith("12 started")
    for call in ("find", "move", "findAll", "remove"):
        row = table_row(done.stdout, call)
        assert row[:5] == [data["calls"][call][o.value] for o in Outcome]
    assert data["calls"]["findAll"]["SUCCESS"] > 12 * 10
    calls, attempts = cells(done.stdout, "all")[:2]
    assert (number(calls), number(attempts)) == (data["calls_total"], data["attempts_total"])
    moves = cells(done.stdout, "move", after="calls, attempts and latency")[0]
    assert number(moves) == sum(data["calls"]["move"].values())
    scores = data["scores"]
    assert figure(done.stdout, "scores") == (
        f"total {scores['total']:,}, best {scores['best']:,}, mean {scores['mean']:,.1f} "
        f"over {scores['games']:,} games"
    )
    assert figure(done.stdout, "deaths").startswith(f"{data['deaths']:,} ")
    move = data["latency_ms"]["move"]
    assert 0 < move["p50"] <= move["p90"] <= move["p99"] <= move["max"]
    seconds = [entry["second"] for entry in data["timeline"]]
    assert seconds == list(range(seconds[0], seconds[-1] + 1))
    assert sum(entry["calls"] for entry in data["timeline"]) > 0
    spans = [entry["span_s"] for entry in data["timeline"]]
    assert spans[0] == 1.0
    assert spans == sorted(spans, reverse=True)  # whole seconds, then the end cuts one short
    assert sum(spans) == pytest.approx(data["run"]["elapsed_s"], abs=0.01)


def test_plot_draws_a_png(tmp_path: Path) -> None:
    picture = tmp_path / "bots.png"
    done = pacnet(
        "bots", "-n", "5", "--duration", "2", "--seed", "1", "--plot", str(picture), timeout=90
    )
    assert done.returncode == 0, done.stderr
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert picture.stat().st_size > 10_000


def test_plot_without_matplotlib_says_how_to_get_it_before_any_bot_starts(
    tmp_path: Path,
) -> None:
    hide = "import sys; sys.modules['matplotlib'] = None; from pacnet.main import main; "
    done = subprocess.run(
        [sys.executable, "-c", hide + "sys.exit(main(sys.argv[1:]))", "bots", "--plot",
         str(tmp_path / "bots.png"), "--duration", "60"],
        capture_output=True, text=True, timeout=30, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "pacnet bots: error: --plot needs matplotlib: install it with uv sync --extra plot"
    ]


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["-n", "0"], "argument -n/--bots: '0' must be at least 1"),
        (["-n", "-3"], "argument -n/--bots: '-3' must be at least 1"),
        (["--duration", "0"], "argument --duration: '0' must be a number greater than 0"),
        (["--processes", "0"], "argument --processes: '0' must be at least 1"),
        (["--ramp", "-1"], "argument --ramp: '-1' must be 0 or more seconds"),
        (["--strategy", "clever"], "strategy 'clever': not one of random, greedy, cautious"),
        (["--strategy", "no_such_module:Bot"], "no module named 'no_such_module'"),
        (["--strategy", "pacnet.bots.strategies:nothing"], "has no attribute 'nothing'"),
        (["--server", "http://example"], "is not a ws:// or wss:// URL"),
        (["--json", "/no/such/dir/out.json"], "--json: no directory '/no/such/dir'"),
    ],
    ids=["no-bots", "negative-bots", "no-duration", "no-processes", "negative-ramp",
         "unknown-strategy", "strategy-module-missing", "strategy-name-missing",
         "server-not-a-websocket", "json-nowhere"],
)  # fmt: skip
def test_a_bad_flag_gets_one_line_and_status_2(args: list[str], complaint: str) -> None:
    done = pacnet("bots", *args, timeout=30)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("pacnet bots: error: ")
    assert complaint in lines[0]


def test_an_unreachable_server_is_one_line_before_any_bot_starts(closed_port: int) -> None:
    url = f"ws://127.0.0.1:{closed_port}"
    started = time.monotonic()
    done = pacnet("bots", "-n", "1000", "--server", url, timeout=30)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(f"pacnet bots: error: cannot reach {url}: ")
    assert "refused" in done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert time.monotonic() - started < 20


def test_help_describes_the_command() -> None:
    done = pacnet("bots", "--help", timeout=20)
    assert done.returncode == 0
    for flag in ("--strategy", "--duration", "--processes", "--json", "--plot", "--no-retries"):
        assert flag in done.stdout


# --- faults and a restart, seen in the report ---


async def test_server_faults_show_as_outcomes_in_the_report(
    start_server: StartServer, tmp_path: Path
) -> None:
    server: BoardServer = await start_server()
    assert server.url is not None
    await switch_on(server, kind="reject", action="findAll", probability=0.2)
    await switch_on(server, kind="no_reply", action="move", probability=0.3)
    report = tmp_path / "bots.json"
    status, out, err = await run_bots(
        "-n", "6", "--duration", "3", "--seed", "2", "--server", server.url,
        "--json", str(report),
    )  # fmt: skip
    assert status == 0, err
    data = json.loads(report.read_text())
    findall = data["calls"]["findAll"]
    assert findall["FATAL"] > 0  # INVALID_MESSAGE: never retried
    assert table_row(out, "findAll")[3] == findall["FATAL"]
    calls, attempts = data["calls"]["move"], data["attempts"]["move"]
    assert attempts["UNKNOWN"] > 0  # no reply: retried with the same requestId,
    assert calls["UNKNOWN"] < attempts["UNKNOWN"]  # and then answered
    assert calls["SUCCESS"] == attempts["SUCCESS"]
    assert data["attempts_total"] > data["calls_total"]


async def test_without_retries_a_lost_reply_is_an_unknown_call(
    start_server: StartServer, tmp_path: Path
) -> None:
    server: BoardServer = await start_server()
    assert server.url is not None
    await switch_on(server, kind="no_reply", action="move", probability=0.3)
    report = tmp_path / "bots.json"
    status, out, err = await run_bots(
        "-n", "4", "--duration", "3", "--seed", "2", "--server", server.url, "--no-retries",
        "--json", str(report),
    )  # fmt: skip
    assert status == 0, err
    data = json.loads(report.read_text())
    assert data["calls"]["move"]["UNKNOWN"] > 0
    assert table_row(out, "move")[4] == data["calls"]["move"]["UNKNOWN"]
    assert data["attempts_total"] == data["calls_total"]
    assert "no retries)" in " ".join(out.splitlines()[:2])


async def test_after_a_sigkill_and_restart_the_bots_reconnect_and_play_on(
    server_process: Callable[..., ServerProcess], closed_port: int, tmp_path: Path
) -> None:
    state = tmp_path / "game.sqlite"
    args = ("--layout", "small", "--port", str(closed_port), "--state", str(state),
            "--snapshot-interval", "0.1")  # fmt: skip
    first = server_process(*args)
    report = tmp_path / "bots.json"
    bots = asyncio.create_task(
        run_bots("-n", "10", "--duration", "9", "--seed", "4", "--server", first.url,
                 "--json", str(report))
    )  # fmt: skip
    await asyncio.sleep(3.5)
    first.signal(signal.SIGKILL)
    await asyncio.to_thread(first.process.wait, 10)
    await asyncio.sleep(0.5)
    second = await asyncio.to_thread(server_process, *args)
    assert second.url == first.url
    status, out, err = await bots
    assert status == 0, err
    data = json.loads(report.read_text())
    reconnections = data["reconnections"]
    assert reconnections["connections_lost"] >= 10
    assert reconnections["reconnected"] >= 10
    assert reconnections["tries"] >= reconnections["reconnected"]
    assert figure(out, "reconnections").startswith(f"{reconnections['reconnected']:,} ")
    assert data["rejoins"] == 0  # back well within the keepalive: their sessions resumed
    assert data["bots"]["connected_at_end"] == 10
    failed = sum(data["attempts"][call]["POST_FAILED"] for call in data["attempts"])
    assert failed > 0  # while the server was down
    timeline = data["timeline"]
    worst = min(range(1, len(timeline) - 1), key=lambda i: timeline[i]["SUCCESS"])
    assert timeline[worst]["SUCCESS"] < 10 * 10  # the outage...
    assert all(e["SUCCESS"] > 10 * 10 for e in timeline[-3:-1])  # ...and playing on after it
