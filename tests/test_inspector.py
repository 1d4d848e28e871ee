"""The request inspector's strip: real calls, each ended by a real fault, lit as the client
knows them (+ passed, x failed, ? unknown, . never reached)."""

import pytest

from pacnet.client.remote import RemoteBoard
from pacnet.client.timeouts import Timeouts
from pacnet.faults.spec import Domain, Fault
from pacnet.protocol.outcome import Outcome
from pacnet.trace.steps import Known, strip
from tests.conftest import MS, StartServer, switch_on


def drawn(known: tuple[Known, ...]) -> str:
    return "".join(k.value for k in known)


@pytest.mark.parametrize(
    ("fault", "outcome", "expected"),
    [
        (None, Outcome.SUCCESS, "++++++++"),
        ({"kind": "offline"}, Outcome.POST_FAILED, "x......."),
        ({"kind": "reject"}, Outcome.FATAL, "++x.++++"),
        ({"kind": "update_fails"}, Outcome.RETRYABLE, "+++x++++"),
        ({"kind": "no_reply"}, Outcome.UNKNOWN, "+???????"),
        ({"kind": "bad_version"}, Outcome.UNKNOWN, "++??++x."),
        ({"kind": "apply_fails"}, Outcome.UNKNOWN, "+++++++x"),
    ],
)
async def test_the_strip_lights_the_steps_the_client_knows(
    fault: dict[str, str] | None, outcome: Outcome, expected: str, start_server: StartServer
) -> None:
    server = await start_server()
    assert server.url is not None
    async with RemoteBoard(server.url, "inspected", timeouts=Timeouts(reply=300 * MS)) as board:
        assert (await board.join()).ok
        if fault is not None:
            spec = Fault.model_validate({**fault, "action": "move"})
            if spec.domain is Domain.CLIENT:
                board.faults.add(spec, 0.0)
            else:
                await switch_on(server, **spec.model_dump(exclude_none=True))
        result = await board.move("pacman", "left")
    assert result.outcome is outcome, result.describe()
    assert drawn(strip(result)) == expected
