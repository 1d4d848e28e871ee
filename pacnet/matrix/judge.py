"""Whether a case passed: what happened held against what should have. Pure: no I/O.

A case passes when its call ended the outcome it was provoked into (first attempt), the
client then did what its retry policy says (the attempts after it), the server ran the
request as often as the outcome allows (a mutation at most once), the board ended as the
scenario says, and the client's view of its own pac-man is the server's.
"""

from dataclasses import dataclass

from pacnet.matrix.board import Truth
from pacnet.matrix.provoke import Reaction
from pacnet.matrix.scenarios import End
from pacnet.protocol.outcome import Outcome


@dataclass(frozen=True)
class Observed:
    """What happened: the call's attempts, the server's runs of it, the board it ended as,
    and our pac-man as the client last saw it."""

    attempts: tuple[Outcome, ...] | None
    """None: the call was never made."""
    server_runs: int
    truth: Truth
    seen: tuple[int, int] | None
    """Our pac-man's tile in the client's view (None: not on the board, as far as it knows)."""
    removes: int
    """``remove`` calls the loop made."""


def judge(call: str, expected: Reaction, end: End, observed: Observed) -> tuple[str, ...]:
    """Every way the case failed, in words (empty: it passed)."""
    if observed.attempts is None:
        return (f"the client never called {call}",)
    reasons: list[str] = []
    wanted = " -> ".join(o.value for o in expected.attempts)
    got = " -> ".join(o.value for o in observed.attempts)
    if observed.attempts != expected.attempts:
        reasons.append(f"{call} went {got}, expected {wanted}")
    if observed.server_runs != expected.server_runs:
        reasons.append(
            f"the server ran the {call} {observed.server_runs}x, expected {expected.server_runs}x"
        )
    board = observed.truth
    for name, value in end.checked().items():
        actual = getattr(board, name)
        if isinstance(value, tuple):
            actual = tuple(actual) if actual is not None else None
        if actual != value:
            what = name.replace("_", " ")
            reasons.append(f"{what} is {_shown(actual)}, expected {_shown(value)}")
    reasons.extend(_view_problems(observed))
    return tuple(reasons)


def _view_problems(observed: Observed) -> list[str]:
    """The client's view of its own pac-man must be the server's at the end."""
    board = observed.truth
    if board.status == "not joined":
        return []
    if board.status == "on the board" and observed.seen != board.tile:
        seen = _shown(observed.seen)
        return [f"the client sees its pac-man at {seen}, the server at {_shown(board.tile)}"]
    if board.status != "on the board" and observed.seen is not None:
        return [f"the client sees its pac-man at {_shown(observed.seen)}, but it is {board.status}"]
    return []


def _shown(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, tuple):
        return f"({', '.join(str(v) for v in value)})"
    return str(value)
