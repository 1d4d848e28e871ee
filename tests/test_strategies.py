"""The bots' strategies, as a player watching a bot would judge them, on real mazes.

Pure tests drive a strategy on a tiny stand-in for the board (one tile per turn, food eaten
on entering a tile); one test lets greedy play a real server over a real socket.
"""

import asyncio
import random
import re
import sys
import textwrap
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from pacnet.bots.strategies import (
    DANGER_DISTANCE,
    Cautious,
    Greedy,
    Maze,
    Sight,
    Strategy,
    StrategyError,
    Tile,
    load_strategy,
    wander,
)
from pacnet.client.play import article_loop
from pacnet.client.remote import CallResult, RemoteBoard
from pacnet.client.view import View
from pacnet.protocol.models import Direction, Entity, GhostState, OkReply
from pacnet.server.layout import load_layout
from tests.conftest import MS, ROOT, StartServer

CLASSIC = load_layout("classic")
CLASSIC_MAZE = Maze.from_rows(CLASSIC.rows())

AROUND_A_WALL = Maze.from_rows(
    (
        "#######",
        "#     #",
        "# ### #",
        "# #   #",
        "#######",
    )
)
"""From (3, 1) the pellet at (3, 3) is just below, behind a wall: the way round is right."""

TUNNEL = Maze.from_rows(
    (
        "#########",
        "         ",
        "#########",
    )
)
CORRIDOR = Maze.from_rows(("##########", "#        #", "##########"))


def pacman(tile: Tile, heading: Direction = "left") -> Entity:
    return Entity(name="pacman-me", kind=":pacman", x_pos=tile[0], y_pos=tile[1], heading=heading)


def pellet(tile: Tile) -> Entity:
    return Entity(name=f"pellet-{tile[0]}-{tile[1]}", kind=":pellet", x_pos=tile[0], y_pos=tile[1])


def ghost(tile: Tile, state: GhostState = "normal", name: str = "blinky") -> Entity:
    return Entity(name=name, kind=":ghost", x_pos=tile[0], y_pos=tile[1], state=state)


def sight(
    maze: Maze,
    me: Entity | None,
    food: Iterable[Tile] = (),
    ghosts: Sequence[Entity] = (),
    seed: int = 1,
    rng: random.Random | None = None,
) -> Sight:
    return Sight(
        maze=maze,
        me=me,
        pacmen=(me,) if me else (),
        ghosts=tuple(ghosts),
        food=tuple(pellet(tile) for tile in food),
        level=1,
        clock=0,
        rng=rng or random.Random(seed),
    )


def walk(
    strategy: Strategy,
    maze: Maze,
    start: Tile,
    food: set[Tile],
    *,
    heading: Direction = "left",
    turns: int = 200,
    stale: int = 0,
    rng: random.Random | None = None,
) -> list[Tile]:
    """Play ``strategy`` on a stand-in board: one tile a turn, steering as the server does
    (a wanted way is taken where it is open, else the pac-man keeps on or stands), food eaten
    on entering its tile. With ``stale``, the food it sees is that many turns old. Returns the
    tiles walked, until the food is gone or ``turns`` run out."""
    here, rng, seen = start, rng or random.Random(1), [set(food)]
    path = [here]
    for _ in range(turns):
        if not food:
            break
        wanted = strategy(sight(maze, pacman(here, heading), seen[0], rng=rng))
        if wanted is not None and maze.open(maze.step(here, wanted)):
            heading = wanted
        if maze.open(maze.step(here, heading)):
            here = maze.step(here, heading)
            food.discard(here)
            path.append(here)
        seen = [*seen, set(food)][-(stale + 1) :]
    return path


# --- the maze ------------------------------------------------------------------------------


def test_the_classic_maze_has_every_pellet_within_reach_of_the_start() -> None:
    steps = CLASSIC_MAZE.distances(CLASSIC.pacman_start)
    assert CLASSIC.pellets | CLASSIC.energizers <= steps.keys()
    assert not any(CLASSIC_MAZE.open(tile) for tile in CLASSIC.walls | CLASSIC.doors)


def test_the_maze_wraps_through_the_tunnel_and_nowhere_else() -> None:
    assert TUNNEL.step((0, 1), "left") == (8, 1)
    assert TUNNEL.distances((1, 1))[(7, 1)] == 3
    assert CLASSIC_MAZE.exits((0, 14)) == ["left", "right"]
    assert CLASSIC_MAZE.exits((1, 1)) == ["down", "right"]


def test_the_same_rows_give_one_shared_maze_so_bots_share_its_distances() -> None:
    assert Maze.from_rows(list(CLASSIC.rows())) is CLASSIC_MAZE


# --- greedy --------------------------------------------------------------------------------


def test_greedy_walks_round_a_wall_by_the_shortest_way() -> None:
    path = walk(Greedy(), AROUND_A_WALL, (3, 1), {(3, 3)})
    assert path == [(3, 1), (4, 1), (5, 1), (5, 2), (5, 3), (4, 3), (3, 3)]


def test_greedy_goes_through_the_tunnel_when_that_is_shorter() -> None:
    assert Greedy()(sight(TUNNEL, pacman((1, 1), "right"), food=[(7, 1)])) == "left"
    on_classic = sight(CLASSIC_MAZE, pacman((3, 14), "right"), food=[(24, 14)])
    assert Greedy()(on_classic) == "left"


def test_greedy_heads_for_the_nearest_food_by_maze_distance_not_straight_line() -> None:
    # From (4, 1): (4, 3) is two tiles away as the crow flies and eight by the maze;
    # (1, 1) is three either way.
    maze = Maze.from_rows(("#########", "#       #", "####### #", "#       #", "#########"))
    assert Greedy()(sight(maze, pacman((4, 1), "right"), food=[(4, 3), (1, 1)])) == "left"


def test_greedy_clears_the_classic_maze() -> None:
    food = set(CLASSIC.pellets | CLASSIC.energizers)
    path = walk(Greedy(), CLASSIC_MAZE, CLASSIC.pacman_start, food, turns=2000)
    assert not food, f"{len(food)} left after {len(path)} tiles"


def test_greedy_does_not_turn_back_for_pellets_it_ate_while_its_food_was_stale() -> None:
    # A crossing at (4, 1), a branch down to (4, 3). The food it sees is five turns old, so
    # at the crossing the pellet it just ate at (3, 1) still looks nearest.
    maze = Maze.from_rows(("#########", "#       #", "#### ####", "#### ####", "#########"))
    food = {(2, 1), (3, 1), (4, 3), (7, 1)}
    path = walk(Greedy(), maze, (1, 1), food, heading="right", stale=5)
    assert path == [
        (1, 1),
        (2, 1),
        (3, 1),
        (4, 1),
        (4, 2),
        (4, 3),
        (4, 2),
        (4, 1),
        (5, 1),
        (6, 1),
        (7, 1),
    ]


def test_greedy_notices_a_refresh_of_the_food_even_with_as_many_pellets() -> None:
    greedy, me = Greedy(), pacman((4, 1), "left")
    far, near_left = pellet((1, 1)), pellet((3, 1))
    assert greedy(replace(sight(CORRIDOR, me), food=(far, near_left))) == "left"
    assert greedy(replace(sight(CORRIDOR, me), food=(far, pellet((5, 1))))) == "right"
    assert greedy(replace(sight(CORRIDOR, me), food=(pellet((6, 1)),))) == "right"
    assert greedy(replace(sight(CORRIDOR, me), food=(pellet((2, 1)),))) == "left"


def test_greedy_keeps_its_heading_between_two_pellets_as_near() -> None:
    me = pacman((4, 1), "right")
    assert Greedy()(sight(CORRIDOR, me, food=[(2, 1), (6, 1)])) == "right"


def test_greedy_waits_while_off_the_board_or_with_nothing_left_to_eat() -> None:
    assert Greedy()(sight(CORRIDOR, None, food=[(2, 1)])) is None
    assert Greedy()(sight(CORRIDOR, pacman((4, 1)), food=[])) is None


# --- cautious ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ghost_at", "expected"),
    [
        ((5, 1), "left"),  # next to it, ahead: turn back
        ((3, 1), "right"),  # next to it, behind: go on
        ((4, 1), "left"),  # on its tile: away, whichever way
        ((4 + DANGER_DISTANCE, 1), "left"),  # as far as it looks: still away
        ((5 + DANGER_DISTANCE, 1), "right"),  # farther: back to the pellet it wants
    ],
    ids=["ahead", "behind", "on-it", "at-the-danger-distance", "beyond-it"],
)
def test_cautious_runs_from_a_ghost_near_it(ghost_at: Tile, expected: Direction) -> None:
    maze = Maze.from_rows(("###############", "#             #", "###############"))
    seen = sight(maze, pacman((4, 1), "right"), food=[(13, 1)], ghosts=[ghost(ghost_at)])
    assert Cautious()(seen) == expected


def test_cautious_runs_down_the_way_farthest_from_the_ghost_at_a_junction() -> None:
    # Classic (6, 5): a crossing. Blinky comes from the right along row 5.
    me = pacman((6, 5), "right")
    seen = sight(CLASSIC_MAZE, me, food=[(8, 5)], ghosts=[ghost((8, 5))])
    choice = Cautious()(seen)
    assert choice in ("up", "down", "left")
    assert Greedy()(seen) == "right"  # greedy would walk into it


def test_cautious_chases_a_frightened_ghost_instead_of_the_nearer_pellet() -> None:
    states: tuple[GhostState, ...] = ("frightened", "flashing")
    for state in states:
        seen = sight(CORRIDOR, pacman((4, 1), "left"), food=[(2, 1)], ghosts=[ghost((7, 1), state)])
        assert Cautious()(seen) == "right", state
        assert Greedy()(seen) == "left"


def test_cautious_walks_past_eyes() -> None:
    seen = sight(CORRIDOR, pacman((4, 1), "right"), food=[(7, 1)], ghosts=[ghost((5, 1), "eyes")])
    assert Cautious()(seen) == "right"


def test_cautious_ignores_a_ghost_in_the_house_it_cannot_reach() -> None:
    inside = ghost((13, 14))
    me = pacman((13, 11), "left")
    seen = sight(CLASSIC_MAZE, me, food=[(9, 11)], ghosts=[inside])
    assert Cautious()(seen) == "left"


# --- random --------------------------------------------------------------------------------


def test_random_never_picks_a_wall_anywhere_on_the_classic_maze() -> None:
    rng = random.Random(5)
    for tile in CLASSIC_MAZE.distances(CLASSIC.pacman_start):
        for heading in ("up", "down", "left", "right"):
            for _ in range(4):
                choice = wander(sight(CLASSIC_MAZE, pacman(tile, heading), rng=rng))
                assert choice is not None
                assert CLASSIC_MAZE.open(CLASSIC_MAZE.step(tile, choice)), (tile, choice)


def test_random_never_turns_back_in_a_corridor_but_does_at_a_dead_end() -> None:
    for seed in range(50):
        assert wander(sight(CORRIDOR, pacman((4, 1), "right"), seed=seed)) == "right"
        assert wander(sight(CORRIDOR, pacman((4, 1), "left"), seed=seed)) == "left"
        assert wander(sight(CORRIDOR, pacman((8, 1), "right"), seed=seed)) == "left"


def test_random_turns_every_way_but_back_at_a_crossing() -> None:
    me = pacman((6, 5), "right")
    choices = {wander(sight(CLASSIC_MAZE, me, seed=seed)) for seed in range(50)}
    assert choices == {"up", "down", "right"}


def test_seeded_random_bots_replay_the_same_walk() -> None:
    def wandering(seed: int) -> list[Tile]:
        nothing = {(0, 0)}  # food in a wall: it walks all its turns
        return walk(wander, CLASSIC_MAZE, CLASSIC.pacman_start, nothing, rng=random.Random(seed))

    assert wandering(7) == wandering(7)
    assert wandering(7) != wandering(8)


# --- load_strategy -------------------------------------------------------------------------


def test_each_shipped_name_makes_a_fresh_strategy_per_bot() -> None:
    seen = sight(CORRIDOR, pacman((4, 1), "right"), food=[(7, 1)])
    for name in ("random", "greedy", "cautious"):
        factory = load_strategy(name)
        assert factory()(seen) == "right", name
    assert load_strategy("greedy")() is not load_strategy("greedy")()


@pytest.fixture
def bot_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str, str], None]]:
    """Write modules into a fresh current directory, as a user writes ``mybot.py``; the
    import path and the modules imported are put back afterwards."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    written: list[str] = []

    def write(module: str, source: str) -> None:
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
        written.append(module)

    yield write
    for module in written:
        sys.modules.pop(module, None)


BOT_SOURCE = """
    from pacnet.bots.strategies import Sight

    def north(sight: Sight):
        return "up"

    class Counter:
        def __init__(self):
            self.turns = 0

        def __call__(self, sight: Sight):
            self.turns += 1
            return "left" if self.turns % 2 else "right"

    class Needy:
        def __init__(self, speed):
            pass

        def __call__(self, sight):
            return None

    class Mute:
        pass

    def two(sight, other):
        return None

    NUMBER = 4
"""


def test_a_function_from_the_current_directory_is_shared_by_every_bot(
    bot_dir: Callable[[str, str], None],
) -> None:
    bot_dir("mybot_function", BOT_SOURCE)
    factory = load_strategy("mybot_function:north")
    assert factory() is factory()
    assert factory()(sight(CORRIDOR, pacman((4, 1)))) == "up"


def test_a_class_from_the_current_directory_makes_one_strategy_per_bot(
    bot_dir: Callable[[str, str], None],
) -> None:
    bot_dir("mybot_class", BOT_SOURCE)
    factory = load_strategy("mybot_class:Counter")
    first, second = factory(), factory()
    seen = sight(CORRIDOR, pacman((4, 1)))
    assert [first(seen), first(seen), second(seen)] == ["left", "right", "left"]


def test_the_examples_in_the_docs_load_and_play(bot_dir: Callable[[str, str], None]) -> None:
    section = (ROOT / "docs" / "bots.md").read_text().split("## Writing your own strategy")[1]
    blocks = re.findall(r"```python\n(.*?)```", section.split("\n## ")[0], re.DOTALL)
    bot_dir("mybot_docs", "\n".join(blocks))
    for name, tiles in (("right_hand", 20), ("Explorer", 200)):
        strategy = load_strategy(f"mybot_docs:{name}")()
        path = walk(strategy, CLASSIC_MAZE, CLASSIC.pacman_start, {(0, 0)}, turns=400)
        assert len(set(path)) >= tiles, name


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("nosuch", "strategy 'nosuch': not one of random, greedy, cautious, nor module:name"),
        (
            "mybot_bad:",
            "strategy 'mybot_bad:': not one of random, greedy, cautious, nor module:name",
        ),
        (":north", "strategy ':north': not one of random, greedy, cautious, nor module:name"),
        ("nosuch_module:thing", "strategy 'nosuch_module:thing': no module named 'nosuch_module'"),
        (
            "mybot_bad:missing",
            "strategy 'mybot_bad:missing': module 'mybot_bad' has no attribute 'missing'",
        ),
        (
            "mybot_bad:NUMBER",
            "strategy 'mybot_bad:NUMBER': 'NUMBER' is not callable (it is of type int)",
        ),
        (
            "mybot_bad:Needy",
            "strategy 'mybot_bad:Needy': class Needy needs arguments; it must be made with none",
        ),
        ("mybot_bad:Mute", "strategy 'mybot_bad:Mute': class Mute has no __call__(self, sight)"),
        ("mybot_bad:two", "strategy 'mybot_bad:two': it must take one argument, a Sight"),
        (
            "mybot_needs:north",
            "strategy 'mybot_needs:north': importing 'mybot_needs' failed: ModuleNotFoundError: No module named 'numpyish'",
        ),
        (
            "mybot_typo:north",
            "strategy 'mybot_typo:north': importing 'mybot_typo' failed: SyntaxError: ",
        ),
        (
            "mybot_raises:north",
            "strategy 'mybot_raises:north': importing 'mybot_raises' failed: RuntimeError: no board",
        ),
    ],
    ids=[
        "not-a-shipped-name",
        "no-name",
        "no-module",
        "module-not-found",
        "attribute-missing",
        "not-callable",
        "class-needs-arguments",
        "class-not-callable",
        "function-takes-two",
        "module-imports-what-is-missing",
        "module-does-not-parse",
        "module-raises-on-import",
    ],
)
def test_a_bad_strategy_gets_one_line_naming_the_spec_and_the_trouble(
    bot_dir: Callable[[str, str], None], spec: str, says: str
) -> None:
    bot_dir("mybot_bad", BOT_SOURCE)
    bot_dir("mybot_needs", "import numpyish\n")
    bot_dir("mybot_typo", "def north(sight):\n    return (\n")
    bot_dir("mybot_raises", "raise RuntimeError('no board\\nat all')\n")
    with pytest.raises(StrategyError) as caught:
        load_strategy(spec)
    message = str(caught.value)
    assert message.startswith(says)
    assert "\n" not in message


# --- a real game ---------------------------------------------------------------------------


async def test_greedy_scores_on_a_real_server(start_server: StartServer) -> None:
    server = await start_server()
    async with RemoteBoard(server.url or "", "greedy-bot") as board:
        joined = await board.join()
        assert joined.reply is not None
        maze = Maze.from_rows(joined.reply.maze)
        view = View(joined.reply.width, joined.reply.height, joined.reply.name)
        clock = [joined.reply.clock]
        strategy = load_strategy("greedy")()
        rng = random.Random(3)
        scores: list[int] = []

        def joystick() -> Direction | None:
            seen = Sight.from_view(maze, view, clock=clock[0], rng=rng)
            if seen.me is not None and seen.me.score is not None:
                scores.append(seen.me.score)
            return strategy(seen)

        def report(result: CallResult[OkReply]) -> None:
            if result.reply is not None:
                clock[0] = result.reply.clock

        playing = asyncio.create_task(article_loop(board, view, joystick, report))
        await asyncio.sleep(2500 * MS)
        playing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await playing
    # A ghost may catch it meanwhile (the small maze is crowded); its score stays.
    assert scores, "it never saw itself on the board"
    assert max(scores) >= 50, f"scores seen: {scores}"
