"""docs/failure-modes.md's table, row by row, for each of the article's four calls.

Each row names a fault; the test switches it on in its own domain (the server's through its
``/admin`` endpoint with the admin token, the client's on the ``RemoteBoard``), makes the call,
and checks the outcome the client got and whether the server really acted.
"""

import asyncio
import json
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import pytest

from pacnet.client.remote import CallResult, RemoteBoard
from pacnet.client.timeouts import Timeouts
from pacnet.cmdline.defaults import CRASH_EXIT_STATUS
from pacnet.faults.admin import AdminClient
from pacnet.faults.spec import Domain, Fault
from pacnet.protocol.models import OkReply
from pacnet.protocol.outcome import Outcome
from pacnet.proxy.config import ProxyConfig
from pacnet.proxy.relay import running_proxy
from pacnet.trace.verdict import judge
from tests.conftest import MS, ROOT, Acted, Controlled, ServerProcess, StartServer, switch_on

TABLE = ROOT / "docs" / "failure-modes.md"


@dataclass(frozen=True)
class Row:
    fault: dict[str, Any]
    step: int
    domain: Domain
    outcome: Outcome
    acted: bool
    times: int
    """How many times the server ran a mutation."""
    reads_twice: bool
    """A read ran twice ("yes; a read twice"): the server remembers only mutations' replies."""
    late: bool
    """The server acts after the client gave up ("yes, late")."""

    @property
    def name(self) -> str:
        return " ".join(str(v) for v in self.fault.values())


def table_rows() -> list[Row]:
    text = TABLE.read_text()
    body = text.split("<!-- failure-modes table")[1].split("<!-- end of failure-modes table")[0]
    rows = []
    for line in body.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 5 or not cells[0].startswith("`"):
            continue
        fault, step, domain, outcome, acted = cells
        assert acted in ("yes", "no", "yes, late", "yes; a read twice"), line
        spec = json.loads(fault.strip("`"))
        times = int(acted != "no")
        late = acted == "yes, late"
        number = int(step.split()[0])
        twice = acted == "yes; a read twice"
        rows.append(
            Row(spec, number, Domain(domain), Outcome(outcome), times > 0, times, twice, late)
        )
    return rows


ROWS = table_rows()
Call = Callable[[RemoteBoard], Awaitable[CallResult[OkReply]]]
CALLS: dict[str, Call] = {
    "find": lambda board: board.find(),
    "move": lambda board: board.move("pacman", "right"),
    "findAll": lambda board: board.find_all(":ghost"),
    "remove": lambda board: board.remove(),
}


def test_the_table_covers_every_step_the_injectors_have() -> None:
    assert len(ROWS) >= 9
    for row in ROWS:
        fault = Fault.model_validate(row.fault)
        assert fault.step.value == row.step, row
        assert fault.domain is row.domain, row


@pytest.mark.parametrize("action", CALLS)
@pytest.mark.parametrize(
    "row", [r for r in ROWS if r.fault.get("crash") != "exit"], ids=lambda r: r.name
)
async def test_a_row_of_the_table_holds(row: Row, action: str, start_server: StartServer) -> None:
    acted = Acted()
    server = await start_server(hooks=(acted,))
    assert server.url is not None
    async with AsyncExitStack() as stack:
        url, target = server.url, server
        if row.domain is Domain.NETWORK:
            proxy = await stack.enter_async_context(
                running_proxy(ProxyConfig(port=0, upstream=server.url, seed=1))
            )
            assert proxy.url is not None
            url, target = proxy.url, proxy
        deadline = Timeouts(reply=300 * MS)
        board = await stack.enter_async_context(RemoteBoard(url, "8765309", timeouts=deadline))
        assert (await board.join()).ok
        pacman = server.game.board.get("pacman-8765309")
        assert pacman is not None
        assert pacman.wanted != "right"
        assert pacman.lives == 3
        if row.fault["kind"] == "refuse":  # refused at the next handshake: a new connection
            board = await stack.enter_async_context(RemoteBoard(url, "8765309", timeouts=deadline))
        await aim(row, action, board, target)
        result = await CALLS[action](board)
        if row.late:
            await asyncio.sleep(row.fault["delayMs"] / 1000)  # the request is still on its way
    assert result.outcome is row.outcome, result.describe()
    reads = action in ("find", "findAll")
    times = acted.times[result.request_id]
    assert times == (2 if reads and row.reads_twice else row.times)
    # The checker of `pacnet trace --check` and the window agrees: no row breaks a promise.
    assert not judge(result.outcome, action, [True] * times, server_traces=True).alarm
    if action == "move":
        assert (pacman.wanted == "right") is row.acted
    if action == "remove":
        assert (pacman.lives == 2) is row.acted  # a second remove finds it off the board


async def aim(row: Row, action: str, board: RemoteBoard, target: Controlled) -> None:
    """Aim the row's fault at this call only: the join before it must go through. (A refusal
    is aimed at the next connection: at the handshake, the proxy knows no action yet.)"""
    fault = row.fault if row.fault["kind"] == "refuse" else {**row.fault, "action": action}
    if row.domain is Domain.CLIENT:
        board.faults.add(Fault.model_validate(fault), 0.0)
        return
    await switch_on(target, **fault)


@pytest.mark.parametrize("action", CALLS)
async def test_a_crash_after_receive_ends_the_server_process_and_the_call_is_unknown(
    action: str, server_process: Callable[..., ServerProcess]
) -> None:
    (row,) = [r for r in ROWS if r.fault.get("crash") == "exit"]
    process = server_process("--layout", "small", "--admin-token", "workshop")
    async with RemoteBoard(process.url, "8765309", timeouts=Timeouts(reply=2000 * MS)) as board:
        assert (await board.join()).ok
        async with AdminClient(process.url, "workshop") as admin:
            assert (await admin.add({**row.fault, "action": action})).ok
        result = await CALLS[action](board)
    assert result.outcome is row.outcome, result.describe()
    assert process.process.wait(timeout=10) == CRASH_EXIT_STATUS
    events = process.events()
    injected = [e for e in events if e["event"] == "fault_injected"]
    assert [e["requestId"] for e in injected] == [result.request_id]
    assert injected[0]["domain"] == "server"
    assert injected[0]["step"] == "DELIVER_REQUEST"
    assert not row.acted
    assert not any(e.get("requestId") == result.request_id for e in events if e not in injected)
