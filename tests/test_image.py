"""The Docker image, built and started the way its Dockerfile says, where Docker cannot run.

Docker is not available on the machines that run this suite, so this test is the stand-in:
it reads the Dockerfile, copies exactly what its ``COPY`` lines copy into an empty folder,
runs its ``uv`` install line there, starts its ``CMD`` (its paths moved into the folder, on a
free port), and plays a call against it; then runs its ``HEALTHCHECK``. What only Docker can
do (the base image, the user, the volume) is checked by reading the file.
"""

import asyncio
import json
import os
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from pacnet.client.remote import RemoteBoard
from tests.conftest import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instructions() -> list[tuple[str, str]]:
    """(instruction, arguments) in order, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [
        (line.split(maxsplit=1)[0].upper(), line.split(maxsplit=1)[1])
        for line in joined.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def exec_form(arguments: str) -> list[str]:
    words = json.loads(arguments)
    assert isinstance(words, list), "exec form, so the server is PID 1 and gets SIGTERM"
    return [str(w) for w in words]


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the image's /app would hold, installed as its RUN line installs it."""
    app = tmp_path_factory.mktemp("image") / "app"
    app.mkdir()
    steps = instructions()
    assert dict(steps)["WORKDIR"] == "/app"
    for instruction, arguments in steps:
        if instruction == "COPY":
            *sources, target = arguments.split()
            for source in sources:
                destination = (
                    app
                    / (target if target not in ("./", ".") else "")
                    / (Path(source).name if target in ("./", ".") else "")
                )
                if (ROOT / source).is_dir():
                    shutil.copytree(
                        ROOT / source, destination, ignore=shutil.ignore_patterns("__pycache__")
                    )
                else:
                    shutil.copy(ROOT / source, destination)
        elif instruction == "RUN" and arguments.startswith("uv "):
            env = {
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("VIRTUAL_ENV", "UV_PROJECT"))
            }
            done = subprocess.run(
                shlex.split(arguments), cwd=app, capture_output=True, text=True, timeout=600,
                env=env,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
    return app


def test_the_image_runs_as_a_user_with_a_health_check_and_a_volume() -> None:
    steps = instructions()
    kinds = [instruction for instruction, _ in steps]
    assert kinds[0] == "FROM"
    assert dict(steps)["FROM"].startswith("python:3.11")
    assert dict(steps)["USER"] not in ("root", "0")
    assert kinds.index("USER") > max(i for i, k in enumerate(kinds) if k == "RUN")
    assert "HEALTHCHECK" in kinds
    assert "/healthz" in dict(steps)["HEALTHCHECK"]
    assert dict(steps)["VOLUME"] == "/data"
    assert "/data/" in dict(steps)["CMD"]


def test_the_build_context_is_what_the_copy_lines_take() -> None:
    """.dockerignore leaves out .venv, .git and the rest: only what COPY names is sent."""
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert "*" in ignore
    kept = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    copied = {
        source.rstrip("/")
        for instruction, arguments in instructions() if instruction == "COPY"
        for source in arguments.split()[:-1]
    }  # fmt: skip
    assert kept == copied


def test_the_image_installs_no_window_and_no_test_tools(image: Path) -> None:
    python = image / ".venv" / "bin" / "python"
    for absent in ("pygame", "pytest", "matplotlib", "mypy"):
        done = subprocess.run([python, "-c", f"import {absent}"], capture_output=True, timeout=60)
        assert done.returncode != 0, f"{absent} is in the image"


def test_the_image_starts_serves_a_call_and_passes_its_health_check(
    image: Path, tmp_path: Path
) -> None:
    steps = dict(instructions())
    command = [
        w.replace("/app/", f"{image}/").replace("/data/", f"{tmp_path}/")
        for w in exec_form(steps["CMD"])
    ]
    log = tmp_path / "server.log"
    with log.open("w") as stderr:
        server = subprocess.Popen([*command, "--port", "0"], stderr=stderr, cwd=image)
    try:
        url = wait_for_url(log, server)

        async def play() -> bool:
            async with RemoteBoard(url.replace("0.0.0.0", "127.0.0.1"), "8765309") as board:
                return (await board.join()).ok

        assert asyncio.run(play())
        port = url.rsplit(":", 1)[1]
        check = exec_form(steps["HEALTHCHECK"].split("CMD", 1)[1].strip())
        check = [w.replace("/app/", f"{image}/").replace(":8765/", f":{port}/") for w in check]
        assert subprocess.run(check, timeout=30).returncode == 0
    finally:
        server.terminate()
        assert server.wait(timeout=10) == 0  # SIGTERM: a clean stop, the game saved
    assert (tmp_path / "state.sqlite").is_file()


def wait_for_url(log: Path, server: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            if line.startswith("{") and json.loads(line).get("event") == "server_started":
                return str(json.loads(line)["url"])
        assert server.poll() is None, log.read_text()
        time.sleep(0.05)
    raise AssertionError("the image's server did not start")
