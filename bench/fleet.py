"""Many users on one server, each calling at a steady pace, as players and idle windows do.

A ``Fleet`` opens and joins one connection per user, a few dozen at a time (a server's listen
backlog is about a hundred), and keeps them open. While ``Fleet.pacing`` runs, every user
sends its next request once per ``period`` from the moment it joined, the users spread
evenly over the period (by user number): a user whose last reply has not come back when its
turn comes skips the turn, as the window's loop would still be waiting on it. Every reply is
checked, cheaply (its status, or the echo's bytes), and timed from the write of the request
to the read of the whole reply; ``Fleet.tally`` counts since its last reset.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from wslink import TEXT, Link, client_frame, open_link

OPEN_AT_ONCE = 64
"""Connections opened (and joined) at the same time: under the listen backlog (100)."""
OPEN_TIMEOUT = 20.0
"""Seconds a connection and its join may take before the user counts as refused."""
SLOT = 0.01
"""Seconds between the pacer's looks at whose turn it is."""

Texts = Callable[[int, int], bytes]
"""``texts(user, index)``: the text of request number ``index`` of user number ``user``."""


def accepts_for(server: str) -> Callable[[bytes, bytes], bool]:
    """A reply check cheap enough for every reply: the echo's bytes, or pacnet's ``ok``
    (pacnet writes ``status`` among the first fields, before any payload)."""
    if server == "echo":
        return lambda request, reply: reply == request
    return lambda request, reply: b'"status":"ok"' in reply[:160]


@dataclass
class Tally:
    """What a fleet's users saw, since the last ``reset``."""

    sent: int = 0
    skipped: int = 0
    """Turns a user let pass because its last reply had not come back yet."""
    latencies: list[float] = field(default_factory=list)
    wrong: int = 0
    first_wrong: bytes | None = None
    lost: int = 0
    """Connections the server closed or dropped."""
    first_lost: str | None = None

    def reset(self) -> None:
        """Start counting afresh (a stage's hold): the first wrong reply and the first lost
        connection shown are then this hold's, like the counts beside them."""
        self.sent = self.skipped = self.wrong = self.lost = 0
        self.latencies = []
        self.first_wrong = self.first_lost = None


class User:
    """One connection acting as one user: sends when paced, notes each reply."""

    __slots__ = ("accepts", "index", "link", "number", "sent_at", "tally", "text", "texts")

    def __init__(
        self, number: int, link: Link, texts: Texts, tally: Tally, accepts: Callable[..., bool]
    ) -> None:
        self.number, self.link, self.texts, self.tally = number, link, texts, tally
        self.accepts = accepts
        self.index = 0
        self.sent_at = 0.0
        """When the request in flight was written; 0.0: none in flight."""
        self.text = b""
        link.on_message, link.on_lost = self.on_reply, self.on_lost

    def due(self) -> None:
        """Its turn: send the next request, unless the last one is still out."""
        if self.sent_at:
            self.tally.skipped += 1
            return
        self.text = self.texts(self.number, self.index)
        self.index += 1
        self.sent_at = time.perf_counter()
        self.link.send(client_frame(TEXT, self.text, self.link.mask))
        self.tally.sent += 1

    def on_reply(self, payload: bytes) -> None:
        tally = self.tally
        tally.latencies.append(time.perf_counter() - self.sent_at)
        self.sent_at = 0.0
        if not self.accepts(self.text, payload):
            tally.wrong += 1
            tally.first_wrong = tally.first_wrong or payload[:300]

    def on_lost(self, error: Exception) -> None:
        self.tally.lost += 1
        self.tally.first_lost = self.tally.first_lost or str(error)


@dataclass
class Opened:
    """What opening and joining a batch of users came to."""

    users: int
    refused: int
    first_refusal: str | None
    seconds: float


class Fleet:
    """Users of one server, joined and connected, ready to be paced.

    Args:
        server: ``echo`` or ``pacnet``: how to check replies.
        url: where the server listens.
        texts: each user's requests.
        join: the join text of user number N (the echo server gets it too).
        leave: the leave text of user number N, sent when the fleet closes.
    """

    def __init__(
        self, server: str, url: str, texts: Texts, join: Callable[[int], bytes],
        leave: Callable[[int], bytes],
    ) -> None:  # fmt: skip
        self.url = url
        self.texts, self.join_text, self.leave_text = texts, join, leave
        self.accepts = accepts_for(server)
        self.users: list[User] = []
        self.tally = Tally()
        self._wheel: list[list[User]] = []
        """The users whose turn comes in each slot of the period, while pacing."""

    async def add(self, numbers: Sequence[int]) -> Opened:
        """Open and join a connection for each user number; a failure counts as refused."""
        began = time.perf_counter()
        gate = asyncio.Semaphore(OPEN_AT_ONCE)
        refusals: list[str] = []

        async def one(number: int) -> None:
            async with gate:
                try:
                    async with asyncio.timeout(OPEN_TIMEOUT):
                        link = await open_link(self.url)
                        join = self.join_text(number)
                        reply = await link.request(client_frame(TEXT, join, link.mask))
                except (OSError, TimeoutError) as exc:
                    refusals.append(f"{type(exc).__name__}: {exc}")
                    return
                if not self.accepts(join, reply):
                    refusals.append(reply[:300].decode(errors="replace"))
                    await link.close()
                    return
                user = User(number, link, self.texts, self.tally, self.accepts)
                self.users.append(user)
                if self._wheel:  # paced from now on, like the others
                    self._wheel[number % len(self._wheel)].append(user)

        async with asyncio.TaskGroup() as tasks:
            for number in numbers:
                tasks.create_task(one(number))
        return Opened(
            users=len(numbers) - len(refusals), refused=len(refusals),
            first_refusal=refusals[0] if refusals else None,
            seconds=time.perf_counter() - began,
        )  # fmt: skip

    @asynccontextmanager
    async def pacing(self, period: float) -> AsyncIterator[None]:
        """Pace every user, those added meanwhile too, until the ``async with`` block ends;
        then the replies still out get up to a second."""
        slots = max(1, round(period / SLOT))
        self._wheel = [[] for _ in range(slots)]
        for user in self.users:
            self._wheel[user.number % slots].append(user)
        task = asyncio.create_task(self._pace())
        try:
            yield
        finally:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                if (current := asyncio.current_task()) and current.cancelling():
                    raise  # we are being cancelled too (Ctrl-C): not only the pacer
            self._wheel = []
            for _ in range(100):
                if not any(user.sent_at for user in self.users):
                    break
                await asyncio.sleep(0.01)

    async def _pace(self) -> None:
        loop = asyncio.get_running_loop()
        wheel = self._wheel
        start, turn = loop.time(), 0
        while True:
            delay = start + turn * SLOT - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            for user in wheel[turn % len(wheel)]:
                user.due()
            turn += 1

    async def close(self) -> None:
        """Each user leaves (so the board is empty for what comes next) and disconnects."""
        gate = asyncio.Semaphore(OPEN_AT_ONCE * 4)

        async def one(user: User) -> None:
            async with gate:
                try:
                    async with asyncio.timeout(5.0):
                        leave = self.leave_text(user.number)
                        await user.link.request(client_frame(TEXT, leave, user.link.mask))
                        await user.link.close()
                except (OSError, TimeoutError):
                    pass

        async with asyncio.TaskGroup() as tasks:
            for user in self.users:
                tasks.create_task(one(user))
        self.users = []
