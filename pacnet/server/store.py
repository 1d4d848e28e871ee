"""The game on disk, so a restart resumes it (``pacnet serve --state PATH``).

One SQLite file (the standard library's ``sqlite3``), one row per room: the latest snapshot of
its game as JSON. Every room's snapshot of one moment is written in one transaction, and
SQLite's journal makes it atomic: a ``kill -9`` mid-write leaves the previous snapshots, never
a torn one. A graceful stop writes a last snapshot; after a crash, at most the last
``snapshot_interval`` of play is lost.

A file written before the server held rooms keeps its one game in the table ``snapshot``: it
is read as the default room's until the default room is first saved.
"""

import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pacnet.protocol.rooms import DEFAULT_ROOM

SCHEMA = 1
"""Version of the snapshot's shape; a file of another version is refused, not misread."""


def default_state_path() -> Path:
    """``$XDG_DATA_HOME/pacnet/state.sqlite`` (``~/.local/share/pacnet/state.sqlite``)."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "pacnet" / "state.sqlite"


class StateError(Exception):
    """The state file cannot be used (unreadable, another layout, another schema)."""


@dataclass(frozen=True)
class Saved:
    """One room's game, to be saved."""

    room: str
    layout: str
    game: dict[str, Any]


class StateStore:
    """The latest snapshot of each room's game, in a SQLite file.

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
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS room_snapshot (room TEXT PRIMARY KEY, "
                "schema INTEGER NOT NULL, layout TEXT NOT NULL, taken_at REAL NOT NULL, "
                "data TEXT NOT NULL)"
            )
        except (OSError, sqlite3.Error) as exc:
            raise StateError(f"cannot use {path} as the game's state: {exc}") from exc

    def load(self, room: str, layout: str) -> dict[str, Any] | None:
        """The saved game of ``room``, on ``layout``, or None when there is none yet.

        Raises:
            StateError: it is unreadable, of another schema, or on another layout.
        """
        try:
            row = self._db.execute(
                "SELECT schema, layout, data FROM room_snapshot WHERE room = ?", (room,)
            ).fetchone()
            if row is None and room == DEFAULT_ROOM:
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

    def save(self, saves: list[Saved]) -> None:
        """Replace each room's saved game with the one given (one transaction: all of them,
        or none).

        Raises:
            StateError: they could not be written; the last saved games are still there.
        """
        now = time.time()
        rows = [
            (s.room, SCHEMA, s.layout, now, json.dumps(s.game, separators=(",", ":")))
            for s in saves
        ]
        try:
            with self._db:  # one transaction (the connection is otherwise in autocommit)
                self._db.execute("BEGIN")
                self._db.executemany(
                    "INSERT OR REPLACE INTO room_snapshot (room, schema, layout, taken_at, data) "
                    "VALUES (?, ?, ?, ?, ?)",
                    rows,
                )
        except sqlite3.Error as exc:  # a full disk, a locked or damaged file
            raise StateError(f"cannot write {self.path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()
