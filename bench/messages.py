"""What the benchmarks' users send: the texts of their requests, one JSON object each.

User number N acts as ``bench-N``. Requests that only read (``find``, ``findAll``, ``ping``)
reuse one requestId each; every mutation (a ``move``) has its own within the last 64, because
the server answers a repeated requestId from memory instead of acting on it
(pacnet/server/idempotency.py).
"""

import json
from collections.abc import Callable
from typing import Any

DIRECTIONS = ("left", "up", "right", "down")
TURNS = 72
"""Distinct turns a playing connection cycles through. Each move has its own requestId: the
server remembers a user's last 64 mutations (pacnet/server/idempotency.py), so a move sent again 72
moves later is a new request to it, not a repeat answered from memory."""


def _compact(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode()


def _request(user: int, request_id: str, action: str, **fields: Any) -> bytes:
    message = {"v": 1, "requestId": request_id, "userId": f"bench-{user}", "action": action}
    return _compact({**message, **fields})


def join_text(user: int) -> bytes:
    """The join the connection of user number ``user`` sends first."""
    return _request(user, "j", "join")


def leave_text(user: int) -> bytes:
    """The leave it sends last, so the next number of connections meets an empty board."""
    return _request(user, "l", "leave")


def find_texts(user: int) -> list[bytes]:
    """The ``find`` workload: one request, sent again and again."""
    return [_request(user, "f", "find", name="pacman")]


def _turn(user: int, index: int, look: Callable[[int], bytes]) -> bytes:
    """Request number ``index`` of a loop of three calls whose third is ``look(user)``: move
    (the direction going round the four), findAll :ghost, then the look, in ``TURNS`` turns
    that come round again, each move with its own requestId. (Only the call asked for is
    made: bench/fleet.py asks for each as it sends it.)"""
    turn, call = divmod(index % (3 * TURNS), 3)
    if call == 0:
        direction = DIRECTIONS[turn % len(DIRECTIONS)]
        return _request(user, f"m{turn}", "move", name="pacman", direction=direction)
    if call == 1:
        return _request(user, "g", "findAll", kind=":ghost")
    return look(user)


def _own_pacman(user: int) -> bytes:
    return find_texts(user)[0]


def _all_pacmen(user: int) -> bytes:
    return _request(user, "p", "findAll", kind=":pacman")


def article_text(user: int, index: int) -> bytes:
    """Request number ``index`` of the article's loop, as ``pacnet bots`` play it: move,
    findAll :ghost, find (its own pac-man, to see whether a ghost overlaps it; a ``remove``
    follows only a catch, which the penned maze never has). pacnet/client/play.py,
    ``article_loop(others=False)``."""
    return _turn(user, index, _own_pacman)


def window_text(user: int, index: int) -> bytes:
    """Request number ``index`` of the window's loop, which also draws the other players:
    move, findAll :ghost, findAll :pacman (every pac-man on the board). pacnet/client/play.py,
    ``article_loop``."""
    return _turn(user, index, _all_pacmen)


def article_texts(user: int) -> list[bytes]:
    """The ``mixed`` workload: every request of the article loop's cycle, in order."""
    return [article_text(user, index) for index in range(3 * TURNS)]


def window_texts(user: int) -> list[bytes]:
    """The ``window`` workload: every request of the window loop's cycle, in order."""
    return [window_text(user, index) for index in range(3 * TURNS)]


PAGE_SECONDS = 40
"""Seconds of a page's calls that ``page_texts`` spells out before they come round again."""


def page_texts(user: int) -> list[bytes]:
    """The browser page's calls, a second at a time (pacnet/web/static/game.js and report.js):
    ten window turns with the food (findAll :pellet and :energizer) after the fifth and the
    tenth, then its report of how its calls ended, numbered up so that each is news the server
    keeps, until the texts come round again after ``PAGE_SECONDS`` (the server then drops the
    repeats as old, after reading them: a little cheaper than news)."""
    texts: list[bytes] = []
    for second in range(PAGE_SECONDS):
        food = [
            _request(user, "e", "findAll", kind=":pellet"),
            _request(user, "z", "findAll", kind=":energizer"),
        ]
        for half in range(2):
            texts += [window_text(user, 30 * second + 15 * half + i) for i in range(15)] + food
        texts.append(_report(user, second + 1))
    return texts


def _report(user: int, seq: int) -> bytes:
    calls = 33 * seq
    counts = [
        {"action": "join", "outcome": "SUCCESS", "calls": 1},
        {"action": "move", "outcome": "SUCCESS", "calls": calls // 3},
        {"action": "move", "outcome": "UNKNOWN", "calls": seq // 10},
        {"action": "findAll", "outcome": "SUCCESS", "calls": 2 * calls // 3},
        {"action": "findAll", "outcome": "FATAL", "calls": seq // 5},
        {"action": "remove", "outcome": "SUCCESS", "calls": seq // 20},
    ]
    return _request(user, "r", "report", exercise=0, seq=seq, counts=counts)


def ping_text(user: int, index: int = 0) -> bytes:
    """An idle user's request: the ``ping`` a quiet window sends to stay on the board."""
    return _request(user, "k", "ping")
