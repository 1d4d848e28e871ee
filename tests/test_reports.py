"""How the room's calls ended, as its clients report them: a lost report is made good by the
next, a late one never rolls the counts back, and a player whose reports stop is shown late."""

from websockets.asyncio.client import connect

from pacnet.client.remote import RemoteBoard
from pacnet.feeds.addresses import endpoint_url
from pacnet.protocol.feeds import BOARD_PATH, RATE_BIN, RATE_BINS, ROOM_PATH, BoardView, RoomView
from pacnet.protocol.models import CallCount
from pacnet.protocol.outcome import Outcome
from pacnet.server.config import ServerConfig
from pacnet.server.embedded import running_server
from pacnet.server.reports import LATE_AFTER, Reports


def count(action: str, outcome: Outcome, calls: int) -> CallCount:
    return CallCount(action=action, outcome=outcome, calls=calls)  # type: ignore[arg-type]


def test_a_late_report_never_rolls_the_counts_back() -> None:
    room = Reports()
    assert room.record("alice", 1, 10, [count("move", Outcome.SUCCESS, 5)], now=0.0)
    assert not room.record("alice", 1, 9, [count("move", Outcome.SUCCESS, 3)], now=0.5)
    (alice,) = room.view(now=0.5).players
    assert (alice.seq, alice.counts[0].calls) == (10, 5)


def test_the_totals_are_the_newest_exercises_and_a_silent_player_is_late() -> None:
    room = Reports()
    room.record("alice", 2, 1, [count("move", Outcome.UNKNOWN, 2)], now=0.0)
    room.record("bob", 2, 1, [count("move", Outcome.UNKNOWN, 3)], now=0.0)
    room.record("carol", 1, 1, [count("move", Outcome.FATAL, 9)], now=0.0)  # behind
    room.record("bob", 2, 2, [count("move", Outcome.UNKNOWN, 4)], now=LATE_AFTER)
    view = room.view(now=LATE_AFTER + 0.5)
    assert view.exercise == 2
    assert [(t.action, t.outcome, t.calls) for t in view.totals] == [("move", Outcome.UNKNOWN, 6)]
    late = {p.user_id: p.late for p in view.players}
    assert late == {"alice": True, "bob": False, "carol": True}
    room.forget("alice")
    assert [p.user_id for p in room.view(now=0.0).players] == ["bob", "carol"]


def test_the_rates_chart_each_reports_growth_in_the_second_it_arrived() -> None:
    room = Reports()
    room.record("alice", 1, 1, [count("move", Outcome.SUCCESS, 10)], now=100.2)
    room.record("bob", 1, 1, [count("find", Outcome.UNKNOWN, 1)], now=100.7)
    # alice's report of second 101 is lost; the next one makes it good, in its own second
    room.record(
        "alice",
        1,
        3,
        [count("move", Outcome.SUCCESS, 30), count("move", Outcome.UNKNOWN, 2)],
        now=102.1,
    )
    room.record("alice", 1, 4, [count("move", Outcome.SUCCESS, 5)], now=103.1)  # C pressed
    room.record("alice", 1, 5, [count("join", Outcome.SUCCESS, 1)], now=103.5)  # not charted
    rates = room.view(now=103.9).rates
    assert len(rates) == RATE_BINS
    assert [r.calls for r in rates[-4:]] == [
        [10, 0, 0, 0, 1],  # second 100: alice's ten moves, bob's UNKNOWN find
        [0, 0, 0, 0, 0],  # second 101: nothing arrived
        [20, 0, 0, 0, 2],  # second 102: the growth since alice's last report that arrived
        [0, 0, 0, 0, 0],  # second 103: counts that shrank add nothing
    ]


def test_a_new_exercise_charts_from_zero_and_the_chart_keeps_its_last_minutes() -> None:
    room = Reports()
    room.record("alice", 1, 1, [count("move", Outcome.FATAL, 50)], now=0.5)
    room.record("alice", 2, 2, [count("move", Outcome.FATAL, 3)], now=1.5)  # counts afresh
    rates = room.view(now=2.0).rates
    assert [(r.exercise, r.calls[3]) for r in rates[-3:]] == [(1, 50), (2, 3), (2, 0)]
    later = room.view(now=2.0 + RATE_BINS * RATE_BIN).rates
    assert all(r.calls == [0] * 5 for r in later)  # older than the chart: gone
    assert later[-1].exercise == 2


async def test_a_report_reaches_the_rooms_feed() -> None:
    async with running_server(ServerConfig(port=0, layout="small", seed=1)) as server:
        url = server.url or ""
        async with RemoteBoard(url, "alice") as board:
            assert (await board.join()).ok
            await board.find()
            sent = await board.report(0, 1, board.tally.as_counts())
            assert sent.ok
            assert board.tally.total() == 2  # the report is not one of the counted calls
            async with connect(endpoint_url(url, ROOM_PATH)) as feed:
                view = RoomView.model_validate_json(await feed.recv())
    (alice,) = view.players
    assert {(c.action, c.outcome, c.calls) for c in alice.counts} == {
        ("join", Outcome.SUCCESS, 1),
        ("find", Outcome.SUCCESS, 1),
    }


async def test_a_spectator_sees_the_whole_board_without_joining() -> None:
    """The projector joins no game and changes nothing: the /board feed shows it the maze and
    every piece, players' pac-men included."""
    async with running_server(ServerConfig(port=0, layout="small", seed=1)) as server:
        url = server.url or ""
        async with RemoteBoard(url, "alice") as board:
            assert (await board.join()).ok
            async with connect(endpoint_url(url, BOARD_PATH)) as feed:
                view = BoardView.model_validate_json(await feed.recv())
        users = len(server.game.sessions)
    kinds = {e.kind for e in view.entities}
    assert {":pacman", ":ghost", ":pellet"} <= kinds
    assert "pacman-alice" in {e.name for e in view.entities}
    assert (view.width, view.height, len(view.maze)) == (17, 11, 11)
    assert users == 1  # watching added no one
