"""Entities encoded once per change: the cache always says what encoding them afresh says."""

import json
from dataclasses import fields, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pacnet.protocol.codec import Encoded, encode_trusted
from pacnet.server.entities import EntityCache, entity
from pacnet.server.pieces import ENERGIZER, GHOST, PACMAN, PELLET, Piece


def fresh(pieces: list[Piece], flashing: bool) -> list[object]:
    return [entity(piece, flashing) for piece in pieces]


def cached(cache: EntityCache, kind: str, pieces: list[Piece], flashing: bool) -> list[object]:
    encoded = cache.encode(kind, pieces, flashing)
    return json.loads(encode_trusted({"entities": encoded}))["entities"]  # type: ignore[no-any-return]


changes = st.fixed_dictionaries(
    {},
    optional={
        "x": st.integers(0, 30),
        "y": st.integers(0, 30),
        "heading": st.sampled_from(["up", "down", "left", "right"]),
        "moving": st.booleans(),
        "offset": st.floats(-0.5, 0.49),
        "score": st.integers(0, 20_000),
        "lives": st.integers(0, 5),
        "state": st.sampled_from(["normal", "frightened", "eyes"]),
        "last_seq": st.none() | st.integers(0, 2**53),
        "wanted": st.none() | st.sampled_from(["up", "left"]),
        "waiting": st.booleans(),
        "owner": st.none() | st.sampled_from(["u0", "u9"]),
    },
)
OTHER_VALUE = {
    "x": 7, "y": 9, "heading": "up", "moving": True, "offset": 0.25, "score": 50, "lives": 1,
    "state": "frightened", "last_seq": 12, "wanted": "up", "waiting": True, "owner": "u9",
}  # fmt: skip
"""For each field of a piece but its name and kind: a value other than a new piece's."""


def test_every_field_of_a_piece_has_a_value_to_change_it_to() -> None:
    """A field added to ``Piece`` needs one here, so that the test below changes it too."""
    assert {field.name for field in fields(Piece)} - {"name", "kind"} == set(OTHER_VALUE)


@pytest.mark.parametrize("field", sorted(OTHER_VALUE))
@pytest.mark.parametrize("kind", [PACMAN, GHOST, PELLET, ENERGIZER])
def test_a_change_of_any_one_field_is_seen(kind: str, field: str) -> None:
    """The cache looks at only the fields an entity of its kind shows: a change of any one
    field alone gives what encoding afresh gives, whichever fields ``entity`` shows."""
    pieces = [Piece("one", kind, 1, 1, owner="u0")]
    cache = EntityCache()
    assert cached(cache, kind, pieces, False) == fresh(pieces, False)
    setattr(pieces[0], field, OTHER_VALUE[field])
    assert cached(cache, kind, pieces, False) == fresh(pieces, False)


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from([PACMAN, GHOST, PELLET]),
    steps=st.lists(
        st.tuples(st.integers(0, 5), changes, st.booleans(), st.booleans()), max_size=30
    ),
)
def test_cached_entities_are_always_what_encoding_them_afresh_gives(
    kind: str, steps: list[tuple[int, dict[str, object], bool, bool]]
) -> None:
    pieces = [Piece(f"{kind[1:]}-{i}", kind, i, 1, owner=f"u{i}") for i in range(4)]
    cache = EntityCache()
    for which, change, flashing, leaves in steps:
        if which < len(pieces):
            if leaves:  # a piece leaves the board; another by the same name may come
                gone = pieces.pop(which)
                pieces.append(replace(gone, **change))  # type: ignore[arg-type]
            else:
                for name, value in change.items():
                    setattr(pieces[which], name, value)
        assert cached(cache, kind, pieces, flashing) == fresh(pieces, flashing)


def test_pieces_gone_for_good_are_forgotten() -> None:
    cache = EntityCache()
    for round_ in range(10):
        pieces = [Piece(f"pellet-{round_}-{i}", PELLET, i, 1) for i in range(50)]
        cache.encode(PELLET, pieces, False)
    assert len(cache._kinds[PELLET, False]) <= 50 + 64


@pytest.mark.parametrize("kind", [PELLET, ENERGIZER])
def test_food_is_encoded_once(kind: str) -> None:
    pieces = [Piece(f"food-{i}", kind, i, 1) for i in range(3)]
    cache = EntityCache()
    assert isinstance(cache.encode(kind, pieces, False), Encoded)
    first = cached(cache, kind, pieces, False)
    assert cached(cache, kind, pieces, True) == first == fresh(pieces, False)


@pytest.mark.parametrize("where", ["last", "first", "alone", "below the top"])
def test_an_encoded_value_goes_into_the_reply_as_it_is(where: str) -> None:
    value = Encoded(b'[{"name":"a","xPos":1}]')
    reply: dict[str, object] = {
        "last": {"v": 1, "requestId": "null}", "entities": value},
        "first": {"entities": value, "v": 1, "requestId": "null}"},
        "alone": {"entities": value},
        "below the top": {"v": 1, "entities": [value]},
    }[where]
    decoded = json.loads(encode_trusted(reply))
    expected = [{"name": "a", "xPos": 1}]
    assert decoded == {**reply, "entities": [expected] if where == "below the top" else expected}


def test_a_value_that_is_not_json_is_refused() -> None:
    with pytest.raises(TypeError):
        encode_trusted({"v": object()})


def test_an_entity_written_into_a_reply_is_the_entity_beside_the_reply() -> None:
    pacman = Piece("pacman-a", PACMAN, 3, 4, heading="left", score=10, lives=2, last_seq=7)
    reply: dict[str, object] = {"v": 1, "requestId": "f", "clock": 9, "status": "ok"}
    assert entity(pacman, False, reply) is reply
    assert reply == {"v": 1, "requestId": "f", "clock": 9, "status": "ok", **entity(pacman)}


def test_pieces_that_trade_places_and_order_are_told_apart_by_name() -> None:
    """Every field but the names the same, in the same order: the array is made again."""
    blinky, pinky = Piece("blinky", GHOST, 1, 1), Piece("pinky", GHOST, 2, 1)
    cache = EntityCache()
    assert cached(cache, GHOST, [blinky, pinky], False) == fresh([blinky, pinky], False)
    blinky.x, pinky.x = 2, 1
    assert cached(cache, GHOST, [pinky, blinky], False) == fresh([pinky, blinky], False)


def test_between_changes_every_reply_gets_the_same_array() -> None:
    ghosts = [Piece(f"ghost-{i}", GHOST, i, 1) for i in range(4)]
    cache = EntityCache()
    first = cache.encode(GHOST, ghosts, False)
    assert cache.encode(GHOST, ghosts, False) is first  # nothing made again
    ghosts[2].heading = "up"
    assert cache.encode(GHOST, ghosts, False) is not first
    assert cached(cache, GHOST, ghosts, False) == fresh(ghosts, False)
