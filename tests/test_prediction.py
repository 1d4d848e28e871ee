"""Client-side prediction of our own pac-man (pacnet/client/predict.py): it moves by the server's own
rules, a snapshot settles it, and a lost reply shows no stall and no leap."""

import asyncio
import itertools
import math
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from pacnet.client.play import article_loop
from pacnet.client.predict import HORIZON, Prediction, prediction_line
from pacnet.client.remote import CallResult, RemoteBoard
from pacnet.client.timeouts import Timeouts
from pacnet.client.view import View
from pacnet.protocol import motion
from pacnet.protocol.models import Direction, Entity, OkReply
from pacnet.protocol.outcome import Outcome
from pacnet.proxy.config import ProxyConfig
from pacnet.proxy.relay import running_proxy
from pacnet.server.board import Board
from pacnet.server.config import ServerConfig
from pacnet.server.embedded import running_server
from pacnet.server.layout import GHOST_NAMES, load_layout
from pacnet.server.pieces import Piece
from tests.conftest import MS, switch_on

TICK_RATE = 60.0
DIRECTIONS: tuple[Direction, ...] = ("up", "down", "left", "right")


def quiet_board() -> tuple[Board, Piece]:
    """The classic maze (its tunnel included) with no ghost to catch the pac-man."""
    board = Board(load_layout("classic"), random.Random(3), tick_rate=TICK_RATE)
    for ghost in GHOST_NAMES:
        board.remove(ghost)
    return board, board.add_pacman("me")


def wire(piece: Piece, last_seq: int | None = None) -> Entity:
    """The pac-man as a findAll reply carries it."""
    return Entity(
        name=piece.name, kind=piece.kind, x_pos=piece.x, y_pos=piece.y, heading=piece.heading,
        offset=piece.offset, moving=piece.moving, last_seq=last_seq,
    )  # fmt: skip


def predicting(board: Board) -> Prediction:
    return Prediction(board.layout.rows(), board.tick_rate, board.pacman_speed)


def at(tick: int) -> float:
    """The loop time of a tick, for a client whose clock started with the board's."""
    return tick / TICK_RATE


def close(a: tuple[float, float] | None, b: tuple[float, float]) -> bool:
    return a is not None and math.dist(a, b) < 1e-6


Steers = st.lists(st.tuples(st.integers(0, 40), st.sampled_from(DIRECTIONS)), max_size=60)


@settings(max_examples=60, deadline=None)
@given(steers=Steers)
def test_the_prediction_moves_exactly_as_the_server_does(
    steers: list[tuple[int, Direction]],
) -> None:
    board, me = quiet_board()
    prediction = predicting(board)
    prediction.reconcile(wire(me), board.clock, at(board.clock))
    for seq, (gap, direction) in enumerate(steers, start=1):
        for _ in range(gap):
            board.tick()
        board.steer(me, direction)
        prediction.steer(seq, direction, at(board.clock))
        assert close(prediction.position(at(board.clock), smoothed=False), motion.where(me))
    for _ in range(90):
        board.tick()
    assert close(prediction.position(at(board.clock), smoothed=False), motion.where(me))


def test_a_snapshot_drops_acknowledged_inputs_and_replays_those_still_on_their_way() -> None:
    board, me = quiet_board()
    prediction = predicting(board)
    prediction.reconcile(wire(me), 0, at(0))
    plan: list[tuple[int, Direction]] = [(5, "left"), (30, "up"), (45, "right"), (48, "down")]
    for seq, (tick, direction) in enumerate(plan, start=1):
        prediction.steer(seq, direction, at(tick))
    # The server got the first two at the ticks they were sent; a snapshot at tick 50 says
    # so (lastSeq 2). The other two were still on their way: they land right after it.
    for tick, direction in plan[:2]:
        while board.clock < tick:
            board.tick()
        board.steer(me, direction)
    while board.clock < 50:
        board.tick()
    prediction.reconcile(wire(me, last_seq=2), board.clock, at(52))
    assert [i.seq for i in prediction.pending] == [3, 4]
    board.steer(me, "right")
    board.steer(me, "down")
    while board.clock < 110:
        board.tick()
    assert close(prediction.position(at(110), smoothed=False), motion.where(me))
    prediction.reconcile(wire(me, last_seq=4), board.clock, at(110))
    assert prediction.pending == []
    assert prediction.corrections[-1] < 1e-6  # the replay had it right


def test_a_move_the_server_never_acted_on_is_taken_back() -> None:
    board, me = quiet_board()
    prediction = predicting(board)
    prediction.reconcile(wire(me), 0, at(0))
    prediction.steer(1, "right", at(10))  # the server never hears of it
    prediction.settled(1, Outcome.RETRYABLE)
    assert prediction.pending == []
    prediction.steer(2, "right", at(20))
    prediction.settled(2, Outcome.UNKNOWN)  # it may have acted: kept until the server says
    assert [i.seq for i in prediction.pending] == [2]
    for _ in range(30):
        board.tick()
    prediction.reconcile(wire(me, last_seq=None), board.clock, at(30))
    assert [i.seq for i in prediction.pending] == [2]  # not acknowledged yet: still replayed
    while board.clock < 30 + HORIZON * TICK_RATE:
        board.tick()
    prediction.reconcile(wire(me), board.clock, at(board.clock))
    assert prediction.pending == []  # no copy of it can arrive any more
    assert close(prediction.position(at(board.clock), smoothed=False), motion.where(me))


def test_a_respawn_is_drawn_as_a_jump_and_a_small_correction_fades_out() -> None:
    board, me = quiet_board()
    prediction = predicting(board)
    prediction.reconcile(wire(me), 0, at(0))
    prediction.steer(1, "left", at(0))
    board.steer(me, "left")
    for _ in range(30):
        board.tick()
    # The server turned us a tick late: the snapshot is a little behind the prediction.
    shown = prediction.position(at(30))
    assert shown is not None
    behind = Entity(
        name=me.name, kind=me.kind, x_pos=me.x, y_pos=me.y, heading="left",
        offset=me.offset - 0.1 if me.offset > -0.4 else me.offset + 0.1, moving=True, last_seq=1,
    )  # fmt: skip
    prediction.reconcile(behind, 30, at(30))
    assert 0.05 < prediction.corrections[-1] < 0.2
    assert close(prediction.position(at(30)), shown)  # drawn where it was: no snap
    for later, left in ((0.1, 0.04), (0.5, 0.001)):  # faded over a tenth of a second
        drawn = prediction.position(at(30) + later)
        exact = prediction.position(at(30) + later, smoothed=False)
        assert drawn is not None
        assert exact is not None
        assert math.dist(drawn, exact) < left
    # A respawn at the start, far away: a jump, not a slow slide across the maze.
    far = Entity(
        name=me.name, kind=me.kind, x_pos=(me.x + 10) % 28, y_pos=me.y, heading="left",
        offset=0.0, moving=False, last_seq=1,
    )  # fmt: skip
    prediction.reconcile(far, 31, at(31))
    assert close(prediction.position(at(31)), (float((me.x + 10) % 28), float(me.y)))


def test_the_calls_panel_says_whether_and_how_well_it_predicts() -> None:
    board, me = quiet_board()
    assert prediction_line(None).startswith("prediction off")
    prediction = predicting(board)
    prediction.reconcile(wire(me), 0, at(0))
    prediction.steer(1, "left", at(0))
    assert prediction_line(prediction) == "prediction on: 1 move unacknowledged"
    board.steer(me, "left")
    prediction.reconcile(wire(me, last_seq=1), 0, at(0))
    assert prediction_line(prediction) == (
        "prediction on: 0 moves unacknowledged; last correction 0.00 tiles (max 0.00)"
    )


async def test_a_lost_move_reply_shows_no_stall_and_no_leap_and_still_counts_as_unknown() -> None:
    """Half the move replies are lost on the way back. Each loss stalls the article loop for
    the whole reply timeout, so no new snapshot comes: drawn from replies alone, our
    pac-man would stand still and then leap ahead. Predicted, it keeps moving at its speed,
    and the snapshot after the stall agrees with where it was drawn."""
    config = ServerConfig(port=0, layout="classic", seed=1)
    async with (
        running_server(config) as server,
        running_proxy(ProxyConfig(port=0, upstream=str(server.url), seed=1)) as proxy,
    ):
        for ghost in GHOST_NAMES:  # nothing may catch the pac-man mid-test
            server.game.board.remove(ghost)
        await switch_on(proxy, kind="drop", direction="reply", action="move", probability=0.5)
        timeouts = Timeouts(reply=300 * MS)
        async with RemoteBoard(str(proxy.url), "4242", timeouts=timeouts, policy=None) as board:
            joined = await board.join()
            assert joined.reply is not None
            view = View.joined(joined.reply)
            assert view.prediction is not None
            loop = asyncio.get_running_loop()
            start = loop.time()

            def joystick() -> Direction:  # a new way every 0.4 s: turns, reversals, walls
                return DIRECTIONS[int((loop.time() - start) / 0.4) % 4]

            snapshots: list[float] = []
            update = view.update

            def noted(now: float, pieces: list[Entity], clock: int | None = None) -> None:
                snapshots.append(now)
                update(now, pieces, clock)

            view.update = noted  # type: ignore[method-assign]
            results: list[CallResult[OkReply]] = []
            playing = asyncio.create_task(article_loop(board, view, joystick, results.append))
            track: list[tuple[float, tuple[float, float]]] = []
            while loop.time() - start < 4.0:
                await asyncio.sleep(1 / 60)
                now = loop.time()
                drawn = view.positions(now).get(str(view.me))
                if drawn is not None:
                    track.append((now, drawn))
            playing.cancel()
    unknown = [r for r in results if r.action == "move" and r.outcome is Outcome.UNKNOWN]
    assert len(unknown) >= 3  # the HUD counts every one of them
    stalls = [b - a for a, b in itertools.pairwise(snapshots)]
    assert max(stalls) >= 0.28  # replies alone would have frozen our pac-man this long
    speed = server.game.board.pacman_speed
    leaps = [
        math.dist(p, q) - speed * (t2 - t1)
        for (t1, p), (t2, q) in itertools.pairwise(track)
        if math.dist(p, q) < 10  # not through the tunnel
    ]
    assert len(track) > 120
    assert max(leaps) < 0.35  # never further between two frames than it can go, give or take
    assert view.prediction.largest < 0.5


def test_the_clock_estimate_is_when_the_server_applies_a_move_and_one_late_move_cannot_move_it() -> (
    None
):
    board, me = quiet_board()
    prediction = predicting(board)
    prediction.reconcile(wire(me), 0, at(0))
    # Each move reaches the server two ticks after it is sent; its reply says so.
    for seq in range(1, 6):
        sent = at(10 * seq)
        prediction.steer(seq, "left", sent)
        prediction.settled(seq, Outcome.SUCCESS, clock=10 * seq + 2)
    assert prediction.clock_at(at(100)) == 102
    prediction.steer(6, "left", at(60))
    prediction.settled(6, Outcome.SUCCESS, clock=60 + 40)  # held up by the network
    assert prediction.clock_at(at(100)) == 102
    # The server stalled and skipped 12 ticks: its moves say so, and the estimate follows.
    for seq in range(7, 10):
        prediction.steer(seq, "left", at(10 * seq))
        prediction.settled(seq, Outcome.SUCCESS, clock=10 * seq + 2 - 12)
    assert prediction.clock_at(at(100)) == 90
    # Restarted from an older snapshot: a snapshot far behind the estimate wins at once.
    prediction.reconcile(wire(me), 30, at(100))
    assert prediction.clock_at(at(100)) == 30
