"""The board and its maze, with no event loop and no socket."""

import random

import pytest

from server.board import ENERGIZER, GHOST, OPPOSITE, PACMAN, PELLET, Board
from server.layout import LayoutError, builtin_layouts, load_layout, parse_layout

TINY = """\
; a corridor with a tunnel on row 1
#####
_.P._
#o#G#
#####
"""


def tiny_board(seed: int = 1) -> Board:
    return Board(parse_layout(TINY, "tiny"), random.Random(seed), ghost_step_ticks=1)


def test_small_layout_has_its_pieces() -> None:
    layout = load_layout("small")
    assert (layout.width, layout.height) == (17, 11)
    board = Board(layout, random.Random(0))
    assert board.count(PELLET) == len(layout.pellets) == 81
    assert board.count(ENERGIZER) == 4
    assert [g.name for g in board.all_of(GHOST)] == ["blinky", "pinky", "inky", "clyde"]


def test_a_pacman_steps_one_tile_and_eats_the_pellet_there() -> None:
    board = tiny_board()
    me = board.add_pacman("u")
    assert board.get("pellet-3-1") is not None
    board.step(me, "right")
    assert me.tile == (3, 1)
    assert board.get("pellet-3-1") is None
    assert board.count(PELLET) == 1


def test_a_step_into_a_wall_leaves_the_pacman_where_it_is() -> None:
    board = tiny_board()
    me = board.add_pacman("u")
    board.step(me, "up")
    assert me.tile == (2, 1)
    assert me.heading == "up"


def test_a_step_off_the_edge_of_an_open_row_comes_in_at_the_other_side() -> None:
    board = tiny_board()
    me = board.add_pacman("u")
    for _ in range(3):
        board.step(me, "left")
    assert me.tile == (4, 1)


def test_pacmen_cannot_pass_the_ghost_house_door_but_ghosts_can() -> None:
    layout = parse_layout("#####\n#.P.#\n##-##\n#.G.#\n#####\n", "door")
    board = Board(layout, random.Random(0), ghost_step_ticks=1)
    me = board.add_pacman("u")
    board.step(me, "down")
    assert me.tile == (2, 1)
    ghost = board.get("blinky")
    assert ghost is not None
    assert board.can_step(ghost, "up")


def test_remove_takes_a_piece_off_once() -> None:
    board = tiny_board()
    board.add_pacman("u")
    assert board.remove("pacman-u") is True
    assert board.remove("pacman-u") is False
    assert board.count(PACMAN) == 0


def test_the_clock_counts_ticks() -> None:
    board = tiny_board()
    for _ in range(5):
        board.tick()
    assert board.clock == 5


@pytest.mark.parametrize("seed", range(20))
def test_ghosts_stay_off_walls_and_reverse_only_at_dead_ends(seed: int) -> None:
    layout = load_layout("small")
    board = Board(layout, random.Random(seed), ghost_step_ticks=1)
    for _ in range(300):
        before = {g.name: (g.tile, g.heading) for g in board.all_of(GHOST)}
        board.tick()
        for ghost in board.all_of(GHOST):
            assert ghost.tile not in layout.walls
            tile, heading = before[ghost.name]
            if ghost.heading == OPPOSITE[heading]:
                others = [d for d in OPPOSITE if d != OPPOSITE[heading]]
                probe = Board(layout, random.Random(0))
                piece = probe.get(ghost.name)
                assert piece is not None
                piece.x, piece.y = tile
                piece.heading = heading
                assert not any(probe.can_step(piece, d) for d in others)


def test_a_seeded_board_replays_exactly() -> None:
    def trace(seed: int) -> list[tuple[int, int]]:
        board = Board(load_layout("small"), random.Random(seed), ghost_step_ticks=1)
        out = []
        for _ in range(100):
            board.tick()
            out.extend(g.tile for g in board.all_of(GHOST))
        return out

    assert trace(3) == trace(3)
    assert trace(3) != trace(4)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("#####\n#.P.#\n#..#\n#####\n", "line 3: row is 4 tiles wide, expected 5"),
        ("#####\n#.P.#\n#.X.#\n#####\n", "line 3, column 3: unknown tile 'X'"),
        ("; header\n#####\n#...#\n#####\n", "line 4: expected exactly one pac-man start"),
        ("#####\n#PP.#\n#####\n", "expected exactly one pac-man start 'P', found 2"),
        ("#######\n#PGGGGG#\n", "row is 8 tiles wide"),
        ("\n; only comments\n", "the layout has no rows"),
    ],
    ids=["ragged-row", "unknown-tile", "no-pacman", "two-pacmen", "ragged-ghosts", "empty"],
)
def test_a_malformed_layout_names_the_line(text: str, complaint: str) -> None:
    with pytest.raises(LayoutError, match=r"bad\.txt") as raised:
        parse_layout(text, "bad.txt")
    assert complaint in str(raised.value)


def test_too_many_ghosts_is_refused() -> None:
    with pytest.raises(LayoutError, match="at most 4 ghost starts"):
        parse_layout("########\n#PGGGGG#\n########\n", "ghosts")


def test_an_unknown_layout_name_lists_the_shipped_ones() -> None:
    with pytest.raises(LayoutError, match=r"not a shipped layout \(classic, small"):
        load_layout("no-such-maze")


def test_the_classic_maze_has_the_arcades_pellets_energizers_and_size() -> None:
    layout = load_layout("classic")
    assert (layout.width, layout.height) == (28, 31)
    assert len(layout.pellets) == 240
    assert len(layout.energizers) == 4
    assert layout.doors == {(13, 12), (14, 12)}
    board = Board(layout, random.Random(0))
    starts = {g.name: g.tile for g in board.all_of(GHOST)}
    assert starts["blinky"] == (13, 11)  # outside, above the door, as in the arcade
    assert starts["pinky"][1] > 12  # inside the house
    assert starts["inky"][0] < starts["clyde"][0]


def test_pacman_cannot_get_into_the_classic_ghost_house() -> None:
    reach = reachable("classic", load_layout("classic").pacman_start, "pacman")
    assert (13, 13) not in reach
    assert (13, 11) in reach


def test_the_classic_tunnel_wraps_row_14() -> None:
    board = Board(load_layout("classic"), random.Random(0))
    me = board.add_pacman("u")
    me.x, me.y = 0, 14
    board.step(me, "left")
    assert me.tile == (27, 14)


def reachable(layout_name: str, start: tuple[int, int], blocks: str) -> set[tuple[int, int]]:
    layout = load_layout(layout_name)
    blocked = layout.blocks_pacman if blocks == "pacman" else layout.blocks_ghost
    seen, todo = {start}, [start]
    while todo:
        x, y = todo.pop()
        for dx, dy in ((0, 1), (0, -1), (1, 0), (-1, 0)):
            tile = layout.wrap((x + dx, y + dy))
            if tile not in seen and not blocked(tile):
                seen.add(tile)
                todo.append(tile)
    return seen


@pytest.mark.parametrize("name", builtin_layouts())
def test_every_pellet_of_a_shipped_maze_is_reachable_by_pacman(name: str) -> None:
    layout = load_layout(name)
    reach = reachable(name, layout.pacman_start, "pacman")
    assert layout.pellets | layout.energizers <= reach


@pytest.mark.parametrize("name", builtin_layouts())
def test_every_ghost_of_a_shipped_maze_can_get_out_to_pacman(name: str) -> None:
    layout = load_layout(name)
    for start in layout.ghost_starts:
        assert layout.pacman_start in reachable(name, start, "ghost")
