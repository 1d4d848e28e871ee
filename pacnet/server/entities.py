"""Pieces in their wire form (``Entity``), each encoded to JSON once per change, not per reply.

Every player's loop asks for every pac-man on the board each turn (``findAll :pacman``), so
N players make N * N entities a second, and building and encoding them was most of what a
busy server did (docs/performance.md). Most pieces look the same from one reply to the next
(food never changes; a pac-man changes when it moves a step, turns or scores), so
``EntityCache`` keeps each piece's JSON beside the fields it was made from, and makes it again
only when one of them has changed. No I/O.
"""

from collections.abc import Collection
from operator import attrgetter
from typing import Any

import orjson

from pacnet.protocol.codec import Encoded
from pacnet.server.pieces import ENERGIZER, GHOST, PACMAN, PELLET, Piece

_SHOWN = {
    GHOST: ("name", "x", "y", "heading", "state"),
    PACMAN: ("name", "x", "y", "heading", "score", "lives", "offset", "moving", "last_seq"),
    PELLET: ("name", "x", "y"),
    ENERGIZER: ("name", "x", "y"),
}
"""The fields of a piece that ``entity`` shows, for each kind, but its kind (the cache's key):
a cached entity is made again when one of them has changed. Only these, not every field:
reading 15 was most of the cost of a ``findAll`` hit, and a ghost's five are half the ten a
pac-man shows. tests/test_entities.py changes every field of ``Piece``, for every kind, to
hold the cache to encoding afresh."""
_LOOKS = {kind: attrgetter(*shown) for kind, shown in _SHOWN.items()}

_SPARE = 64
"""Entries a cache may hold for pieces gone from the board, before it is pruned."""


def entity(
    piece: Piece, flashing: bool = False, wire: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A piece as the wire's Entity: ``{name, kind, xPos, yPos}``, and for moving pieces
    their heading, a ghost's state, a pac-man's score, lives and exact place in its tile.

    Written into ``wire`` when given (a ``find`` reply is its entity beside ``requestId``),
    else into a new dict.
    """
    if wire is None:
        wire = {}
    wire["name"] = piece.name
    wire["kind"] = kind = piece.kind
    wire["xPos"] = piece.x
    wire["yPos"] = piece.y
    if kind == GHOST:
        wire["heading"] = piece.heading
        state = piece.state
        wire["state"] = "flashing" if flashing and state == "frightened" else state
    elif kind == PACMAN:
        wire["heading"] = piece.heading
        wire["score"] = piece.score
        wire["lives"] = piece.lives
        # Not rounded: -0.0004 rounded to 0 would put a predicting client past the centre
        # where the server is about to turn.
        wire["offset"] = piece.offset
        wire["moving"] = piece.moving
        if piece.last_seq is not None:
            wire["lastSeq"] = piece.last_seq
    return wire


class EntityCache:
    """The JSON of each piece's entity, kept until the piece changes.

    One cache per kind of piece and per flashing (frightened ghosts look different while
    they flash), so a piece's entry is replaced only when the piece itself changed.
    """

    def __init__(self) -> None:
        self._kinds: dict[tuple[str, bool], dict[str, tuple[tuple[Any, ...], bytes]]] = {}
        self._last: dict[tuple[str, bool], tuple[list[tuple[Any, ...]], Encoded]] = {}
        """The last array made for each kind and flashing, with what its pieces looked like:
        the board changes on its ticks, and between two ticks every player asks again."""

    def encode(self, kind: str, pieces: Collection[Piece], flashing: bool) -> Encoded:
        """The JSON array of the entities of ``pieces``, every piece of ``kind`` on the board
        (one of ``pacnet.server.pieces.KINDS``).

        The caller puts the result in a reply as it is (``pacnet.protocol.codec.encode_trusted``).
        """
        key = (kind, flashing)
        looks = list(map(_LOOKS[kind], pieces))  # (Game.find_all refused any other kind)
        last = self._last.get(key)
        if last is not None and last[0] == looks:  # names and all: the very same entities
            return last[1]
        cache = self._kinds.get(key)
        if cache is None:
            cache = self._kinds[key] = {}
        parts = []
        for piece, seen in zip(pieces, looks, strict=True):
            known = cache.get(piece.name)
            if known is None or known[0] != seen:
                known = cache[piece.name] = (seen, orjson.dumps(entity(piece, flashing)))
            parts.append(known[1])
        if len(cache) > len(parts) + _SPARE:  # pieces gone for good (users left, expired)
            self._kinds[key] = {piece.name: cache[piece.name] for piece in pieces}
        encoded = Encoded(b"[" + b",".join(parts) + b"]")
        self._last[key] = (looks, encoded)
        return encoded
