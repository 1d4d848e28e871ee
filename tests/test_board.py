"""The board and its maze, with no event loop and no socket."""

import random

import pytest

from pacnet.server.board import Board
from pacnet.server.config import ServerLimits
from pacnet.server.game import Game
from pacnet.server.ghosts import Mode
from pacnet.server.layout import LayoutError, builtin_layouts, load_layout, parse_layout
from pacnet.server.pieces import ENERGIZER, GHOST, OPPOSITE, PACMAN, PELLET, Piece, Speeds

TINY = """\
; a corridor with a tunnel on row 1
#####
_.P._
#o#G#
#####
"""


EIGHTH = Speeds(pacman=7.5, ghost=7.5, ghost_tunnel=3.75)
"""At 60 ticks a second, an eighth of a tile a tick: eight ticks a tile, exactly."""


def tiny_board(seed: int = 1) -> Board:
    return Board(parse_layout(TINY, "tiny"), random.Random(seed), speeds=EIGHTH)


def ticks(board: Board, n: int) -> None:
    for _ in range(n):
        board.tick()


def test_small_layout_has_its_pieces() -> None:
    layout = load_layout("small")
    assert (layout.width, layout.height) == (17, 11)
    board = Board(layout, random.Random(0))
    assert board.count(PELLET) == len(layout.pellets) == 81
    assert board.count(ENERGIZER) == 4
    assert [g.name for g in board.all_of(GHOST)] == ["blinky", "pinky", "inky", "clyde"]


def test_a_new_pacman_stands_still_until_steered() -> None:
    board = tiny_board()
    me = board.add_pacman("u")
    ticks(board, 40)
    assert me.tile == (2, 1)
    assert not me.moving


def test_steering_moves_the_pacman_on_the_ticks_not_on_the_call() -> None:
    board = tiny_board()
    me = board.add_pacman("u")
    board.steer(me, "right")
    assert me.tile == (2, 1)  # nothing moves until the board ticks
    ticks(board, 3)
    assert me.tile == (2, 1)  # 3/8 of a tile: still nearest its own tile
    ticks(board, 1)
    assert me.tile == (3, 1)  # half way: now nearest the next one
    assert board.get("pellet-3-1") is None  # and it has eaten the pellet there
    assert board.count(PELLET) == 1


def test_speed_does_not_depend_on_how_often_a_client_steers() -> None:
    board = Board(load_layout("classic"), random.Random(0), speeds=EIGHTH)
    lazy, eager = board.add_pacman("lazy"), board.add_pacman("eager")
    eager.x, eager.y = lazy.tile  # side by side on the start tile (a second one starts apart)
    board.steer(lazy, "left")
    for _ in range(40):
        board.steer(eager, "left")
        board.tick()
    assert lazy.tile == eager.tile == (8, 23)
    assert lazy.offset == eager.offset


def test_a_pacman_stops_at_a_wall_and_steering_into_it_does_nothing() -> None:
    board = Board(load_layout("classic"), random.Random(0), speeds=EIGHTH)
    me = board.add_pacman("u")  # (13, 23): wall above, corridor to the left down to (6, 23)
    board.steer(me, "up")
    ticks(board, 16)
    assert me.tile == (13, 23)
    assert not me.moving
    board.steer(me, "left")
    ticks(board, 100)
    assert me.tile == (6, 23)
    assert not me.moving
    assert me.offset == 0.0


def test_an_open_row_is_a_tunnel_to_the_other_side() -> None:
    board = tiny_board()
    me = board.add_pacman("u")
    board.steer(me, "left")
    ticks(board, 8 * 3)
    assert me.tile == (4, 1)  # (2,1) -> (1,1) -> (0,1) -> wraps to (4,1)


def test_a_pacman_reverses_at_once_mid_tile() -> None:
    board = Board(load_layout("classic"), random.Random(0), speeds=EIGHTH)
    me = board.add_pacman("u")  # (13, 23), in a corridor running left and right
    board.steer(me, "left")
    ticks(board, 2)
    assert me.offset == 0.25  # a quarter tile past the centre, going left
    board.steer(me, "right")
    assert me.heading == "right"
    assert me.offset == -0.25  # the same spot, now coming back up to the centre
    ticks(board, 2)
    assert (me.tile, me.offset) == ((13, 23), 0.0)


def test_a_pacman_on_a_centre_reverses_only_if_the_way_back_is_open() -> None:
    """Where the way back is not where it came from (it just set off from a standstill, or
    just turned), reversing on the spot must not take it into a wall: steering mashed
    faster than the ticks (a bot, a benchmark) once walked pac-men into walls this way."""
    board = Board(load_layout("classic"), random.Random(0), speeds=EIGHTH)
    me = board.add_pacman("u")  # (13, 23): the corridor runs left to (6, 23), then a wall
    board.steer(me, "left")
    ticks(board, 100)
    assert (me.tile, me.moving) == ((6, 23), False)
    board.steer(me, "right")  # sets off, still on the centre...
    board.steer(me, "left")  # ...and back toward the wall it stands against
    assert me.heading == "right"
    ticks(board, 8)
    assert me.tile == (7, 23)
    assert not board.layout.blocks_pacman(me.tile)

    board = Board(load_layout("classic"), random.Random(0), speeds=EIGHTH)
    me = board.add_pacman("u")
    board.steer(me, "left")
    board.steer(me, "up")  # turns up where the maze opens, (12, 23), exactly on a centre
    ticks(board, 8)
    assert (me.tile, me.offset, me.heading) == ((12, 23), 0.0, "up")
    assert board.layout.blocks_pacman((12, 24))
    board.steer(me, "down")  # the way back is right, not down
    ticks(board, 8)
    assert me.tile == (12, 22)


def test_a_wanted_turn_is_taken_where_the_maze_opens() -> None:
    board = Board(load_layout("classic"), random.Random(0), speeds=EIGHTH)
    me = board.add_pacman("u")
    board.steer(me, "left")
    board.steer(me, "up")  # no way up at (13, 23) .. (12, 23); the first opening is (12, 22)
    ticks(board, 8 * 2)
    assert me.heading == "up"
    assert me.tile == (12, 22)


def test_pacmen_cannot_pass_the_ghost_house_door_but_ghosts_can() -> None:
    layout = parse_layout("#####\n#.P.#\n##-##\n#.G.#\n#####\n", "door")
    board = Board(layout, random.Random(0))
    me = board.add_pacman("u")
    assert not board.can_step(me, "down")
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
    ticks(board, 5)
    assert board.clock == 5


def test_pacman_is_faster_than_the_ghosts_and_ghosts_crawl_in_the_tunnel() -> None:
    speeds = Speeds()
    assert speeds.pacman > speeds.ghost > speeds.ghost_tunnel
    assert speeds.ghost_tunnel / speeds.ghost == pytest.approx(0.40 / 0.75)


def test_ghosts_slow_down_in_the_tunnel() -> None:
    layout = load_layout("classic")
    board = Board(layout, random.Random(0), speeds=EIGHTH)
    ghost = board.get("blinky")
    assert ghost is not None
    ghost.x, ghost.y, ghost.heading, ghost.offset = 3, 14, "left", 0.0
    ticks(board, 8)
    assert ghost.tile == (2, 14)  # a sixteenth of a tile a tick in the tunnel: half a tile


def test_ghosts_leave_the_house_and_never_go_back_in() -> None:
    layout = load_layout("classic")
    board = Board(layout, random.Random(0))
    board.add_pacman("u")
    out: set[str] = set()
    for _ in range(60 * 10):
        board.tick()
        for ghost in board.all_of(GHOST):
            inside = ghost.tile in layout.house or ghost.tile in layout.doors
            assert not (inside and ghost.name in out), f"{ghost.name} went back in"
            if not inside:
                out.add(ghost.name)
    assert out == {"blinky", "pinky", "inky", "clyde"}


@pytest.mark.parametrize("name", ["classic", "small"])
def test_ghosts_stay_off_walls_and_reverse_only_when_the_mode_changes(name: str) -> None:
    layout = load_layout(name)
    board = Board(layout, random.Random(0))
    board.add_pacman("u")
    reversals_on_mode_change = 0
    for _ in range(60 * 40):
        before = {g.name: (g.heading, g.tile in layout.house) for g in board.all_of(GHOST)}
        mode = board.mode
        board.tick()
        for ghost in board.all_of(GHOST):
            assert ghost.tile not in layout.walls
            heading, was_home = before[ghost.name]
            if ghost.heading == OPPOSITE[heading] and not was_home:
                assert board.mode is not mode, f"{ghost.name} reversed at {ghost.tile}"
                reversals_on_mode_change += 1
    assert reversals_on_mode_change >= 4  # scatter -> chase -> scatter -> chase: they turned


def test_in_chase_blinky_runs_down_a_standing_pacman() -> None:
    board = Board(load_layout("classic"), random.Random(0))
    me = board.add_pacman("u")
    blinky = board.get("blinky")
    assert blinky is not None
    caught_at = None
    for tick in range(60 * 27):
        board.tick()
        if board.mode is Mode.CHASE and blinky.tile == me.tile:
            caught_at = tick
            break
    assert caught_at is not None, "blinky never reached pac-man while chasing"


def test_in_scatter_each_ghost_heads_for_its_own_corner() -> None:
    layout = load_layout("classic")
    board = Board(layout, random.Random(0))
    for _ in range(60 * 6):  # the first 7 s are scatter
        board.tick()
    assert board.mode is Mode.SCATTER
    ghosts = {g.name: g.tile for g in board.all_of(GHOST)}
    assert ghosts["blinky"][0] > layout.width / 2  # top-right
    assert ghosts["blinky"][1] < layout.height / 2


def test_a_seeded_board_replays_exactly() -> None:
    def trace(seed: int) -> list[tuple[int, int]]:
        board = Board(load_layout("classic"), random.Random(seed))
        board.add_pacman("u")
        out = []
        for _ in range(600):
            board.tick()
            out.extend(g.tile for g in board.all_of(GHOST))
        return out

    assert trace(3) == trace(3)


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
    with pytest.raises(
        LayoutError, match=r"not a shipped layout \(classic, corridor, cross, small\)"
    ):
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
    board = Board(load_layout("classic"), random.Random(0), speeds=EIGHTH)
    me = board.add_pacman("u")
    me.x, me.y = 1, 14
    board.steer(me, "left")
    ticks(board, 16)
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


def test_a_ghost_on_a_pacmans_tile_catches_it_and_it_comes_back_with_a_life_less() -> None:
    board = Board(load_layout("classic"), random.Random(0), speeds=EIGHTH)
    me = board.add_pacman("u")
    blinky = board.get("blinky")
    assert blinky is not None
    blinky.x, blinky.y, blinky.moving = *me.tile, False
    board.tick()
    assert board.get("pacman-u") is None
    assert board.pacman_status("pacman-u") == "caught"
    assert board.lose_life("pacman-u") is False  # caught once, not twice
    blinky.x, blinky.y = 1, 1
    ticks(board, 90)
    assert board.get("pacman-u") is me
    assert (me.tile, me.lives, me.moving) == (board.layout.pacman_start, 2, False)


def test_on_a_calm_board_a_ghost_on_a_pacmans_tile_catches_nothing() -> None:
    """An exercise's board (pacnet serve --calm): a death on screen would be the ghosts', and
    the room must read every failure as the fault's."""
    board = Board(load_layout("classic"), random.Random(0), speeds=EIGHTH, calm=True)
    me = board.add_pacman("u")
    blinky = board.get("blinky")
    assert blinky is not None
    blinky.x, blinky.y, blinky.moving = *me.tile, False
    ticks(board, 10)
    assert board.get("pacman-u") is me
    assert me.lives == 3


def test_a_remove_on_a_calm_board_removes_nothing_and_costs_no_life() -> None:
    game = Game(Board(load_layout("small"), random.Random(0), calm=True), ServerLimits())
    session, pacman, _ = game.join("u", None, 1, now=0.0)
    assert game.remove(session, "pacman") is False
    assert game.board.get(pacman.name) is pacman
    assert pacman.lives == 3


def test_the_third_catch_is_game_over_and_joining_starts_a_new_game() -> None:
    board = Board(load_layout("classic"), random.Random(0))
    me = board.add_pacman("u")
    me.score = 1234
    for _ in range(3):
        assert board.lose_life("pacman-u") is True
        ticks(board, 90)
    assert board.pacman_status("pacman-u") == "gone"
    again = board.add_pacman("u")
    assert (again.lives, again.score) == (3, 0)


def test_food_scores_and_ten_thousand_points_earn_a_life() -> None:
    no_ghosts = parse_layout("#####\n_.P._\n#####\n", "corridor")
    board = Board(no_ghosts, random.Random(0), speeds=EIGHTH)
    me = board.add_pacman("u")
    me.score = 9_990
    board.steer(me, "right")
    ticks(board, 4)  # onto the pellet at (3, 1)
    assert me.score == 10_000
    assert me.lives == 4
    board.steer(me, "left")
    ticks(board, 8 * 2)  # back over (2, 1), then the pellet at (1, 1)
    assert me.score == 10_010
    assert me.lives == 4  # the extra life comes once


def frightened_board() -> tuple[Board, Piece]:
    """Classic maze, pac-man just below the bottom-left energizer at (1, 23), about to eat it."""
    board = Board(load_layout("classic"), random.Random(0), speeds=EIGHTH)
    me = board.add_pacman("u")
    me.x, me.y = 1, 24
    board.steer(me, "up")
    ticks(board, 4)  # half a tile: onto the energizer
    return board, me


def test_an_energizer_frightens_every_ghost_and_scores_fifty() -> None:
    board, me = frightened_board()
    assert me.score == 50
    assert board.frightened
    assert {g.state for g in board.all_of(GHOST)} == {"frightened"}


def test_a_fright_turns_every_ghost_outside_the_house_around() -> None:
    board = Board(load_layout("classic"), random.Random(0), speeds=EIGHTH)
    ticks(board, 60 * 3)  # let some out of the house
    before = {g.name: (g.heading, g.offset) for g in board.all_of(GHOST)}
    outside = [
        g for g in board.all_of(GHOST) if g.tile not in board.layout.house | board.layout.doors
    ]
    assert outside
    board._frighten()
    for ghost in outside:
        heading, offset = before[ghost.name]
        assert (ghost.heading, ghost.offset) == (OPPOSITE[heading], -offset)


def test_the_fright_lasts_six_seconds_and_flashes_at_the_end() -> None:
    board, _ = frightened_board()
    assert board.fright_ticks_left == 360
    assert not board.flashing()
    ticks(board, 60 * 4 + 5)
    assert board.flashing()
    ticks(board, 60 * 2)
    assert not board.frightened
    assert "frightened" not in {g.state for g in board.all_of(GHOST)}


def test_eating_frightened_ghosts_scores_200_400_800_1600_and_sends_them_home_as_eyes() -> None:
    board, me = frightened_board()
    score = me.score
    for expected, name in zip(
        (200, 400, 800, 1600), ("blinky", "pinky", "inky", "clyde"), strict=True
    ):
        ghost = board.get(name)
        assert ghost is not None
        ghost.x, ghost.y, ghost.offset = *me.tile, 0.0
        board._catch()
        assert ghost.state == "eyes"
        assert me.score == score + expected
        score = me.score
    assert board.get("pacman-u") is me  # eaten ghosts do not catch anyone


def test_eyes_go_home_and_come_back_to_life() -> None:
    board, me = frightened_board()
    blinky = board.get("blinky")
    assert blinky is not None
    blinky.x, blinky.y, blinky.offset = *me.tile, 0.0
    board._catch()
    assert blinky.state == "eyes"
    for _ in range(60 * 20):
        board.tick()
        if blinky.state == "normal":
            break
    assert blinky.state == "normal"
    assert blinky.tile in board.layout.house


def test_the_scatter_chase_clock_stands_still_during_a_fright() -> None:
    board, _ = frightened_board()
    ticks(board, 60 * 6)  # the whole fright
    ticks(board, 60 * 2)
    assert board.mode is Mode.SCATTER  # 8.1 s after the start, but only 2.1 s of timetable


def test_clearing_the_maze_starts_the_next_level_with_the_food_back() -> None:
    corridor = parse_layout("#####\n_.P.#\n#####\n", "corridor")
    board = Board(corridor, random.Random(0), speeds=EIGHTH)
    me = board.add_pacman("u")
    board.steer(me, "right")
    ticks(board, 4)  # the pellet at (3, 1)
    assert board.level == 1
    board.steer(me, "left")
    ticks(board, 4 + 8)  # back through (2, 1) onto the last pellet at (1, 1)
    assert board.level == 2
    assert board.count(PELLET) == 2
    assert (me.tile, me.moving) == (corridor.pacman_start, False)
    assert me.score == 20


def test_inky_and_clyde_wait_in_the_house_until_released() -> None:
    board = Board(load_layout("classic"), random.Random(0))
    inky, clyde = board.get("inky"), board.get("clyde")
    assert inky is not None
    assert clyde is not None
    assert inky.waiting
    assert clyde.waiting
    ticks(board, 60 * 3)
    assert inky.tile in board.layout.house  # still bobbing inside
    ticks(board, 60 * 1 + 5)  # four quiet seconds: the next one goes
    assert not inky.waiting
    assert clyde.waiting
    ticks(board, 60 * 4 + 5)
    assert not clyde.waiting


def test_eating_dots_releases_inky_at_thirty() -> None:
    board = Board(load_layout("classic"), random.Random(0))
    inky = board.get("inky")
    assert inky is not None
    board._dots = 29
    board.tick()
    assert inky.waiting
    board._dots = 30
    board.tick()
    assert not inky.waiting


@pytest.mark.parametrize("name", builtin_layouts())
def test_a_room_joining_at_once_stands_apart_on_open_tiles(name: str) -> None:
    """28 names piled on the start tile cannot be read: each new pac-man takes the first
    starting tile free, the start itself first."""
    board = Board(load_layout(name), random.Random(0))
    players = min(12, len(board.layout.spawns))
    tiles = [board.add_pacman(f"u{n}").tile for n in range(players)]
    assert tiles[0] == board.layout.pacman_start
    assert len(set(tiles)) == players
    for tile in tiles:
        assert not board.layout.blocks_pacman(tile)
        assert tile not in board.layout.house
        assert tile not in board.layout.tunnels


def test_a_caught_pac_man_comes_back_on_a_free_starting_tile() -> None:
    board = Board(load_layout("classic"), random.Random(0), speeds=EIGHTH)
    first = board.add_pacman("u1")
    assert board.lose_life(first.name)
    second = board.add_pacman("u2")  # stands on the start meanwhile
    assert second.tile == board.layout.pacman_start
    ticks(board, 90)
    assert board.get(first.name) is first
    assert first.tile != second.tile
