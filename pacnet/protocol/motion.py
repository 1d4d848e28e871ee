"""How a piece moves through the maze, tick by tick: the rules the server runs for every
piece, and a client runs for its own pac-man to predict where it is between replies
(client-side prediction, docs/resilience.md). One copy, so the two cannot drift apart.

A moving piece is on tile ``(x, y)`` and ``offset`` tiles past its centre along ``heading``,
in [-0.5, 0.5) (negative: still coming up to the centre). It turns at centres, reverses
anywhere, and stops at a centre when its way ahead is closed. What happens at a centre and
on entering a tile (a ghost's choice of way, a pac-man eating) is the caller's: ``advance``
calls back for both.
"""

from collections.abc import Callable
from typing import Protocol, TypeVar

Tile = tuple[int, int]

STEPS: dict[str, Tile] = {"up": (0, -1), "down": (0, 1), "left": (-1, 0), "right": (1, 0)}
OPPOSITE = {"up": "down", "down": "up", "left": "right", "right": "left"}


class Mover(Protocol):
    """Where a moving piece is and where it is going."""

    x: int
    y: int
    heading: str
    moving: bool
    offset: float
    wanted: str | None
    """The direction its player steers toward, taken at the next centre where it is open."""


M = TypeVar("M", bound=Mover)
"""Any kind of moving piece: the server's, or a client's prediction of its own."""


def steer(piece: M, direction: str, is_open: Callable[[M, str], bool]) -> None:
    """Steer toward ``direction``: a standing piece sets off if the way is open; a moving
    one reverses at once, or turns at the next centre where ``direction`` is open.

    A moving piece standing right on a centre reverses only if the way back is open: it may
    have just turned there, and then the way back is not where it came from but maybe a
    wall. (Between centres the way back is always the way it came.)"""
    piece.wanted = direction
    if piece.moving and direction == OPPOSITE[piece.heading]:
        if piece.offset != 0.0 or is_open(piece, direction):
            piece.heading, piece.offset = direction, -piece.offset
    elif not piece.moving and is_open(piece, direction):
        piece.heading, piece.moving = direction, True


def turn_at_centre(piece: M, is_open: Callable[[M, str], bool]) -> None:
    """A steered piece at a centre: take the wanted way if it is open; stop if the way
    ahead is closed."""
    if piece.wanted is not None and is_open(piece, piece.wanted):
        piece.heading = piece.wanted
    stop_if_blocked(piece, is_open)


def stop_if_blocked(piece: M, is_open: Callable[[M, str], bool]) -> None:
    """At a centre, a piece whose way ahead is closed stops there."""
    if not is_open(piece, piece.heading):
        piece.moving = False


def advance(
    piece: M,
    distance: float,
    at_centre: Callable[[M], None],
    enter_next: Callable[[M], None],
) -> None:
    """Move ``piece`` ``distance`` tiles along its way. ``at_centre`` runs each time it
    reaches the centre of a tile (it may turn or stop the piece); ``enter_next`` each time
    it crosses into the next tile (it must move ``x, y`` there and set ``offset`` to -0.5)."""
    while distance > 0 and piece.moving:
        if piece.offset < 0:  # coming up to the centre of its tile
            if distance < -piece.offset:
                piece.offset += distance
                return
            distance += piece.offset
            piece.offset = 0.0
            at_centre(piece)
        else:  # leaving the centre for the edge of its tile
            room = 0.5 - piece.offset
            if distance < room:
                piece.offset += distance
                return
            distance -= room
            enter_next(piece)


def step_into_next(piece: Mover, width: int, height: int) -> None:
    """Cross into the next tile along ``heading``, through the tunnel at the board's edge."""
    dx, dy = STEPS[piece.heading]
    piece.x, piece.y = (piece.x + dx) % width, (piece.y + dy) % height
    piece.offset = -0.5


def where(piece: Mover) -> tuple[float, float]:
    """The piece's position in tiles, its offset included (for drawing)."""
    if not piece.offset:
        return float(piece.x), float(piece.y)
    dx, dy = STEPS[piece.heading]
    return piece.x + dx * piece.offset, piece.y + dy * piece.offset
