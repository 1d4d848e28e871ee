"""The command line as a user meets it: real processes, exit codes, one-line errors."""

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pacnet.main import COMMANDS
from pacnet.protocol.outcome import Outcome
from tests.conftest import ROOT, ServerProcess


def pacnet(
    *args: str, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pacnet", *args],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env,
    )  # fmt: skip


def table_row(output: str, call: str) -> list[int]:
    """The counts of one call's row in the demo's outcome table."""
    for line in output.splitlines():
        cells = [c.strip() for c in line.replace("│", "|").split("|") if c.strip()]
        if cells and cells[0] == call:
            return [int(c) for c in cells[1:]]
    raise AssertionError(f"no row for {call} in:\n{output}")


def test_demo_plays_the_loop_against_an_embedded_server() -> None:
    done = pacnet("demo", "--iterations", "12", "--interval", "0.02", "--seed", "2")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert sum(" find " in line and "SUCCESS" in line for line in lines) == 12
    for call in ("find", "move", "findAll"):
        row = table_row(done.stdout, call)
        assert row[0] == 12
        assert row[-1] == 12
    assert table_row(done.stdout, "remove")[-1] >= 0
    header = next(
        line for line in lines if "SUCCESS" in line and "UNKNOWN" in line and "call" in line
    )
    assert [o.value for o in Outcome] == [
        w for w in header.replace("┃", " ").split() if w.isupper()
    ]


def test_demo_against_a_closed_port_is_post_failed_and_exits_nonzero(closed_port: int) -> None:
    done = pacnet("demo", "--server", f"ws://127.0.0.1:{closed_port}")
    assert done.returncode == 1
    assert "POST_FAILED" in done.stdout
    for call in ("find", "move", "findAll"):
        row = table_row(done.stdout, call)
        assert row[1] == row[-1] > 0  # every call POST_FAILED
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("pacnet demo: error: no call succeeded")
    assert "connection refused" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_demo_against_a_running_server(server_process: Callable[..., ServerProcess]) -> None:
    process = server_process()
    done = pacnet(
        "demo", "--server", process.url, "--iterations", "3", "--interval", "0", "--user", "8765309"
    )
    assert done.returncode == 0, done.stderr
    assert "user 8765309" in done.stdout
    assert table_row(done.stdout, "move")[0] == 3


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["demo", "--iterations", "0"], "--iterations: '0' must be at least 1"),
        (["demo", "--iterations", "many"], "--iterations: 'many' is not a whole number"),
        (["demo", "--timeout", "-1"], "--timeout: '-1' must be a number greater than 0"),
        (
            ["demo", "--server", "http://example"],
            "--server: 'http://example' is not a ws:// or wss:// URL",
        ),
        (["demo", "--server", "http://127.0.0.1:8765"], "is not a ws:// or wss:// URL"),
        (["demo", "--server", "ws://"], "--server: 'ws://' is not a ws:// or wss:// URL"),
        (["demo", "--interval", "-1"], "--interval: '-1' must be 0 or more"),
        (["demo", "--layout", "/no/such/file"], "--layout: no layout '/no/such/file'"),
        (["demo", "--frobnicate"], "pacnet demo: error: unrecognized arguments: --frobnicate"),
        (["serve", "--bogus"], "pacnet serve: error: unrecognized arguments: --bogus"),
        (["chaos", "add", "--bogus"], "pacnet chaos add: error: unrecognized arguments: --bogus"),
        (
            ["play", "--name", "THEIR_NAME"],
            "--name: 'THEIR_NAME' stands for your own name: put yours there",
        ),
        (["play", "--name", "x" * 65], "must be 1 to 64 characters"),
        (["demo", "--user", ""], "--user: '' must be 1 to 64 characters"),
        (["bots", "--server", "http://x"], "--server: 'http://x' is not a ws:// or wss:// URL"),
        (["play", "--layout", "/no/such/file"], "--layout: no layout '/no/such/file'"),
        (["serve", "--port", "70000"], "--port: '70000' is not a port number"),
        (["serve", "--rate", "0"], "--rate: '0' must be a number greater than 0"),
        (["serve", "--burst", "1.5"], "--burst: '1.5' is not a whole number"),
        (["serve", "--keepalive-timeout", "soon"], "--keepalive-timeout: 'soon' is not a number"),
        (["serve", "--log-format", "xml"], "--log-format: invalid choice: 'xml'"),
        (["serve", "--loop", "twisted"], "--loop: 'twisted' is not one of auto, uvloop, asyncio"),
        (["proxy", "--loop", "twisted"], "--loop: 'twisted' is not one of auto, uvloop, asyncio"),
        (["serve", "--layout", "no-such-maze"], "--layout: no layout 'no-such-maze'"),
        (["serve", "--max-wait", "-1"], "--max-wait: '-1' must be 0 or more seconds"),
        (
            ["serve", "--max-wait", "0.1", "--overload-wait", "0.2"],
            "--overload-wait (0.2 s) must not exceed --max-wait (0.1 s)",
        ),
        (
            ["serve", "--host", "nosuchhost.invalid", "--no-state"],
            "cannot listen on nosuchhost.invalid:8765: no such host",
        ),
        (["teleport"], "invalid choice: 'teleport'"),
        ([], "the following arguments are required: COMMAND"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_a_bad_flag_gets_one_line_and_exit_2(args: list[str], complaint: str) -> None:
    done = pacnet(*args, timeout=20)
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert complaint in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_on_a_port_in_use_says_so_in_one_line(
    server_process: Callable[..., ServerProcess],
) -> None:
    port = server_process().url.rsplit(":", 1)[1]
    done = pacnet("serve", "--port", port, timeout=20)
    assert done.returncode == 1
    assert (
        done.stderr.strip().splitlines()[-1]
        == f"pacnet serve: error: cannot listen on 127.0.0.1:{port}: address already in use"
    )


@pytest.mark.parametrize("command", [[], ["serve"], ["demo"], ["play"]])
def test_help_works_for_every_command(command: list[str]) -> None:
    done = pacnet(*command, "--help", timeout=20)
    assert done.returncode == 0
    assert "usage: pacnet" in done.stdout


def test_play_without_a_display_says_what_to_do_in_one_line() -> None:
    hidden = ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")
    env = {k: v for k, v in os.environ.items() if k not in hidden}
    done = pacnet("play", timeout=20, env=env)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "pacnet play: error: no display to open a window on: run it on a desktop, or under a "
        "virtual screen (xvfb-run uv run pacnet play); for a game without a window, try pacnet demo"
    ]


def test_play_refuses_a_server_that_is_not_a_websocket_url() -> None:
    done = pacnet("play", "--server", "http://example", timeout=20)
    assert done.returncode == 2
    assert "--server: 'http://example' is not a ws:// or wss:// URL" in done.stderr


def test_version_is_the_installed_package_version() -> None:
    done = pacnet("--version", timeout=20)
    assert done.returncode == 0
    assert done.stdout == f"pacnet {importlib.metadata.version('pacnet')}\n"


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_each_command_help_ends_with_the_file_of_its_code(command: object) -> None:
    """From ``pacnet X --help`` to the code of X in one step."""
    name, source = command.name, command.source  # type: ignore[attr-defined]
    done = pacnet(name, "--help", timeout=20)
    assert done.returncode == 0
    assert done.stdout.rstrip().endswith(f"code: {source}")
    assert (ROOT / source).is_file()


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is the shell being completed")
@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["pacnet", "ch"], ["chaos"]),
        (["pacnet", "chaos", "sc"], ["scenarios"]),
        (["pacnet", "serve", "--snap"], ["--snapshot-interval"]),
        (["pacnet", "chaos", "add", "--dir"], ["--direction"]),
    ],
    ids=["a-command", "a-chaos-command", "a-serve-flag", "a-flag-of-chaos-add"],
)
def test_bash_completes_commands_and_their_flags(words: list[str], expected: list[str]) -> None:
    script = pacnet("completion", "bash", timeout=20)
    assert script.returncode == 0
    shown = " ".join(words)
    done = subprocess.run(
        ["bash", "-c", f'{script.stdout}\nCOMP_WORDS=({shown}); COMP_CWORD={len(words) - 1}; '
         '_pacnet_complete; printf "%s\\n" "${COMPREPLY[@]}"'],
        capture_output=True, text=True, timeout=20, check=True,
    )  # fmt: skip
    assert done.stdout.split() == expected


def test_serve_shows_a_generated_admin_token_on_its_terminal_and_never_in_the_log(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PACNET_ADMIN_TOKEN"}
    process = subprocess.Popen(
        [sys.executable, "-m", "pacnet", "serve", "--no-state", "--port", "0", "--log-format",
         "json"],
        stdout=subprocess.PIPE, stderr=(tmp_path / "server.log").open("w"), text=True, cwd=ROOT,
        env=env,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        shown = process.stdout.readline()
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
    assert shown.startswith("pacnet serve: admin token ")
    token = shown.split()[4]
    assert len(token) == 32
    log = (tmp_path / "server.log").read_text()
    assert token not in log
    started = next(json.loads(line) for line in log.splitlines() if "server_started" in line)
    assert started["adminToken"] == "generated"


@pytest.mark.parametrize("loop", ["auto", "asyncio", "uvloop"])
def test_serve_runs_on_the_loop_it_is_given(
    loop: str, server_process: Callable[..., ServerProcess]
) -> None:
    server = server_process("--no-state", "--loop", loop)
    started = next(e for e in server.events() if e["event"] == "server_started")
    assert started["loop"] == ("asyncio" if loop == "asyncio" else "uvloop")


def test_play_without_pygame_says_how_to_get_it_in_one_line() -> None:
    hide = "import sys; sys.modules['pygame'] = None; from pacnet.main import main; "
    done = subprocess.run(
        [sys.executable, "-c", hide + "sys.exit(main(sys.argv[1:]))", "play"],
        capture_output=True, text=True, timeout=30, cwd=ROOT,
        env={**os.environ, "SDL_VIDEODRIVER": "dummy"},
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "pacnet play: error: the window needs pygame-ce, which is not installed here: "
        "uv run --extra window pacnet play (or pip install 'pacnet[window]')"
    ]
