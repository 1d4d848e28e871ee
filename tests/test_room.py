"""How the room's calls ended, as its clients report them: a lost report is made good by the
next, a late one never rolls the counts back, and a player whose reports stop is shown late."""

from websockets.asyncio.client import connect

from pacnet.client.remote import RemoteBoard
from pacnet.feeds.addresses import endpoint_url
from pacnet.protocol.feeds import BOARD_PATH, ROOM_PATH, BoardView, RoomView
from pacnet.protocol.models import CallCount
from pacnet.protocol.outcome import Outcome
from pacnet.server.config import ServerConfig
from pacnet.server.embedded import running_server
from pacnet.server.room import LATE_AFTER, Room


def count(action: str, outcome: Outcome, calls: int) -> CallCount:
    return CallCount(action=action, outcome=outcome, calls=calls)  # type: ignore[arg-type]


def test_a_late_report_never_rolls_the_counts_back() -> None:
    room = Room()
    assert room.record("alice", 1, 10, [count("move", Outcome.SUCCESS, 5)], now=0.0)
    assert not room.record("alice", 1, 9, [count("move", Outcome.SUCCESS, 3)], now=0.5)
    (alice,) = room.view(now=0.5).players
    assert (alice.seq, alice.counts[0].calls) == (10, 5)


def test_the_totals_are_the_newest_exercises_and_a_silent_player_is_late() -> None:
    room = Room()
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
