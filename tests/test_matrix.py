"""``pacnet matrix``, the article's test matrix: it runs every case and passes, says so as
JSON, and can fail: a wrong expectation, or a server that forgot its idempotency, is reported
as failed, with the reason, and exit status 1."""

import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pacnet.main import main
from pacnet.matrix.scenarios import BY_NAME, CALLS, SCENARIOS, End
from pacnet.protocol.outcome import Outcome
from pacnet.server.idempotency import IdempotencyCache
from tests.test_cli import pacnet

PROVOKED = {
    "SUCCESS": (None, "-", None),
    "POST_FAILED": (1, "client", "offline"),
    "RETRYABLE": (4, "server", "update_fails"),
    "FATAL": (3, "server", "reject"),
    "UNKNOWN": (5, "server", "no_reply"),
}
"""Each outcome's step, domain and fault, as docs/matrix.md gives them."""


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
    for scenario in SCENARIOS:
        ran = {(c["call"], c["outcome"]) for c in cases if c["scenario"] == scenario.name}
        assert ran == {(call, o.value) for call in scenario.calls for o in Outcome}, scenario.name
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
    assert len(cases) == len(BY_NAME["pellet"].calls) * len(Outcome)
    for case in cases:
        step, domain, kind = PROVOKED[case["outcome"]]
        assert (case["step"], case["domain"]) == (step, domain), case["id"]
        assert (case["fault"] or {}).get("kind") == kind
        assert case["did"]["attempts"][0] == case["outcome"], "the call ended as provoked"
        assert case["did"]["attempts"] == case["expected"]["attempts"]
        assert set(case["end"]) >= {"status", "tile", "score", "lives", "level", "pellets"}
        assert case["scenario"] == "pellet"
        assert case["title"] == "eat a pellet"
        assert case["passed"] is True
        assert case["why"] == []
    unknown_move = next(c for c in cases if c["id"] == "pellet-move-UNKNOWN")
    assert unknown_move["did"]["attempts"] == ["UNKNOWN", "SUCCESS"]
    assert unknown_move["did"]["serverRuns"] == 1, "the retry answered from the server's memory"
    assert unknown_move["end"]["score"] == 10, "the pellet scored once"
    fatal_move = next(c for c in cases if c["id"] == "pellet-move-FATAL")
    assert fatal_move["did"]["attempts"] == ["FATAL"]
    assert fatal_move["end"]["score"] == 0
    assert "eat a pellet: call by outcome" in done.stdout


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
    assert failed.keys() == {f"pellet-move-{o}" for o in PROVOKED} - {"pellet-move-FATAL"}
    assert all(why == ["score is 10, expected 20"] for why in failed.values())
    out = capsys.readouterr().out
    assert "FAILED pellet-move-UNKNOWN" in out
    assert "score is 10, expected 20" in out
    assert "1 passed, 4 failed" in out


def test_a_server_that_forgot_its_idempotency_fails_the_unknown_mutations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(IdempotencyCache, "get", lambda self, request, now: None)
    report = tmp_path / "forgetful.json"
    status = main(["matrix", "--scenario", "ghost", "--json", str(report)])
    assert status == 1
    failed = {c["id"]: c["why"] for c in read(report)["cases"] if not c["passed"]}
    assert failed.keys() == {"ghost-join-UNKNOWN", "ghost-move-UNKNOWN", "ghost-remove-UNKNOWN"}
    assert failed["ghost-remove-UNKNOWN"] == ["the server ran the remove 2x, expected 1x"]


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
    assert failed == {"wall-move-FATAL": ["moved is False, expected True"]}


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
