"""The article's server-side question: after a call that ended POST_FAILED, RETRYABLE, FATAL or
UNKNOWN, the client goes on (``find`` ok, ``move`` faulted, ``find`` again, the ``move`` sent
again): does the server stay consistent? Each middle outcome is provoked through a real fault
domain over real sockets, never by faking the classifier."""

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

FAULTS: dict[Outcome, dict[str, Any]] = {
    Outcome.POST_FAILED: {"kind": "offline", "id": "f7"},  # the client's own network is down
    Outcome.RETRYABLE: {"kind": "update_fails", "action": "move", "count": 1},
    Outcome.FATAL: {"kind": "reject", "action": "move", "count": 1},
    Outcome.UNKNOWN: {"kind": "no_reply", "action": "move", "count": 1},
}
ACTED = {Outcome.UNKNOWN}
"""The middle outcomes after which the server had applied the move (no_reply: it acted)."""


def on_the_server(server: BoardServer) -> Piece:
    (pacman,) = [p for p in server.game.board.all_of(":pacman") if p.name == "pacman-seq"]
    return pacman


@pytest.mark.parametrize("middle", list(FAULTS), ids=[o.value for o in FAULTS])
async def test_after_any_outcome_the_client_goes_on_and_the_server_stays_consistent(
    middle: Outcome,
) -> None:
    config = ServerConfig(port=0, layout="small", seed=1, calm=True)
    async with running_server(config) as server, RemoteBoard(server.url or "", "seq") as board:
        assert (await board.join()).ok
        assert (await board.find()).ok
        assert (await board.move("pacman", "up", seq=1)).ok
        if middle is Outcome.POST_FAILED:
            board.faults.add(Fault.model_validate(FAULTS[middle]), 0.0)
        else:
            await switch_on(server, **FAULTS[middle])
        faulted = await board.move("pacman", "left", seq=2)
        board.faults.remove("f7")
        assert faulted.outcome is middle, faulted.describe()

        after = await board.find()
        assert after.reply is not None, after.describe()
        assert after.reply.last_seq == (2 if middle in ACTED else 1), "applied if it acted"
        assert after.reply.last_seq == on_the_server(server).last_seq, "the view is the server's"
        wanted = on_the_server(server).wanted
        assert wanted == ("left" if middle in ACTED else "up"), "an error changed nothing"

        again = await board.move("pacman", "left", seq=2)  # the client goes on: sends it again
        assert again.ok, again.describe()
        final = await board.find()
        assert final.reply is not None
        assert final.reply.last_seq == 2, "applied once, whichever way the first try ended"
        assert on_the_server(server).last_seq == 2
        assert server.game.sessions.keys() == {"seq"}, "one user, no ghost session left"
