"""The one place the matrix touches the server's own board: it arranges a scenario on it,
counts the requests the server ran, and reads the board the scenario ends as.

Everything else the matrix does goes over the network, as any client does. These three need
the server itself, as its tests do (tests/conftest.py: ``ghost_at_start``, ``Acted``): no
call of the protocol puts a ghost on a tile, and the server's truth is what the client's
view is held to.
"""

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pacnet.matrix.scenarios import Ghost, Status

if TYPE_CHECKING:
    from pacnet.server.net import BoardServer
    from pacnet.server.pipeline import Exchange, Stage


class Runs:
    """A pipeline hook: how many times the server ran each request (got past its
    UPDATE_STATE, so a repeat answered from memory does not count)."""

    def __init__(self) -> None:
        self.times: Counter[str] = Counter()

    def __call__(self, stage: "Stage", exchange: "Exchange") -> None:
        # Hooks run before each stage; before REPLY means every stage before it ran.
        if stage.label == "reply" and exchange.request is not None:
            self.times[exchange.request["request_id"]] += 1


def place_ghost(server: "BoardServer", ghost: Ghost) -> None:
    """Blinky standing still where ``ghost`` says, in its state."""
    board = server.game.board
    blinky = board.get("blinky")
    assert blinky is not None, "the scenario's maze has no ghost"
    blinky.x, blinky.y = ghost.at or board.layout.pacman_start
    blinky.offset, blinky.moving, blinky.waiting, blinky.state = 0.0, False, False, ghost.state


def set_lives(server: "BoardServer", pacman: str, lives: int) -> None:
    """Our pac-man's lives, once it has joined."""
    piece = server.game.board.get(pacman)
    assert piece is not None, f"{pacman} is not on the board"
    piece.lives = lives


@dataclass(frozen=True)
class Truth:
    """The board as the server holds it, in the terms of ``scenarios.End``."""

    status: Status
    tile: tuple[int, int] | None
    score: int | None
    lives: int | None
    moved: bool | None
    level: int
    pellets: int
    energizers: int
    ghost: str | None
    total_score: int

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status, "tile": list(self.tile) if self.tile else None,
            "score": self.score, "lives": self.lives, "moved": self.moved, "level": self.level,
            "pellets": self.pellets, "energizers": self.energizers, "ghost": self.ghost,
            "totalScore": self.total_score,
        }  # fmt: skip


def truth(server: "BoardServer", pacman: str | None) -> Truth:
    """Read the board from the server's own snapshot (what it saves to survive a restart):
    ``pacman`` (None: we never joined) on the board, caught, or gone."""
    snapshot = server.game.board.snapshot()
    pieces: list[dict[str, Any]] = snapshot["pieces"]
    caught = {fields["name"]: fields for fields, _ in snapshot["down"]}
    on_board = {p["name"]: p for p in pieces}
    ours = on_board.get(pacman or "") or caught.get(pacman or "")
    status: Status = "not joined"
    if pacman is not None:
        status = "on the board" if pacman in on_board else "caught" if ours else "gone"
    pacmen = [p for p in pieces if p["kind"] == ":pacman"] + list(caught.values())
    ghost = on_board.get("blinky")
    return Truth(
        status=status,
        tile=(ours["x"], ours["y"]) if ours and status == "on the board" else None,
        score=ours["score"] if ours else None,
        lives=ours["lives"] if ours else None,
        moved=ours["last_seq"] is not None if ours else None,
        level=snapshot["level"],
        pellets=sum(p["kind"] == ":pellet" for p in pieces),
        energizers=sum(p["kind"] == ":energizer" for p in pieces),
        ghost=ghost["state"] if ghost else None,
        total_score=sum(p["score"] for p in pacmen),
    )
