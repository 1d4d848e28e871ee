"""The game on disk, so a restart resumes it (``pacnet serve --state PATH``).

One SQLite file (the standard library's ``sqlite3``), one row: the latest snapshot of the
game as JSON, replaced in one transaction. SQLite's journal makes each replacement atomic: a
``kill -9`` mid-write leaves the previous snapshot, never a torn one. A graceful stop writes a
last snapshot; after a crash, at most the last ``snapshot_interval`` of play is lost.
"""

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

SCHEMA = 1
"""Version of the snapshot's shape; a file of another version is refused, not misread."""


def default_state_path() -> Path:
    """``$XDG_DATA_HOME/pacnet/state.sqlite`` (``~/.local/share/pacnet/state.sqlite``)."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "pacnet" / "state.sqlite"


class StateError(Exception):
    """The state file cannot be used (unreadable, another layout, another schema)."""


class StateStore:
    """The latest snapshot of one game, in a SQLite file.

    Raises (from the constructor and ``load``):
        StateError: the file cannot be opened or does not hold a pacnet game.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS snapshot (id INTEGER PRIMARY KEY CHECK (id = 1), "
                "schema INTEGER NOT NULL, layout TEXT NOT NULL, taken_at REAL NOT NULL, "
                "data TEXT NOT NULL)"
            )
        except (OSError, sqlite3.Error) as exc:
            raise StateError(f"cannot use {path} as the game's state: {exc}") from exc

    def load(self, layout: str) -> dict[str, Any] | None:
        """The saved game of ``layout``, or None when there is none yet."""
        try:
            row = self._db.execute("SELECT schema, layout, data FROM snapshot").fetchone()
        except sqlite3.Error as exc:
            raise StateError(f"cannot read {self.path}: {exc}") from exc
        if row is None:
            return None
        schema, saved_layout, data = row
        if schema != SCHEMA:
            raise StateError(f"{self.path} holds a game of another version ({schema})")
        if saved_layout != layout:
            raise StateError(
                f"{self.path} holds a game on the {saved_layout!r} maze, not {layout!r}: "
                "start with that layout, another state file (--state PATH), or a new game "
                "(--no-state)"
            )
        saved: dict[str, Any] = json.loads(data)
        return saved

    def save(self, layout: str, game: dict[str, Any]) -> None:
        """Replace the saved game with ``game`` (one transaction: all of it, or none).

        Raises:
            StateError: it could not be written; the last saved game is still there.
        """
        data = json.dumps(game, separators=(",", ":"))
        # One statement in autocommit mode: SQLite runs it as one transaction.
        try:
            self._db.execute(
                "INSERT OR REPLACE INTO snapshot (id, schema, layout, taken_at, data) "
                "VALUES (1, ?, ?, ?, ?)",
                (SCHEMA, layout, time.time(), data),
            )
        except sqlite3.Error as exc:  # a full disk, a locked or damaged file
            raise StateError(f"cannot write {self.path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()
