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
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

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
    shed: int = 0
    """Replies ``OVERLOADED`` (``OpenUser``)."""
    shed_latencies: list[float] = field(default_factory=list)
    deferred: int = 0
    """Turns a user let pass, told to wait by an ``OVERLOADED`` reply (``OpenUser``)."""

    def reset(self) -> None:
        """Start counting afresh (a stage's hold): the first wrong reply and the first lost
        connection shown are then this hold's, like the counts beside them."""
        self.sent = self.skipped = self.wrong = self.lost = self.shed = self.deferred = 0
        self.latencies, self.shed_latencies = [], []
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


class OpenUser(User):
    """A user that sends on every turn, whether or not its last replies came back: an open
    loop, whose offered load does not fall when the server slows (a crowd's does not), so a
    saturated server's queue grows for as long as it serves every request. Replies come back
    in order on one connection, so each is timed from the oldest request still out.

    A reply that is not ``ok`` but ``OVERLOADED`` is counted as shed (``Tally.shed``), not
    wrong; with ``obeys`` the user then lets its turns pass until the reply's ``retryAfterMs``
    is over (counted in ``Tally.deferred``), as pacnet's clients wait before they try again.
    """

    __slots__ = ("obeys", "out", "resume_at")

    def __init__(self, *args: Any, obeys: bool = False) -> None:
        super().__init__(*args)
        self.obeys = obeys
        self.out: deque[tuple[float, bytes]] = deque()
        """(when written, text) of each request still out, oldest first."""
        self.resume_at = 0.0

    def due(self) -> None:
        now = time.perf_counter()
        if now < self.resume_at:
            self.tally.deferred += 1
            return
        text = self.texts(self.number, self.index)
        self.index += 1
        self.out.append((now, text))
        self.link.send(client_frame(TEXT, text, self.link.mask))
        self.tally.sent += 1

    def on_reply(self, payload: bytes) -> None:
        tally, now = self.tally, time.perf_counter()
        sent_at, text = self.out.popleft()
        if self.accepts(text, payload):
            tally.latencies.append(now - sent_at)
        elif b'"OVERLOADED"' in payload:
            tally.shed += 1
            tally.shed_latencies.append(now - sent_at)
            if self.obeys:
                self.resume_at = now + json.loads(payload).get("retryAfterMs", 0) / 1000
        else:
            tally.wrong += 1
            tally.first_wrong = tally.first_wrong or payload[:300]

    def oldest(self, now: float) -> float:
        """Seconds the oldest request still out has waited (0: none out)."""
        return now - self.out[0][0] if self.out else 0.0


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
        make_user: how a user is made (``User``, or an ``OpenUser``).
        rejoin: a join answered ``OVERLOADED`` is sent again after its ``retryAfterMs``, as
            pacnet's clients do, until ``OPEN_TIMEOUT``; else the user counts as refused.
    """

    def __init__(
        self, server: str, url: str, texts: Texts, join: Callable[[int], bytes],
        leave: Callable[[int], bytes], make_user: Callable[..., User] = User,
        rejoin: bool = False,
    ) -> None:  # fmt: skip
        self.make_user, self.rejoin = make_user, rejoin
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
                        while self.rejoin and b'"OVERLOADED"' in reply:
                            await asyncio.sleep(json.loads(reply).get("retryAfterMs", 0) / 1000)
                            reply = await link.request(client_frame(TEXT, join, link.mask))
                except (OSError, TimeoutError) as exc:
                    refusals.append(f"{type(exc).__name__}: {exc}")
                    return
                if not self.accepts(join, reply):
                    refusals.append(reply[:300].decode(errors="replace"))
                    await link.close()
                    return
                user = self.make_user(number, link, self.texts, self.tally, self.accepts)
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
