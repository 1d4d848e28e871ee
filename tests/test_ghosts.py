"""The ghosts' minds, pinned tile by tile (no board, no socket).

Expected targets follow The Pac-Man Dossier's descriptions of each ghost (docs/game.md).
"""

import pytest

from pacnet.server.ghosts import (
    SCATTER_TARGETS,
    Mode,
    ModeSchedule,
    chase_target,
    choose_direction,
)
from pacnet.server.layout import load_layout

PACMAN = (13, 23)
BLINKY = (13, 11)


@pytest.mark.parametrize("heading", ["up", "down", "left", "right"])
def test_blinky_aims_at_pacmans_tile(heading: str) -> None:
    assert chase_target("blinky", PACMAN, heading, (1, 1), BLINKY) == PACMAN


@pytest.mark.parametrize(
    ("heading", "target"),
    [("left", (9, 23)), ("right", (17, 23)), ("down", (13, 27)), ("up", (9, 19))],
    ids=["left", "right", "down", "up-with-the-arcade-overflow"],
)
def test_pinky_aims_four_tiles_ahead_of_pacman(heading: str, target: tuple[int, int]) -> None:
    assert chase_target("pinky", PACMAN, heading, (13, 14), BLINKY) == target


@pytest.mark.parametrize(
    ("heading", "blinky", "target"),
    [
        ("right", (13, 11), (17, 35)),  # pivot (15, 23); doubled vector from (13, 11)
        ("left", (20, 23), (2, 23)),  # pivot (11, 23): Blinky behind, Inky aims past pac-man
        ("up", (13, 11), (9, 31)),  # pivot (11, 21) with the overflow
        ("down", (13, 25), (13, 25)),  # pivot (13, 25) is Blinky's own tile
    ],
    ids=["right", "left-blinky-behind", "up-with-the-arcade-overflow", "blinky-on-the-pivot"],
)
def test_inky_doubles_the_vector_from_blinky_through_two_ahead(
    heading: str, blinky: tuple[int, int], target: tuple[int, int]
) -> None:
    assert chase_target("inky", PACMAN, heading, (11, 14), blinky) == target


@pytest.mark.parametrize(
    ("clyde", "target"),
    [((13, 14), PACMAN), ((13, 15), PACMAN), ((13, 16), (0, 32)), ((20, 23), (0, 32))],
    ids=["nine-away-chases", "eight-away-chases", "seven-away-shies", "right-next-to-shies"],
)
def test_clyde_chases_until_within_eight_tiles(
    clyde: tuple[int, int], target: tuple[int, int]
) -> None:
    assert chase_target("clyde", PACMAN, "left", clyde, BLINKY) == target


def test_each_ghost_scatters_to_its_own_corner() -> None:
    layout = load_layout("classic")
    corners = SCATTER_TARGETS
    assert corners["blinky"][0] > layout.width / 2 > corners["pinky"][0]
    assert corners["blinky"][1] < 0
    assert corners["pinky"][1] < 0
    assert corners["inky"][0] > layout.width / 2 > corners["clyde"][0]
    assert corners["inky"][1] >= layout.height
    assert corners["clyde"][1] >= layout.height


def test_an_unknown_ghost_has_no_target() -> None:
    with pytest.raises(ValueError, match="no ghost called 'sue'"):
        chase_target("sue", PACMAN, "up", (1, 1), BLINKY)


OPEN = lambda tile: True  # noqa: E731 - an open field: every way is passable


def test_a_ghost_turns_toward_its_target() -> None:
    assert choose_direction((5, 5), "right", (9, 5), OPEN) == "right"
    assert choose_direction((5, 5), "right", (5, 0), OPEN) == "up"
    assert choose_direction((5, 5), "up", (9, 6), OPEN) == "right"


def test_ties_go_up_then_left_then_down_then_right() -> None:
    # From (5, 5) heading left, the target (4, 4) is as near through up (5, 4) as through
    # left (4, 5): up wins.
    assert choose_direction((5, 5), "left", (4, 4), OPEN) == "up"
    # Heading up toward (6, 4), the next tiles up (5, 4) and right (6, 5) are equally near.
    assert choose_direction((5, 5), "up", (6, 4), OPEN) == "up"


def test_a_ghost_never_reverses_even_toward_its_target() -> None:
    assert choose_direction((5, 5), "right", (0, 5), OPEN) != "left"


def test_a_ghost_reverses_only_at_a_dead_end() -> None:
    only_back = lambda tile: tile == (4, 5)  # noqa: E731
    assert choose_direction((5, 5), "right", (9, 5), only_back) == "left"


def test_a_ghost_keeps_off_walls() -> None:
    layout = load_layout("classic")

    def passable(tile: tuple[int, int]) -> bool:
        return not layout.blocks_ghost(layout.wrap(tile))

    # Heading right along row 5 toward a target straight below: under (6, 5) the maze is
    # open, so the ghost turns down; under (3, 5) is a wall, so it keeps going right.
    assert choose_direction((6, 5), "right", (6, 20), passable) == "down"
    assert choose_direction((3, 5), "right", (3, 20), passable) == "right"


def test_level_one_alternates_scatter_and_chase_then_chases_for_good() -> None:
    schedule = ModeSchedule()
    expected = [
        (0, Mode.SCATTER), (6.9, Mode.SCATTER), (7, Mode.CHASE), (26.9, Mode.CHASE),
        (27, Mode.SCATTER), (34, Mode.CHASE), (54, Mode.SCATTER), (59, Mode.CHASE),
        (79, Mode.SCATTER), (84, Mode.CHASE), (10_000, Mode.CHASE),
    ]  # fmt: skip
    assert [schedule.mode_at(t) for t, _ in expected] == [mode for _, mode in expected]
