"""``pacnet matrix``, the article's test matrix: it runs every case and passes, says so as
JSON, and can fail: a wrong expectation, or a server that forgot its idempotency (behind a
lost reply, the server's or the network's), is reported as failed, with the reason, and exit
status 1."""

import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pacnet.main import main
from pacnet.matrix.provoke import WAYS
from pacnet.matrix.scenarios import BY_NAME, CALLS, SCENARIOS, End
from pacnet.protocol.outcome import Outcome
from pacnet.server.idempotency import IdempotencyCache
from tests.test_cli import pacnet

PROVOKED = {
    "SUCCESS": ("SUCCESS", None, "-", None),
    "POST_FAILED-offline": ("POST_FAILED", 1, "client", "offline"),
    "RETRYABLE-update-fails": ("RETRYABLE", 4, "server", "update_fails"),
    "FATAL-request-corrupted": ("FATAL", 2, "network", "corrupt"),
    "FATAL-rejected": ("FATAL", 3, "server", "reject"),
    "UNKNOWN-request-dropped": ("UNKNOWN", 2, "network", "drop"),
    "UNKNOWN-no-reply": ("UNKNOWN", 5, "server", "no_reply"),
    "UNKNOWN-reply-dropped": ("UNKNOWN", 6, "network", "drop"),
}
"""Each way to an outcome (the end of a case's id): its outcome, step, domain and fault, as
docs/matrix.md gives them."""


def way_of(case: dict[str, Any]) -> str:
    """``pellet-move-UNKNOWN-reply-dropped`` -> ``UNKNOWN-reply-dropped``."""
    prefix = f"{case['scenario']}-{case['call']}-"
    assert case["id"].startswith(prefix)
    return str(case["id"][len(prefix) :])


def read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_the_whole_matrix_passes_every_call_of_every_scenario_by_every_outcome(
    tmp_path: Path,
) -> None:
    report = tmp_path / "matrix.json"
    done = pacnet("matrix", "--json", str(report), timeout=110)
    assert done.returncode == 0, done.stdout + done.stderr
    data = read(report)
    cases = data["cases"]
    assert data["total"] == len(cases) >= 200
    assert data["passed"] == len(cases)
    assert data["failed"] == 0
    assert all(case["passed"] and case["why"] == [] for case in cases)
    assert data["seconds"] < 60
    assert {case["scenario"] for case in cases} == {s.name for s in SCENARIOS}
    assert len(SCENARIOS) >= 10
    assert len(WAYS) == len(PROVOKED)
    for scenario in SCENARIOS:
        ran = {(c["call"], way_of(c)) for c in cases if c["scenario"] == scenario.name}
        assert ran == {(call, way) for call in scenario.calls for way in PROVOKED}, scenario.name
    for case in cases:
        assert (case["outcome"], case["step"]) == PROVOKED[way_of(case)][:2], case["id"]
    network = {(c["outcome"], c["step"]) for c in cases if c["domain"] == "network"}
    assert network == {("FATAL", 2), ("UNKNOWN", 2), ("UNKNOWN", 6)}, "the network's ways"
    assert sum(c["domain"] == "network" for c in cases) == 3 * len(cases) // len(PROVOKED)
    covered = {c["call"] for c in cases}
    assert covered == set(CALLS), "the join and the article's four calls, each somewhere"
    assert f"{len(cases)} cases, {len(cases)} passed, 0 failed" in done.stdout
    for outcome in Outcome:
        assert outcome.value in done.stdout


def test_every_case_says_where_its_outcome_was_provoked_and_what_came_of_it(
    tmp_path: Path,
) -> None:
    report = tmp_path / "one.json"
    done = pacnet("matrix", "--scenario", "pellet", "--json", str(report), timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    cases = read(report)["cases"]
    assert len(cases) == len(BY_NAME["pellet"].calls) * len(PROVOKED)
    for case in cases:
        outcome, step, domain, kind = PROVOKED[way_of(case)]
        assert (case["outcome"], case["step"], case["domain"]) == (outcome, step, domain)
        assert (case["fault"] or {}).get("kind") == kind
        if kind is not None:
            assert case["fault"]["action"] == case["call"], "aimed at the call"
            assert case["fault"]["count"] == 1, "and at its first attempt only"
        assert case["did"]["attempts"][0] == case["outcome"], "the call ended as provoked"
        assert case["did"]["attempts"] == case["expected"]["attempts"]
        assert set(case["end"]) >= {"status", "tile", "score", "lives", "level", "pellets"}
        assert case["scenario"] == "pellet"
        assert case["title"] == "eat a pellet"
        assert case["passed"] is True
        assert case["why"] == []
    by_id = {c["id"]: c for c in cases}
    for lost in ("pellet-move-UNKNOWN-no-reply", "pellet-move-UNKNOWN-reply-dropped"):
        assert by_id[lost]["did"]["attempts"] == ["UNKNOWN", "SUCCESS"]
        assert by_id[lost]["did"]["serverRuns"] == 1, "the retry answered from memory"
        assert by_id[lost]["end"]["score"] == 10, "the pellet scored once"
    reply_dropped = by_id["pellet-move-UNKNOWN-reply-dropped"]
    assert reply_dropped["stepName"] == "DELIVER_REPLY"
    assert reply_dropped["fault"]["direction"] == "reply"
    # A read whose reply was lost runs again; one whose request was lost runs once.
    assert by_id["pellet-find-UNKNOWN-reply-dropped"]["did"]["serverRuns"] == 2
    assert by_id["pellet-find-UNKNOWN-request-dropped"]["did"]["serverRuns"] == 1
    assert by_id["pellet-find-UNKNOWN-request-dropped"]["stepName"] == "DELIVER_REQUEST"
    for fatal in ("pellet-move-FATAL-rejected", "pellet-move-FATAL-request-corrupted"):
        assert by_id[fatal]["did"]["attempts"] == ["FATAL"]
        assert by_id[fatal]["did"]["serverRuns"] == 0
        assert by_id[fatal]["end"]["score"] == 0
    assert "eat a pellet: each call, each way" in done.stdout


def test_a_case_whose_expectation_is_wrong_fails_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pellet = BY_NAME["pellet"]
    wrong = replace(pellet, calls=("move",), end=pellet.end.but(score=20))
    monkeypatch.setitem(BY_NAME, "pellet", wrong)  # type: ignore[arg-type]  # a dict
    report = tmp_path / "wrong.json"
    status = main(["matrix", "--scenario", "pellet", "--json", str(report)])
    assert status == 1
    data = read(report)
    failed = {c["id"]: c["why"] for c in data["cases"] if not c["passed"]}
    # A FATAL move has its own end (the pellet stays: score 0), which is right.
    fatal = {f"pellet-move-{way}" for way in PROVOKED if way.startswith("FATAL")}
    assert failed.keys() == {f"pellet-move-{way}" for way in PROVOKED} - fatal
    assert all(why == ["score is 10, expected 20"] for why in failed.values())
    out = capsys.readouterr().out
    assert "FAILED pellet-move-UNKNOWN-reply-dropped" in out
    assert "score is 10, expected 20" in out
    assert "2 passed, 6 failed" in out


def test_a_server_that_forgot_its_idempotency_fails_the_mutations_whose_reply_was_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(IdempotencyCache, "get", lambda self, request, now: None)
    report = tmp_path / "forgetful.json"
    status = main(["matrix", "--scenario", "ghost", "--json", str(report)])
    assert status == 1
    cases = read(report)["cases"]
    failed = {c["id"]: c["why"] for c in cases if not c["passed"]}
    # The server acted, then its reply was lost (step 5, the server's; step 6, the
    # network's): the retry runs the mutation again. A request lost on the way (step 2)
    # was never run, so its retry runs once, memory or not.
    assert failed.keys() == {
        f"ghost-{call}-UNKNOWN-{lost}"
        for call in ("join", "move", "remove")
        for lost in ("no-reply", "reply-dropped")
    }
    for lost in ("no-reply", "reply-dropped"):
        assert failed[f"ghost-remove-UNKNOWN-{lost}"] == [
            "the server ran the remove 2x, expected 1x"
        ]
    dropped = next(c for c in cases if c["id"] == "ghost-move-UNKNOWN-reply-dropped")
    assert (dropped["domain"], dropped["step"]) == ("network", 6)
    assert "the server ran the move 2x, expected 1x" in dropped["why"]


def test_a_wrong_end_of_one_outcome_fails_that_case_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wall = BY_NAME["wall"]
    wrong_fatal = End(tile=(1, 1), score=0, moved=True)  # a FATAL move was never applied
    ends = {**wall.ends, ("move", Outcome.FATAL): wrong_fatal}
    monkeypatch.setitem(BY_NAME, "wall", replace(wall, calls=("move",), ends=ends))  # type: ignore[arg-type]
    report = tmp_path / "wall.json"
    assert main(["matrix", "--scenario", "wall", "--json", str(report)]) == 1
    failed = {c["id"]: c["why"] for c in read(report)["cases"] if not c["passed"]}
    assert failed == {
        "wall-move-FATAL-rejected": ["moved is False, expected True"],
        "wall-move-FATAL-request-corrupted": ["moved is False, expected True"],
    }


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--scenario", "nosuch"], "--scenario: no scenario 'nosuch'; the scenarios are wall,"),
        (["--jobs", "0"], "--jobs: '0' must be at least 1"),
        (["--json", "/no/such/dir/m.json"], "--json: no directory '/no/such/dir'"),
        (["--frobnicate"], "pacnet matrix: error: unrecognized arguments: --frobnicate"),
    ],
    ids=["an-unknown-scenario", "no-jobs", "json-in-no-directory", "an-unknown-flag"],
)
def test_a_bad_flag_gets_one_line_and_exit_2(args: list[str], complaint: str) -> None:
    done = pacnet("matrix", *args, timeout=20)
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert complaint in done.stderr


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is the shell being completed")
def test_bash_completes_the_matrix_and_its_flags() -> None:
    script = pacnet("completion", "bash", timeout=20)
    assert script.returncode == 0

    def completed(*words: str) -> list[str]:
        done = subprocess.run(
            ["bash", "-c", f'{script.stdout}\nCOMP_WORDS=({" ".join(words)}); '
             f'COMP_CWORD={len(words) - 1}; _pacnet_complete; printf "%s\\n" "${{COMPREPLY[@]}}"'],
            capture_output=True, text=True, timeout=20, check=True,
        )  # fmt: skip
        return done.stdout.split()

    assert completed("pacnet", "matr") == ["matrix"]
    assert completed("pacnet", "matrix", "--sc") == ["--scenario"]
    assert sorted(completed("pacnet", "matrix", "--j")) == ["--jobs", "--json"]
