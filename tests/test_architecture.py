"""Dependency directions: protocol is shared, the server never needs the client, and the
client reaches the server only through ``client.embedded`` (contracts in pyproject.toml)."""

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert command is not None, "import-linter is a dev dependency"
    return subprocess.run(
        [command, "--no-cache"], cwd=root, capture_output=True, text=True, timeout=120
    )


def test_the_import_contracts_hold() -> None:
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 kept, 0 broken" in done.stdout


def test_a_client_module_importing_the_server_breaks_a_contract(tmp_path: Path) -> None:
    """The check can fail: a copy of the project with one forbidden import is refused."""
    for package in ("protocol", "faults", "server", "client"):
        shutil.copytree(ROOT / package, tmp_path / package)
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / "client" / "sneaky.py").write_text("import server.board\n")
    done = subprocess.run(
        [sys.executable, "-c", "import sys; sys.path.insert(0, '.'); "
         "from importlinter.cli import lint_imports_command; lint_imports_command()", "--no-cache"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0
    assert "client.sneaky -> server.board" in done.stdout
