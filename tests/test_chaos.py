"""``pacnet chaos`` as a facilitator meets it: faults switched on real servers (and a real
proxy), one-line errors, and scenario files played on their timeline."""

import asyncio
import itertools
import json
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from pacnet.chaos.fault_flags import FAULT_ARGUMENTS, fault_from
from pacnet.chaos.switchboard import AdminSwitchboard, Target
from pacnet.client.remote import RemoteBoard
from pacnet.client.timeouts import Timeouts
from pacnet.cmdline.args import Usage
from pacnet.faults.scenario import (
    ScenarioPlayer,
    StepDone,
    find_scenario,
    load_scenario,
    shipped_scenarios,
)
from pacnet.faults.spec import Domain, Fault, FaultKind, FaultStatus
from pacnet.main import build_parser, main
from pacnet.protocol.outcome import Outcome
from pacnet.proxy.config import ProxyConfig
from pacnet.proxy.relay import running_proxy
from pacnet.server.net import BoardServer
from tests.conftest import MS, ROOT

SHIPPED = ["catalog", "epidemic", *(f"step{n}" for n in range(1, 9)), "workshop"]
FAST = Timeouts(connect=2000 * MS, reply=300 * MS, close=500 * MS)


@dataclass
class Done:
    """How one ``pacnet chaos`` run ended."""

    status: int
    out: str
    err: str

    @property
    def error(self) -> str:
        """The one error line (and there must be exactly one)."""
        lines = self.err.strip().splitlines()
        assert len(lines) == 1, self.err
        assert "Traceback" not in self.out + self.err
        return lines[0]


@pytest.fixture(autouse=True)
def _no_token_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PACNET_ADMIN_TOKEN", raising=False)


@pytest.fixture(autouse=True)
def _server_logs_kept_out_of_the_output() -> Iterator[None]:
    """The in-process servers log to stdout, where chaos's own output is read."""
    with capture_logs():
        yield


@pytest.fixture
def chaos(capsys: pytest.CaptureFixture[str]) -> Callable[..., Done]:
    """Run ``pacnet chaos ARGS`` in this process (argparse's exit included)."""

    def run(*args: str) -> Done:
        try:
            status = main(["chaos", *args])
        except SystemExit as exit:
            status = int(exit.code or 0)
        captured = capsys.readouterr()
        return Done(status, captured.out, captured.err)

    return run


@pytest.fixture
def achaos(chaos: Callable[..., Done]) -> Callable[..., Awaitable[Done]]:
    """``chaos`` from an async test, whose loop runs the server: the CLI gets a thread (it
    runs its own event loop, as ``pacnet chaos`` does)."""

    async def run(*args: str) -> Done:
        return await asyncio.to_thread(chaos, *args)

    return run


def at(server: BoardServer, closed_port: int) -> list[str]:
    """Flags aiming chaos at ``server`` with its token, and at a proxy that is not running."""
    assert server.url is not None
    return [
        "--server", server.url, "--proxy", f"ws://127.0.0.1:{closed_port}",
        f"--token={server.admin.token}",  # a token may start with "-": one argument
    ]  # fmt: skip


def kinds_on(server: BoardServer) -> list[str]:
    return [status.fault.kind.value for status in server.faults.status(time.monotonic())]


def write(tmp_path: Path, text: str, name: str = "scenario.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --- add, list, remove, clear ------------------------------------------------------------


async def test_a_facilitator_adds_lists_removes_and_clears_faults_on_a_server(
    server: BoardServer, closed_port: int, achaos: Callable[..., Awaitable[Done]]
) -> None:
    flags = at(server, closed_port)
    added = await achaos(*flags, "add", "crash", "--crash", "abort", "--count", "2")
    assert (added.status, added.out) == (
        0,
        "s1 on the server: crash abort x2 (server, step 2 DELIVER REQUEST)\n",
    )
    await achaos(*flags, "add", "reject", "--action", "move", "--probability", "0.5")
    as_json = '{"kind": "no_reply", "user": "8765309", "durationS": 600}'
    assert (await achaos(*flags, "add", "--json", as_json)).out.startswith("s3 on the server")
    assert kinds_on(server) == ["crash", "reject", "no_reply"]

    listed = await achaos(*flags, "list")
    assert listed.status == 0, listed.err
    assert f"server {server.url}: 3 faults on (seed 7)" in listed.out
    assert f"proxy ws://127.0.0.1:{closed_port}: not running" in listed.out
    for row in ("s1 │ server │ 2 DELIVER_REQUEST", "s2 │ server │ 3 VALIDATE_REQUEST",
                "s3 │ server │ 5 POST_REPLY"):  # fmt: skip
        assert row in listed.out

    machine = json.loads((await achaos(*flags, "list", "--json")).out)
    assert [f["fault"]["id"] for f in machine["server"]["faults"]] == ["s1", "s2", "s3"]
    assert machine["proxy"] == {"url": f"ws://127.0.0.1:{closed_port}", "running": False}

    removed = await achaos(*flags, "remove", "s2")
    assert (removed.status, removed.out) == (0, "s2 is off on the server\n")
    assert kinds_on(server) == ["crash", "no_reply"]
    again = await achaos(*flags, "remove", "s2")
    assert again.status == 1
    assert again.error == (
        "pacnet chaos: error: no fault with id 's2' on the server (the proxy is not running)"
    )

    cleared = await achaos(*flags, "clear")
    assert cleared.status == 0, cleared.err
    assert f"server {server.url}: 2 faults switched off" in cleared.out
    assert kinds_on(server) == []


async def test_the_token_can_come_from_the_environment(
    server: BoardServer,
    closed_port: int,
    achaos: Callable[..., Awaitable[Done]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PACNET_ADMIN_TOKEN", server.admin.token)
    assert server.url is not None
    done = await achaos("--server", server.url, "--proxy", f"ws://127.0.0.1:{closed_port}",
                        "add", "update_fails")  # fmt: skip
    assert done.status == 0, done.err
    assert kinds_on(server) == ["update_fails"]


# fmt: off
TOKEN_COMPLAINTS = [
    (None, "needs its admin token: give --token or set PACNET_ADMIN_TOKEN (it printed its token on its terminal when it started)"),
    ("not-the-token", "refused the admin token: it is wrong (use the token it printed when it started"),
]
# fmt: on


@pytest.mark.parametrize(
    "command", [["list"], ["add", "reject"], ["clear"], ["run", "step4"]], ids=" ".join
)
@pytest.mark.parametrize(
    ("token", "complaint"), TOKEN_COMPLAINTS, ids=["missing-token", "wrong-token"]
)
async def test_a_missing_or_wrong_token_is_refused_in_one_line(
    server: BoardServer,
    closed_port: int,
    achaos: Callable[..., Awaitable[Done]],
    command: list[str],
    token: str | None,
    complaint: str,
) -> None:
    assert server.url is not None
    flags = ["--server", server.url, "--proxy", f"ws://127.0.0.1:{closed_port}"]
    done = await achaos(*flags, *(["--token", token] if token else []), *command)
    assert done.status == 1
    assert done.error.startswith(f"pacnet chaos: error: the server at {server.url} ")
    assert complaint in done.error
    assert kinds_on(server) == []


@pytest.mark.parametrize(
    "command",
    [["list"], ["add", "reject"], ["remove", "s1"], ["clear"], ["run", "step4"]],
    ids=" ".join,
)
def test_an_unreachable_server_is_one_line(
    chaos: Callable[..., Done], closed_port: int, command: list[str]
) -> None:
    url = f"ws://127.0.0.1:{closed_port}"
    done = chaos("--server", url, "--proxy", url, "--token", "t", *command)
    assert done.status == 1
    assert (
        done.error
        == f"pacnet chaos: error: the server at {url} is not running (connection refused)"
    )


# fmt: off
BAD_COMMAND_LINES = [
    (["add", "drop"], "a drop fault needs a direction (request or reply)"),
    (["add", "reject", "--direction", "reply"], "a reject fault has no direction"),
    (["add", "delay", "--direction", "reply"], "a delay fault needs delayMs or jitterMs"),
    (["add", "reject", "--probability", "0"], "--probability: Input should be greater than 0"),
    (["add", "reject", "--probability", "lots"], "--probability: 'lots' is not a number"),
    (["add", "reject", "--count", "0"], "--count: Input should be greater than or equal to 1"),
    (["add", "reject", "--duration", "-1"], "--duration: Input should be greater than 0"),
    (["add", "corrupt", "--direction", "reply", "--corruption", "melt"], "--corruption: invalid choice: 'melt'"),
    (["add", "explode"], "argument KIND: invalid choice: 'explode'"),
    (["add", "offline"], "offline is a client fault and cannot be switched remotely: players switch it in their window (key F7)"),
    (["add", "apply_fails"], "apply_fails is a client fault and cannot be switched remotely: players switch it in their window (key F8)"),
    (["add"], "add needs a KIND (or --json FAULT)"),
    (["add", "reject", "--json", '{"kind": "reject"}'], "--json takes the whole fault"),
    (["add", "--json", '{"kind": "reject", "colour": "red"}'], "--json: colour: Extra inputs are not permitted"),
    (["add", "--json", '{"kind": "reject"'], "--json: Invalid JSON"),
    (["--server", "http://example", "list"], "--server: 'http://example' is not a ws:// or wss:// URL"),
    (["run", "step4", "--time-scale", "0"], "--time-scale: '0' must be a number greater than 0"),
    (["remove"], "the following arguments are required: ID"),
    (["list", "--frobnicate"], "unrecognized arguments: --frobnicate"),
    ([], "the following arguments are required: COMMAND"),
]
# fmt: on


@pytest.mark.parametrize(
    ("args", "complaint"),
    BAD_COMMAND_LINES,
    ids=lambda v: " ".join(v) or "nothing" if isinstance(v, list) else None,
)
def test_a_bad_command_line_gets_one_line_and_exit_2(
    chaos: Callable[..., Done], closed_port: int, args: list[str], complaint: str
) -> None:
    url = f"ws://127.0.0.1:{closed_port}"  # nothing to reach: the command line is checked first
    done = chaos("--server", url, "--proxy", url, *args)
    assert done.status == 2
    assert done.out == ""
    assert done.error.startswith("pacnet chaos")
    assert complaint in done.error


# --- the fault's flags ------------------------------------------------------------------


def test_every_field_of_a_fault_has_exactly_one_add_argument_and_each_argument_a_field() -> None:
    fields = [argument.field for argument in FAULT_ARGUMENTS]
    assert sorted(fields) == sorted(Fault.model_fields)  # none missing, twice or invented
    flags = [argument.flag for argument in FAULT_ARGUMENTS]
    assert len(set(flags)) == len(flags)


EVERY_FLAG = {
    "KIND": "delay", "--direction": "request", "--probability": "0.5", "--action": "move",
    "--user": "8765309", "--connection": "4", "--skip": "2", "--count": "3", "--duration": "60",
    "--delay-ms": "250", "--jitter-ms": "50", "--corruption": "schema", "--crash": "abort",
    "--id": "mine", "--room": "arcade",
}  # fmt: skip
"""A value for every argument of ``add``, none of them a field's default."""


def test_each_add_flag_sets_its_own_field_of_the_fault() -> None:
    assert set(EVERY_FLAG) == {argument.flag for argument in FAULT_ARGUMENTS}
    flags = [part for flag, value in EVERY_FLAG.items() if flag != "KIND" for part in (flag, value)]
    args = build_parser(only="chaos").parse_args(["chaos", "add", EVERY_FLAG["KIND"], *flags])
    fault = fault_from(args)
    assert fault.model_dump(mode="json") == {
        "id": "mine", "kind": "delay", "direction": "request", "probability": 0.5,
        "action": "move", "user": "8765309", "connection": 4, "room": "arcade", "skip": 2,
        "count": 3,
        "durationS": 60, "delayMs": 250, "jitterMs": 50, "corruption": "schema", "crash": "abort",
    }  # fmt: skip
    for name, field in Fault.model_fields.items():  # so no flag fell on another's field
        assert getattr(fault, name) != field.default, name


# --- where a fault goes ------------------------------------------------------------------


def example(kind: FaultKind) -> Fault:
    directed = {FaultKind.DROP, FaultKind.DELAY, FaultKind.CORRUPT, FaultKind.DUPLICATE,
                FaultKind.RESET, FaultKind.STORE_DROP, FaultKind.STORE_DELAY}  # fmt: skip
    delays = kind in (FaultKind.DELAY, FaultKind.STORE_DELAY)
    return Fault.model_validate(
        {"kind": kind, "direction": "reply" if kind in directed else None,
         "delayMs": 10 if delays else 0}
    )  # fmt: skip


@pytest.mark.parametrize(
    "kind", list(FaultKind), ids=lambda kind: f"{kind}-goes-to-{example(kind).domain}"
)
def test_each_fault_goes_to_the_component_that_injects_its_domain(kind: FaultKind) -> None:
    server = Target("server", "ws://127.0.0.1:8765", "t", "--token")
    proxy = Target("proxy", "ws://127.0.0.1:8766", "t", "--proxy-token")
    board = AdminSwitchboard(server, proxy)
    fault = example(kind)
    match fault.domain:
        case Domain.NETWORK:
            assert board.target_for(fault) is proxy
        case Domain.SERVER:
            assert board.target_for(fault) is server
        case Domain.CLIENT:
            with pytest.raises(Usage, match="client fault and cannot be switched remotely"):
                board.target_for(fault)


# --- the shipped scenarios ---------------------------------------------------------------


def test_the_shipped_scenarios_are_one_per_step_the_catalog_the_epidemic_and_the_workshop() -> None:
    assert [path.stem for path in shipped_scenarios()] == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_scenario_parses_and_each_of_its_faults_is_valid(name: str) -> None:
    path = find_scenario(name)
    scenario = load_scenario(path)
    first, *_, last = scenario.steps
    assert (first.at, first.clear) == (0, True), "a scenario starts calm"
    assert last.calm, "a scenario ends calm"
    for step in scenario.steps:
        for fault in step.faults:
            assert Fault.model_validate_json(fault.model_dump_json()) == fault
            assert fault.domain is not Domain.CLIENT
    assert path.read_text().startswith("#"), "the file says what players will see"


@pytest.mark.parametrize(
    ("name", "kinds", "steps"),
    [
        ("step1", {"refuse"}, {1}),
        ("step2", {"crash"}, {2}),
        # A request damaged on its way in is a step-2 fault (delivery) that step 3 catches.
        ("step3", {"reject", "corrupt"}, {3, 2}),
        ("step4", {"update_fails"}, {4}),
        ("step5", {"no_reply"}, {5}),
        ("step6", {"drop"}, {6}),
        # A reply damaged on its way back (6), or posted in a wrong version (5): step 7 catches both.
        ("step7", {"corrupt", "bad_version"}, {6, 5}),
        ("step8", set(), set()),  # the client's fault: players press F8
        ("catalog", {"disk_full"}, {4}),
        ("epidemic", {"disk_full"}, {4}),
    ],
)
def test_each_step_scenario_breaks_the_step_it_is_named_for(
    name: str, kinds: set[str], steps: set[int]
) -> None:
    scenario = load_scenario(find_scenario(name))
    faults = [fault for s in scenario.steps for fault in s.faults]
    assert {fault.kind.value for fault in faults} == kinds
    assert {fault.step.value for fault in faults} == steps


def test_the_crash_rehearsal_keeps_the_server_up_and_says_how_a_real_crash_differs() -> None:
    scenario = load_scenario(find_scenario("step2"))
    (crash,) = [fault for step in scenario.steps for fault in step.faults]
    assert crash.crash.value == "abort"
    assert any('crash = "exit"' in step.say for step in scenario.steps)


def test_step8_asks_players_for_the_window_key_and_switches_nothing_remotely() -> None:
    scenario = load_scenario(find_scenario("step8"))
    assert not scenario.domains
    assert "Press F8" in scenario.steps[1].say


def test_the_workshop_timeline_is_the_issues() -> None:
    scenario = load_scenario(find_scenario("workshop"))
    timeline = [(s.at, [f.describe() for f in s.faults]) for s in scenario.steps]
    assert timeline == [
        (0, []),
        (30, ["drop reply 20% (network, step 6 DELIVER REPLY)"]),
        (60, ["crash abort 2% action=move (server, step 2 DELIVER REQUEST)"]),
        (90, []),
    ]
    assert all(step.clear for step in scenario.steps if step.at != 30)


def test_scenarios_lists_every_shipped_one_with_what_it_needs(chaos: Callable[..., Done]) -> None:
    done = chaos("scenarios")
    assert done.status == 0, done.err
    rows = {line.split("│")[1].strip(): line for line in done.out.splitlines() if "│" in line}
    assert set(SHIPPED) <= set(rows)
    assert "server + proxy" in rows["step6"]
    assert "proxy" not in rows["step4"]


# --- bad scenario files ------------------------------------------------------------------

GOOD_START = 'name = "n"\ndescription = "d"\n[[step]]\nat = 0\nsay = "calm"\n'


# fmt: off
BAD_SCENARIOS = [
    ('name = "n"\ndescription = d\n', "not valid TOML: Invalid value (at line 2, column 15)"),
    ('description = "d"\n[[step]]\nat = 0\nsay = "s"\n', "name: Field required"),
    ('name = "n"\ndescription = "d"\nstep = []\n', "step: List should have at least 1 item"),
    ('name = "n"\ndescription = "d"\n[[steps]]\nat = 0\nsay = "s"\n', "step: Field required (and 1 more)"),
    (GOOD_START + 'colour = "red"\n', "step 1 (at 0 s): colour: Extra inputs are not permitted"),
    (GOOD_START + '[[step]]\nat = 30\nsay = "s"\nfaults = [{kind = "reject", probability = 2}]\n',
     "step 2 (at 30 s), fault 1: probability: Input should be less than or equal to 1"),
    (GOOD_START + '[[step]]\nat = 30\nsay = "s"\nfaults = [{kind = "reject"}, {kind = "drop"}]\n',
     "step 2 (at 30 s), fault 2: a drop fault needs a direction (request or reply)"),
    (GOOD_START + '[[step]]\nat = 30\nsay = "s"\nfaults = [{kind = "offline"}]\n',
     "step 2 (at 30 s): offline is a client fault and cannot be switched remotely"),
    (GOOD_START + '[[step]]\nat = "soon"\nsay = "s"\n', "step 2: at: Input should be a valid number"),
    (GOOD_START + '[[step]]\nat = 30\nsay = "  "\n', "step 2 (at 30 s): say: String should have at least 1 character"),
    (GOOD_START + '[[step]]\nat = 30\nsay = "s"\nclear = "yes"\n', "step 2 (at 30 s): clear: Input should be a valid boolean"),
    (GOOD_START + '[[step]]\nat = 0\nsay = "s"\n', "step 2 is at 0 s, not after step 1 at 0 s: steps must be in time order"),
]
BAD_SCENARIO_IDS = [
    "not-toml", "no-name", "no-steps", "steps-misspelt", "unknown-field", "bad-probability",
    "fault-without-direction", "client-fault", "time-not-a-number", "nothing-to-say",
    "clear-not-a-boolean", "out-of-order",
]
# fmt: on


@pytest.mark.parametrize(("text", "complaint"), BAD_SCENARIOS, ids=BAD_SCENARIO_IDS)
def test_a_bad_scenario_file_gets_one_line_naming_the_file_and_the_entry(
    chaos: Callable[..., Done], closed_port: int, tmp_path: Path, text: str, complaint: str
) -> None:
    path = write(tmp_path, text)
    url = f"ws://127.0.0.1:{closed_port}"  # the file is checked before anything is reached
    done = chaos("--server", url, "--proxy", url, "run", str(path))
    assert done.status == 1
    assert done.error.startswith(f"pacnet chaos: error: {path}: ")
    assert complaint in done.error


@pytest.mark.parametrize(
    ("ref", "complaint"),
    [
        ("nope", "no scenario 'nope': not a file, nor one of catalog, epidemic, step1, step2"),
        ("missing.toml", "missing.toml: no such scenario file"),
        ("some/dir/x", "some/dir/x: no such scenario file"),
    ],
)
def test_a_scenario_that_does_not_exist_is_one_line(
    chaos: Callable[..., Done], ref: str, complaint: str
) -> None:
    done = chaos("run", ref)
    assert done.status == 1
    assert complaint in done.error


# --- running a scenario ------------------------------------------------------------------

TIMELINE = """
# A test timeline on the server alone: calm, reject moves, a clear and update_fails, then
# disk_full left on at the end (the run must switch it off itself).
name = "test timeline"
description = "Four steps, ten seconds apart."

[[step]]
at = 0
clear = true
say = "calm"

[[step]]
at = 10
say = "moves are rejected [bold]for a long while[/bold]"
faults = [{ kind = "reject", action = "move", durationS = 1000 }]

[[step]]
at = 20
clear = true
say = "updates fail"
faults = [{ kind = "update_fails", action = "find" }]

[[step]]
at = 30
say = "and the disk is full"
faults = [{ kind = "disk_full", action = "findAll" }]
"""


async def test_a_scenario_runs_on_its_timeline_and_switches_everything_off_at_the_end(
    server: BoardServer,
    closed_port: int,
    achaos: Callable[..., Awaitable[Done]],
    tmp_path: Path,
) -> None:
    path = write(tmp_path, TIMELINE)
    scale = 0.02  # 30 s of timeline in 0.6 s
    seen: list[list[str]] = []

    async def watch() -> None:
        while True:
            state = kinds_on(server)
            if not seen or seen[-1] != state:
                seen.append(state)
            await asyncio.sleep(0.001)

    started = time.monotonic()
    async with asyncio.TaskGroup() as tasks:
        watcher = tasks.create_task(watch())
        done = await achaos(*at(server, closed_port), "run", str(path), "--time-scale", str(scale))
        watcher.cancel()
    elapsed = time.monotonic() - started

    assert done.status == 0, done.err
    assert elapsed >= 30 * scale  # absolute deadlines: never early
    lines = [line.strip() for line in done.out.splitlines()]
    assert lines[0] == (
        f"scenario {path}: test timeline (4 steps over 0:30; at time scale 0.02: 0.6 s)"
    )
    assert (
        lines[2:]
        == [
            "0:00  step 1/4  calm",
            "cleared: 0 faults switched off",
            "0:10  step 2/4  moves are rejected [bold]for a long while[/bold]",
            "on: s1 on the server: reject action=move for 20s (server, step 3 VALIDATE REQUEST)",  # 1000 s, scaled
            "0:20  step 3/4  updates fail",
            "cleared: 1 fault switched off",
            "on: s2 on the server: update_fails action=find (server, step 4 UPDATE SERVER STATE)",
            "0:30  step 4/4  and the disk is full",
            "on: s3 on the server: disk_full action=findAll (server, step 4 UPDATE SERVER STATE)",
            "done: switched off what it had left on: s2 on the server, s3 on the server",
        ]
    )
    assert kinds_on(server) == []
    expected = [[], ["reject"], [], ["update_fails"], ["update_fails", "disk_full"],
                ["update_fails"], []]  # fmt: skip
    assert is_subsequence(seen, expected), seen


async def eventually(condition: Callable[[], bool]) -> None:
    """Wait until ``condition()`` holds (a process has started, a step is on)."""
    async with asyncio.timeout(20_000 * MS):
        for _ in itertools.count():
            if condition():
                return
            await asyncio.sleep(0.01)


def is_subsequence(seen: list[list[str]], expected: list[list[str]]) -> bool:
    """Whether every state the server was seen in came in the expected order (a quick step
    may be missed; a wrong or reordered one may not)."""
    remaining = iter(expected)
    return all(any(state == want for want in remaining) for state in seen)


async def test_a_step_is_on_while_it_lasts_and_the_client_sees_its_outcome(
    server: BoardServer, closed_port: int, tmp_path: Path
) -> None:
    """The player's view is told of each step as it is applied: a real call made then meets
    the step's faults, with the outcome each scenario's say text promises."""
    path = write(tmp_path, """
        name = "promises"
        description = "Each step's outcome."
        [[step]]
        at = 0
        clear = true
        say = "update_fails: RETRYABLE"
        faults = [{ kind = "update_fails", action = "move" }]
        [[step]]
        at = 1
        clear = true
        say = "reject: FATAL"
        faults = [{ kind = "reject", action = "move" }]
        [[step]]
        at = 2
        clear = true
        say = "no_reply: UNKNOWN"
        faults = [{ kind = "no_reply", action = "move" }]
        [[step]]
        at = 3
        clear = true
        say = "calm: SUCCESS"
    """.replace("\n        ", "\n"))  # fmt: skip
    assert server.url is not None
    board = AdminSwitchboard(
        Target("server", server.url, server.admin.token, "--token"),
        Target("proxy", f"ws://127.0.0.1:{closed_port}", "", "--proxy-token"),
    )
    outcomes: list[Outcome] = []
    countdowns: list[int | None] = []
    async with RemoteBoard(server.url, "8765309", timeouts=FAST) as player:
        assert (await player.join()).ok

        async def show(event: object) -> None:
            if isinstance(event, StepDone):
                countdowns.append(server.admin.shown_exercise().next_step_in_s)
                outcomes.append((await player.move("pacman", "left")).outcome)

        player_run = ScenarioPlayer(load_scenario(path), board, time_scale=0.05)
        report = await player_run.play(show)
    assert outcomes == [Outcome.RETRYABLE, Outcome.FATAL, Outcome.UNKNOWN, Outcome.SUCCESS]
    assert (report.steps_done, report.problems, report.interrupted) == (4, 0, False)
    # Each step began an exercise the room's windows count afresh, named by its words.
    assert server.admin.exercise.label == "step 4: calm: SUCCESS"
    assert server.admin.exercise.number >= 4
    # and told the projector how long until the next: 1 s x 0.05, rounded up; none after the last
    assert [c is not None and c <= 1 for c in countdowns[:3]] == [True] * 3
    assert countdowns[3] is None


async def test_ctrl_c_stops_a_run_and_switches_its_faults_off(
    server: BoardServer, closed_port: int, tmp_path: Path
) -> None:
    """A real ``python -m pacnet chaos`` process: its fault hits a real call, then SIGINT."""
    path = write(tmp_path, """
        name = "a long hour"
        description = "One fault, then an hour of waiting."
        [[step]]
        at = 0
        say = "updates fail"
        faults = [{ kind = "update_fails", action = "move" }]
        [[step]]
        at = 3600
        clear = true
        say = "calm"
    """.replace("\n        ", "\n"))  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pacnet", "chaos", *at(server, closed_port), "run", str(path),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await eventually(lambda: kinds_on(server) == ["update_fails"])
        assert server.url is not None
        async with RemoteBoard(server.url, "8765309", timeouts=FAST) as player:
            assert (await player.join()).ok
            assert (await player.move("pacman", "left")).outcome is Outcome.RETRYABLE
            process.send_signal(signal.SIGINT)
            async with asyncio.timeout(20_000 * MS):
                out, err = await process.communicate()
            assert (await player.move("pacman", "left")).outcome is Outcome.SUCCESS
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 130, err.decode()
    assert out.decode().splitlines()[-1] == (
        "stopped early: switched off what it had left on: s1 on the server"
    )
    assert kinds_on(server) == []


def test_chaos_runs_as_a_module_with_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pacnet", "chaos", "run", "--help"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0
    assert done.stdout.startswith("usage: pacnet chaos run")
    assert "--time-scale F" in done.stdout


# --- with the proxy ----------------------------------------------------------------------

PROXY_TOKEN = "the-proxys-own-token"


@dataclass
class Workshop:
    """A board server with a chaos proxy in front of it."""

    server: BoardServer
    proxy: Any

    @property
    def flags(self) -> list[str]:
        assert self.server.url is not None
        assert self.proxy.url is not None
        return [
            "--server", self.server.url, "--proxy", self.proxy.url,
            f"--token={self.server.admin.token}", f"--proxy-token={PROXY_TOKEN}",
        ]  # fmt: skip

    def network_kinds(self) -> list[str]:
        statuses: list[FaultStatus] = self.proxy.faults.status(time.monotonic())
        return [status.fault.kind.value for status in statuses]


@pytest.fixture
async def workshop(server: BoardServer) -> AsyncIterator[Workshop]:
    config = ProxyConfig(port=0, upstream=server.url, seed=7, admin_token=PROXY_TOKEN)
    async with AsyncExitStack() as stack:
        proxy = await stack.enter_async_context(running_proxy(config))
        yield Workshop(server, proxy)


async def test_network_faults_go_to_the_proxy_and_server_faults_to_the_server(
    workshop: Workshop, achaos: Callable[..., Awaitable[Done]]
) -> None:
    flags = workshop.flags
    drop = await achaos(*flags, "add", "drop", "--direction", "reply", "--probability", "0.2")
    assert drop.out == "n1 on the proxy: drop reply 20% (network, step 6 DELIVER REPLY)\n"
    reject = await achaos(*flags, "add", "reject")
    assert reject.out == "s1 on the server: reject (server, step 3 VALIDATE REQUEST)\n"
    assert (workshop.network_kinds(), kinds_on(workshop.server)) == (["drop"], ["reject"])

    listed = await achaos(*flags, "list")
    assert f"proxy {workshop.proxy.url}: 1 fault on (seed 7)" in listed.out
    assert "n1 │ network │ 6 DELIVER_REPLY" in listed.out
    assert "s1 │ server  │ 3 VALIDATE_REQUEST" in listed.out

    assert (await achaos(*flags, "remove", "n1")).out == "n1 is off on the proxy\n"
    assert workshop.network_kinds() == []
    # Ids a facilitator chose may be the same on both: then they must say which.
    await achaos(*flags, "add", "reject", "--id", "mine")
    await achaos(*flags, "add", "drop", "--direction", "reply", "--id", "mine")
    both = await achaos(*flags, "remove", "mine")
    assert both.status == 2
    assert "mine is on both the server and the proxy: say which with --on" in both.error
    assert (
        await achaos(*flags, "remove", "mine", "--on", "proxy")
    ).out == "mine is off on the proxy\n"
    assert workshop.network_kinds() == []
    await achaos(*flags, "remove", "mine", "--on", "server")

    await achaos(*flags, "add", "corrupt", "--direction", "request", "--corruption", "schema")
    cleared = await achaos(*flags, "clear")
    assert f"proxy {workshop.proxy.url}: 1 fault switched off" in cleared.out
    assert f"server {workshop.server.url}: 1 fault switched off" in cleared.out
    assert (workshop.network_kinds(), kinds_on(workshop.server)) == ([], [])


async def test_the_proxys_token_is_its_own(
    workshop: Workshop, achaos: Callable[..., Awaitable[Done]]
) -> None:
    flags = [*workshop.flags[:-1], "--proxy-token=wrong"]
    done = await achaos(*flags, "add", "refuse")
    assert done.status == 1
    assert done.error.startswith(
        f"pacnet chaos: error: the proxy at {workshop.proxy.url} refused the admin token"
    )
    assert workshop.network_kinds() == []


async def test_a_network_scenario_without_the_proxy_says_so_before_starting(
    server: BoardServer, closed_port: int, achaos: Callable[..., Awaitable[Done]]
) -> None:
    done = await achaos(*at(server, closed_port), "run", "step6", "--time-scale", "0.01")
    assert done.status == 1
    assert done.error == (
        f"pacnet chaos: error: the proxy at ws://127.0.0.1:{closed_port} is not running "
        "(connection refused): this scenario's network faults need pacnet proxy"
    )
    assert done.out == ""
    assert kinds_on(server) == []


@pytest.mark.parametrize("name", [name for name in SHIPPED if name != "epidemic"])
async def test_every_shipped_scenario_plays_through_to_the_end(
    workshop: Workshop, achaos: Callable[..., Awaitable[Done]], name: str
) -> None:
    """(The epidemic needs a group of servers: ``tests/test_epidemic.py`` plays it.)"""
    scenario = load_scenario(find_scenario(name))
    scale = 0.3 / scenario.length  # the whole timeline in 0.3 s
    done = await achaos(*workshop.flags, "run", name, "--time-scale", f"{scale:.6f}")
    assert done.status == 0, done.err
    ids = [line for line in done.out.splitlines() if line.strip().startswith("on: ")]
    assert len(ids) == sum(len(step.faults) for step in scenario.steps)
    assert done.out.splitlines()[-1].startswith("done: ")
    assert (workshop.network_kinds(), kinds_on(workshop.server)) == ([], [])


async def test_the_workshop_loses_replies_through_the_proxy_while_its_step_is_on(
    workshop: Workshop,
) -> None:
    assert workshop.server.url is not None
    assert workshop.proxy.url is not None
    board = AdminSwitchboard(
        Target("server", workshop.server.url, workshop.server.admin.token, "--token"),
        Target("proxy", workshop.proxy.url, PROXY_TOKEN, "--proxy-token"),
    )
    scenario = load_scenario(find_scenario("workshop"))
    steps = [step.model_copy(update={"faults": [
        fault.model_copy(update={"probability": 1.0}) for fault in step.faults
    ]}) for step in scenario.steps]  # fmt: skip
    certain = scenario.model_copy(update={"steps": steps})  # every fault fires: no luck involved
    outcomes: list[Outcome] = []
    async with RemoteBoard(workshop.proxy.url, "8765309", timeouts=FAST) as player:
        assert (await player.join()).ok

        async def show(event: object) -> None:
            if isinstance(event, StepDone):
                outcomes.append((await player.find_all(":ghost")).outcome)

        await ScenarioPlayer(certain, board, time_scale=0.01).play(show)
    # calm, a lost reply, a crash aimed at moves only (findAll passes), calm
    assert outcomes == [Outcome.SUCCESS, Outcome.UNKNOWN, Outcome.SUCCESS, Outcome.SUCCESS]
    assert (workshop.network_kinds(), kinds_on(workshop.server)) == ([], [])
