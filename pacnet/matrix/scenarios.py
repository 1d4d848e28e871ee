"""The article's single-machine scenarios, as data: each a small maze, how it is arranged,
what the player does, the calls its loop makes, and the board it should end as.

A scenario's ``end`` is the board when every call succeeds; ``ends`` says where one call's
outcome changes that (a FATAL ``move`` is not retried, so its pellet stays). Every other
(call, outcome) must end as ``end``: the client handles the outcome, the game goes on.

Mazes are in the layout alphabet (``pacnet/server/layout.py``): ``#`` wall, ``.`` pellet,
``o`` energizer, ``P`` the pac-man's start, ``G`` where the ghost begins, ``_`` floor. A
pellet walled off in a pocket keeps the level from ending when the reachable food is eaten.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from pacnet.protocol.outcome import Outcome

if TYPE_CHECKING:  # the wire models take a third of a second to import: not for --help
    from pacnet.protocol.models import Direction, GhostState

Tile = tuple[int, int]
Status = Literal["on the board", "caught", "gone", "not joined"]
"""Where our pac-man is when the scenario is over: caught (a life lost, not yet back), gone
(its last life lost: game over), or never there (the join failed)."""

CALLS = ("join", "find", "move", "findAll", "remove")
"""The calls a scenario's loop makes, in the order the grid shows them: the join, then the
article's four (``board.find``, ``board.move``, ``board.findAll(":ghost")``,
``board.remove``)."""


@dataclass(frozen=True, kw_only=True)
class Ghost:
    """Blinky, standing still: where, in which state, and when it is put there."""

    at: Tile | None = None
    """None: on the pac-man's start tile (where ours stands on a board that does not tick)."""
    state: "GhostState" = "normal"
    arrives: Literal["before the join", "after the move"] = "before the join"
    """When it is put there: on the board before we join, or on the turn after the player
    steers (a ghost that comes to meet us)."""


@dataclass(frozen=True, kw_only=True)
class End:
    """The board when the scenario is over, as the server holds it. None: not checked."""

    status: Status = "on the board"
    tile: Tile | None = None
    score: int | None = None
    lives: int | None = None
    moved: bool | None = None
    """Whether the server applied our move (its ``lastSeq``)."""
    level: int | None = None
    pellets: int | None = None
    energizers: int | None = None
    ghost: "GhostState | None" = None
    total_score: int | None = None
    """Every player's score added up (two players on one pellet: it is eaten once)."""

    def but(self, **changes: object) -> "End":
        """This end with ``changes``: where an outcome makes a difference."""
        return replace(self, **changes)  # type: ignore[arg-type]  # End's own fields

    def checked(self) -> dict[str, object]:
        """The fields this end checks, by name."""
        return {name: value for name, value in vars(self).items() if value is not None}


NOT_JOINED = End(status="not joined")
"""A FATAL join is not retried: the client cannot play, and says so (as ``pacnet play`` does)."""


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """One single-machine scenario of the game, played by the article's loop over the network."""

    name: str
    """Its name on the command line (``--scenario``) and in the JSON."""
    title: str
    """What happens, in the article's words."""
    maze: str
    steer: "Direction | None" = None
    """The player's one input, given once our pac-man is seen (a key pressed, not held): a
    move that ends FATAL is not retried, and its input is lost."""
    others: "tuple[Direction, ...]" = ()
    """Other players on the board, each steering once."""
    ghost: Ghost | None = None
    lives: int | None = None
    """Our pac-man's lives, set once it has joined (None: a new game's three)."""
    ticking: bool = True
    """False: the board does not tick while the scenario plays. The server's referee catches
    a pac-man on the very tick it meets a normal ghost, before any client can look; a board
    that stands still leaves the meeting on the board for the loop to see and ``remove``, so
    the catch is the client's call (as tests/test_article_loop.py arranges it)."""
    turns: int = 7
    """Turns of the loop (a tenth of a second each) before the board is read: enough for the
    pac-man to get where it is going and for the loop to see it there."""
    calls: tuple[str, ...]
    end: End
    ends: Mapping[tuple[str, Outcome], End] = field(default_factory=dict)

    def end_of(self, call: str, outcome: Outcome) -> End:
        """The end the case (``call`` ending ``outcome``) must reach."""
        return self.ends.get((call, outcome), self.end)


_LOOP = ("join", "find", "move", "findAll")
_CATCH = ("join", "find", "move", "findAll", "remove")
_FATAL_MOVE = ("move", Outcome.FATAL)
_FATAL_JOIN = ("join", Outcome.FATAL)
_GHOST_WALLED_IN = """
#####
#P_.#
#####
#G###
#####
"""
"""A corridor with Blinky walled in below it, out of play until the matrix puts it on our
pac-man's tile (``Ghost``): the maze of each scenario where a ghost catches us."""

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        name="wall",
        title="move into a wall",
        maze="""
#####
#P_.#
#####
""",
        steer="left",
        calls=_LOOP,
        end=End(tile=(1, 1), score=0, moved=True, pellets=1),
        ends={_FATAL_MOVE: End(tile=(1, 1), score=0, moved=False), _FATAL_JOIN: NOT_JOINED},
    ),
    Scenario(
        name="pellet",
        title="eat a pellet",
        maze="""
######
#P._##
####.#
######
""",
        steer="right",
        calls=_LOOP,
        end=End(tile=(3, 1), score=10, lives=3, moved=True, pellets=1, level=1),
        ends={
            _FATAL_MOVE: End(tile=(1, 1), score=0, moved=False, pellets=2),
            _FATAL_JOIN: NOT_JOINED,
        },
    ),
    Scenario(
        name="energizer",
        title="eat an energizer",
        maze="""
######
#Po_##
######
#.##G#
######
""",
        steer="right",
        ghost=Ghost(at=(4, 3)),
        calls=_LOOP,
        end=End(tile=(3, 1), score=50, moved=True, energizers=0, pellets=1, ghost="frightened"),
        ends={
            _FATAL_MOVE: End(tile=(1, 1), score=0, moved=False, energizers=1, ghost="normal"),
            _FATAL_JOIN: NOT_JOINED,
        },
    ),
    Scenario(
        name="ghost",
        title="meet a ghost",
        maze=_GHOST_WALLED_IN,
        steer="right",
        ghost=Ghost(arrives="after the move"),
        ticking=False,
        turns=5,
        calls=_CATCH,
        end=End(status="caught", lives=2, moved=True),
        ends={_FATAL_MOVE: End(status="caught", lives=2, moved=False), _FATAL_JOIN: NOT_JOINED},
    ),
    Scenario(
        name="frightened",
        title="eat a frightened ghost",
        maze="""
#####
#PG##
#####
#.###
#####
""",
        steer="right",
        ghost=Ghost(at=(2, 1), state="frightened"),
        calls=_LOOP,
        end=End(tile=(2, 1), score=200, lives=3, moved=True, ghost="eyes"),
        ends={
            _FATAL_MOVE: End(tile=(1, 1), score=0, moved=False, ghost="frightened"),
            _FATAL_JOIN: NOT_JOINED,
        },
    ),
    Scenario(
        name="last-life",
        title="lose the last life",
        maze=_GHOST_WALLED_IN,
        steer="right",
        ghost=Ghost(arrives="after the move"),
        lives=1,
        ticking=False,
        turns=5,
        calls=_CATCH,
        end=End(status="gone"),
        ends={_FATAL_JOIN: NOT_JOINED},
    ),
    Scenario(
        name="clear-level",
        title="clear the level",
        maze="""
#####
#P.##
#####
""",
        steer="right",
        calls=_LOOP,
        # The last pellet eaten: level 2, the food back, every pac-man at the start.
        end=End(tile=(1, 1), score=10, level=2, pellets=1, moved=True),
        ends={
            _FATAL_MOVE: End(tile=(1, 1), score=0, level=1, moved=False),
            _FATAL_JOIN: NOT_JOINED,
        },
    ),
    Scenario(
        name="two-players",
        title="two players on one pellet",
        maze="""
######
#_P._#
######
#.####
######
""",
        steer="right",
        others=("left",),
        calls=_LOOP,
        # Whoever gets there first eats it, once: the scores add up to one pellet's.
        end=End(total_score=10, pellets=1, moved=True),
        ends={
            _FATAL_MOVE: End(tile=(2, 1), score=0, total_score=10, pellets=1, moved=False),
            # We never join, so the other player starts on our tile and heads away from it.
            _FATAL_JOIN: NOT_JOINED.but(total_score=0, pellets=2),
        },
    ),
    Scenario(
        name="tunnel",
        title="the tunnel",
        maze="""
#####
_P#._
#####
#.###
#####
""",
        steer="left",
        turns=9,
        calls=_LOOP,
        # Out on the left, in on the right, and along to the pellet.
        end=End(tile=(3, 1), score=10, moved=True, pellets=1),
        ends={_FATAL_MOVE: End(tile=(1, 1), score=0, moved=False), _FATAL_JOIN: NOT_JOINED},
    ),
    Scenario(
        name="start-ghost",
        title="join while a ghost sits on the start tile",
        maze=_GHOST_WALLED_IN,
        ghost=Ghost(arrives="before the join"),
        ticking=False,
        turns=4,
        calls=("join", "find", "findAll", "remove"),
        end=End(status="caught", lives=2),
        ends={_FATAL_JOIN: NOT_JOINED},
    ),
)

BY_NAME: Mapping[str, Scenario] = {scenario.name: scenario for scenario in SCENARIOS}
