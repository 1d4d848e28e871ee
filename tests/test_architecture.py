"""Dependency directions: pacnet's packages are layered from the front door down to the wire,
only the window imports pygame, and the commands that play reach the server only through
``pacnet.server.embedded`` (contracts in pyproject.toml)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports on the project at ``root``, importing its ``pacnet`` from there."""
    return subprocess.run(
        [sys.executable, "-c", "import sys; sys.path.insert(0, '.'); "
         "from importlinter.cli import lint_imports_command; lint_imports_command()", "--no-cache"],
        cwd=root, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_the_import_contracts_hold() -> None:
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 kept, 0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "source", "complaint"),
    [
        (
            "pacnet/client/sneaky.py",
            "import pacnet.server.board\n",
            "pacnet.client is not allowed to import pacnet.server",
        ),
        (
            "pacnet/protocol/sneaky.py",
            "import pacnet.client.remote\n",
            "pacnet.protocol is not allowed to import pacnet.client",
        ),
        ("pacnet/bots/sneaky.py", "import pygame\n", "pacnet.bots.sneaky -> pygame"),
        (
            "pacnet/demo/sneaky.py",
            "import pacnet.server.board\n",
            "pacnet.demo.sneaky -> pacnet.server.board",
        ),
        ("pacnet/newcomer/__init__.py", "", "pacnet.newcomer"),
        ("pacnet/proxy/policy.py", "import asyncio\n", "pacnet.proxy.policy -> asyncio"),
    ],
    ids=[
        "the-client-core-importing-the-server",
        "the-wire-core-importing-the-client",
        "a-bot-importing-pygame",
        "the-demo-importing-the-server-past-its-door",
        "a-new-package-on-no-layer",
        "the-fault-policy-doing-io",
    ],
)
def test_a_forbidden_import_breaks_a_contract(
    tmp_path: Path, module: str, source: str, complaint: str
) -> None:
    """The check can fail: a copy of the project with one forbidden import is refused."""
    shutil.copytree(ROOT / "pacnet", tmp_path / "pacnet")
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / module).parent.mkdir(exist_ok=True)
    (tmp_path / module).write_text(source)
    done = lint_imports(tmp_path)
    assert done.returncode != 0
    assert complaint in done.stdout
