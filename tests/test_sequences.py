"""The article's server-side question: after a call that ended POST_FAILED, RETRYABLE, FATAL or
UNKNOWN, the client goes on (``find`` ok, the call faulted, ``find`` again, then the call again
if the board says it is still to be done): does the server stay consistent? Each of the
article's four calls is the middle one in turn, each middle outcome provoked through a real
fault domain over real sockets, never by faking the classifier."""

from typing import Any

import pytest

from pacnet.client.remote import RemoteBoard
from pacnet.faults.spec import Fault
from pacnet.protocol.outcome import Outcome
from pacnet.server.config import ServerConfig
from pacnet.server.embedded import running_server
from pacnet.server.net import BoardServer
from pacnet.server.pieces import Piece
from tests.conftest import switch_on

MIDDLES = ("move", "remove", "find", "findAll")
OUTCOMES = (Outcome.POST_FAILED, Outcome.RETRYABLE, Outcome.FATAL, Outcome.UNKNOWN)


def fault_for(middle: Outcome, action: str) -> dict[str, Any]:
    """The fault that makes the middle call end ``middle``, in the domain where it happens."""
    return {
        Outcome.POST_FAILED: {"kind": "offline", "id": "f7"},  # the client's network is down
        Outcome.RETRYABLE: {"kind": "update_fails", "action": action, "count": 1},
        Outcome.FATAL: {"kind": "reject", "action": action, "count": 1},
        Outcome.UNKNOWN: {"kind": "no_reply", "action": action, "count": 1},  # it acted
    }[middle]


def on_the_server(server: BoardServer) -> Piece | None:
    found = [p for p in server.game.board.all_of(":pacman") if p.name == "pacman-seq"]
    return found[0] if found else None


async def call(board: RemoteBoard, action: str) -> Any:
    match action:
        case "move":
            return await board.move("pacman", "left", seq=2)
        case "remove":
            return await board.remove()
        case "find":
            return await board.find()
        case _:
            return await board.find_all(":ghost")


@pytest.mark.parametrize("outcome", OUTCOMES, ids=[o.value for o in OUTCOMES])
@pytest.mark.parametrize("action", MIDDLES)
async def test_after_any_outcome_the_client_goes_on_and_the_server_stays_consistent(
    action: str, outcome: Outcome
) -> None:
    # A board that does not tick: no ghost catches the pac-man and none comes back by itself,
    # so whatever changes is the requests' doing. (A calm board would make remove a no-op.)
    config = ServerConfig(port=0, layout="small", seed=1, tick_rate=0.001)
    async with running_server(config) as server, RemoteBoard(server.url or "", "seq") as board:
        assert (await board.join()).ok
        assert (await board.find()).ok
        assert (await board.move("pacman", "up", seq=1)).ok
        ours = on_the_server(server)
        assert ours is not None
        lives = ours.lives
        if outcome is Outcome.POST_FAILED:
            board.faults.add(Fault.model_validate(fault_for(outcome, action)), 0.0)
        else:
            await switch_on(server, **fault_for(outcome, action))
        faulted = await call(board, action)
        board.faults.remove("f7")
        assert faulted.outcome is outcome, faulted.describe()
        acted = outcome is Outcome.UNKNOWN

        # The client goes on: it reads the board before it does anything else.
        after = await board.find()
        removed = action == "remove" and acted
        if removed:
            assert after.outcome is Outcome.FATAL, "caught: its pac-man is not on the board"
            assert on_the_server(server) is None
        else:
            assert after.reply is not None, after.describe()
            pacman = on_the_server(server)
            assert pacman is not None
            wanted_seq = 2 if action == "move" and acted else 1
            assert after.reply.last_seq == wanted_seq == pacman.last_seq, "the view is the server's"
            assert pacman.wanted == ("left" if action == "move" and acted else "up")

        # Then does what is still to be done, once, as the board it read says.
        if action in ("find", "findAll") or not removed:
            again = await call(board, action)
            assert again.ok, again.describe()
        final = server.game.board.get("pacman-seq")
        if action == "move":
            assert final is not None
            assert final.last_seq == 2, "applied once, whichever way the first try ended"
        if action == "remove":
            assert final is None, "caught"
            assert ours.lives == lives - 1, "one life lost, whichever way the first try ended"
        if action in ("find", "findAll"):
            assert final is not None
            assert final.last_seq == 1, "a read changed nothing"
        assert server.game.sessions.keys() == {"seq"}, "one user, no ghost session left"
