"""One client connection and its upstream connection, relayed both ways: a pump per
direction, a ``Plan`` carried out on them (at once, or held for its delay without holding up
the messages after it), and a close passed on the way it came. What becomes of each message
is the proxy's to decide (``pacnet.proxy.relay``)."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.connection import Connection
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import EXTERNAL_CLOSE_CODES, CloseCode
from websockets.protocol import State

from pacnet.faults.spec import Direction
from pacnet.protocol.rooms import DEFAULT_ROOM
from pacnet.proxy.policy import Plan, RequestMemory

MAX_HELD = 1000
"""Delayed messages one connection may hold at once; past it a message is lost, as a full
router buffer drops what comes next."""


@dataclass(eq=False)
class Link:
    """One client connection and its upstream connection."""

    number: int
    client: ServerConnection
    upstream: ClientConnection
    memory: RequestMemory = field(default_factory=RequestMemory)
    held: set[asyncio.Task[None]] = field(default_factory=set)
    tasks: asyncio.TaskGroup | None = None
    side_channel: bool = False
    """A read-only feed of the server's (keepalive, truth): relayed untouched."""
    room: str = DEFAULT_ROOM
    """The room it plays in (a fault may name one)."""

    def ends(self, direction: Direction) -> tuple[Connection, Connection]:
        """(source, sink) of ``direction``."""
        if direction is Direction.REQUEST:
            return self.client, self.upstream
        return self.upstream, self.client

    def reset(self) -> None:
        """Cut both connections at once, without a close frame."""
        self.client.transport.abort()
        self.upstream.transport.abort()

    async def relay(self, forward: "Forward") -> None:
        """Pump both ways until both sides are closed, each message through ``forward``
        (a side channel's untouched); then drop what is still held."""
        async with asyncio.TaskGroup() as tasks:
            self.tasks = tasks
            pumps = [tasks.create_task(self._pump(d, forward)) for d in Direction]
            await asyncio.wait(pumps)
            for task in self.held:
                task.cancel()

    async def _pump(self, direction: Direction, forward: "Forward") -> None:
        """Carry ``direction``'s messages until its source closes (then close the sink the
        same way) or its sink does (then the other pump closes the source)."""
        source, sink = self.ends(direction)
        try:
            async for frame in source:
                if self.side_channel:
                    with contextlib.suppress(ConnectionClosed):
                        await sink.send(frame)
                else:
                    await forward(self, direction, frame, sink)
        except ConnectionClosed:
            pass
        if source.state is State.CLOSED:
            await close_like(source, sink)

    async def carry_out(self, plan: Plan, sink: Connection) -> None:
        """Send ``plan``'s frames to ``sink`` now, or cut the link if it resets."""
        if plan.reset:
            self.reset()
            return
        for frame in plan.frames:
            await sink.send(frame)

    def hold(self, plan: Plan, sink: Connection) -> asyncio.Task[None] | None:
        """Carry ``plan`` out after its delay, in a task of the link's own; None if the link
        holds too many already (``MAX_HELD``): then the message is lost."""
        if len(self.held) >= MAX_HELD:
            return None
        assert self.tasks is not None, "relay() first"
        task = self.tasks.create_task(self._carry_out_later(plan, sink))
        self.held.add(task)
        task.add_done_callback(self.held.discard)
        return task

    async def _carry_out_later(self, plan: Plan, sink: Connection) -> None:
        await asyncio.sleep(plan.delay)
        with contextlib.suppress(ConnectionClosed):  # the connection ended: the message is lost
            await self.carry_out(plan, sink)


Forward = Callable[[Link, Direction, str | bytes, Connection], Awaitable[None]]
"""What the proxy does with one message: ``(link, direction, frame, sink)``."""


async def close_like(source: Connection, sink: Connection) -> None:
    """Close ``sink`` as ``source`` was closed: the same code and reason when they may be
    sent again, 1000 when not; an abort (no close frame) as an abort."""
    code = source.close_code
    if code is None or code == CloseCode.ABNORMAL_CLOSURE:
        sink.transport.abort()
    elif code in EXTERNAL_CLOSE_CODES or 3000 <= code < 5000:
        await sink.close(code, source.close_reason or "")
    else:
        await sink.close()
