"""Seekers: players who find their room through the lobby, the traffic of the catalog
server's epidemic (``pacnet cluster seek``, ``docs/cluster.md``).

A seeker arrives, asks the lobby (``GET /lobby`` on a connection of its own, so the balancer
chooses a server for every ask), joins the fullest room with space, stays a moment, leaves,
and comes again. The lobby is the group's replicated tier: HAProxy balances it over every
server by leastconn, which favours whichever answers soonest.

An ask is a remote call like any other, and ends in one of the article's five outcomes:
nothing listening is POST_FAILED, a 503 RETRYABLE, no answer in time or an unreadable one
UNKNOWN. A well-formed answer is SUCCESS, unless the seeker validates it (step 7): a lobby
with no room, while the seeker knows rooms exist, is not a true answer. A validating seeker
(the default) takes it as UNKNOWN and asks again, on a new connection; after ``ASKS`` tries
it goes to a room it knows. A trusting seeker (``trust=True``) believes it and opens a room of
its own: a needless room, the epidemic's harm, and past a server's ``--max-rooms`` a join
that fails.
"""

import asyncio
import copy
import random
from collections import Counter
from dataclasses import dataclass, field, fields
from urllib.parse import urlsplit

from pydantic import ValidationError

from pacnet.client.remote import RemoteBoard
from pacnet.client.timeouts import Timeouts
from pacnet.protocol.lobby import LobbyRoom, LobbyView
from pacnet.protocol.outcome import Outcome
from pacnet.protocol.rooms import LOBBY_PATH, room_url

ASKS = 4
"""Times a validating seeker asks the lobby before it goes to a room it knows."""
ASK_TIMEOUT = 2.0
"""Seconds an ask may take, connecting included, before it is UNKNOWN."""
ASK_PAUSE = 0.05
"""Seconds, at most (drawn evenly), between a validating seeker's asks."""


@dataclass(frozen=True)
class Answer:
    """One ask of the lobby: how it ended, and the lobby it read (when it read one)."""

    outcome: Outcome
    lobby: LobbyView | None = None
    why: str = ""


async def ask_lobby(host: str, port: int, within: float = ASK_TIMEOUT) -> Answer:
    """``GET /lobby`` at ``host:port`` on a connection of its own, connected within
    ``within`` seconds and answered within as many again."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), within)
    except TimeoutError:
        return Answer(Outcome.UNKNOWN, why="no connection in time")
    except OSError as exc:
        return Answer(Outcome.POST_FAILED, why=f"cannot connect: {exc.strerror or exc}")
    try:
        request = f"GET {LOBBY_PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
        writer.write(request.encode())
        raw = await asyncio.wait_for(reader.read(), within)
    except TimeoutError:
        return Answer(Outcome.UNKNOWN, why="no answer in time")
    except OSError as exc:
        return Answer(Outcome.UNKNOWN, why=f"the connection broke: {exc.strerror or exc}")
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1] if head.count(b" ") >= 1 else b""
    if status == b"503":
        said = body.decode(errors="replace").strip().splitlines()
        return Answer(Outcome.RETRYABLE, why=f"503: {said[-1] if said else 'no reason given'}")
    if status != b"200":
        return Answer(Outcome.UNKNOWN, why=f"HTTP {status.decode(errors='replace') or '?'}")
    try:
        return Answer(Outcome.SUCCESS, LobbyView.model_validate_json(body))
    except ValidationError:
        return Answer(Outcome.UNKNOWN, why="an answer that is not a lobby")


@dataclass
class SeekCounts:
    """What a crowd of seekers did, and what the lobby told them."""

    asks: int = 0
    outcomes: Counter[Outcome] = field(default_factory=Counter)
    """Every ask by its outcome (an empty lobby a seeker refused is UNKNOWN)."""
    answered_by: Counter[str] = field(default_factory=Counter)
    """Well-formed answers by the server that gave them (``LobbyView.server``)."""
    empty_by: Counter[str] = field(default_factory=Counter)
    """Of them, those that listed no room."""
    refused: int = 0
    """Empty answers a validating seeker refused (step 7) and asked again."""
    joined: int = 0
    """Joins into a room the lobby listed, or one the seeker knew."""
    known: int = 0
    """Of them, into a room the seeker knew after the lobby kept answering wrong."""
    opened: int = 0
    """Rooms opened because the lobby listed none: needless while other rooms had space."""
    failed: int = 0
    """Joins that did not succeed (the room refused: a server at its most rooms...)."""
    why: Counter[str] = field(default_factory=Counter)
    """Why asks that read no lobby and joins that failed did, by what was said."""

    def share(self, server: str) -> float:
        """``server``'s share of the well-formed answers."""
        total = sum(self.answered_by.values())
        return self.answered_by[server] / total if total else 0.0

    def copy(self) -> "SeekCounts":
        return copy.deepcopy(self)

    def since(self, before: "SeekCounts") -> "SeekCounts":
        """What was counted after ``before`` (a copy of these counts, taken earlier)."""
        return SeekCounts(
            **{f.name: getattr(self, f.name) - getattr(before, f.name) for f in fields(self)}
        )

    def as_json(self) -> dict[str, object]:
        return {
            "asks": self.asks, "outcomes": {o.value: n for o, n in self.outcomes.items()},
            "answeredBy": dict(self.answered_by), "emptyBy": dict(self.empty_by),
            "refused": self.refused, "joined": self.joined, "known": self.known,
            "opened": self.opened, "failed": self.failed, "why": dict(self.why),
        }  # fmt: skip


@dataclass(frozen=True)
class SeekPlan:
    """A crowd of seekers against the group at ``url`` (``ws://HOST:PORT``)."""

    url: str
    seekers: int = 20
    stay: float = 0.2
    """Seconds a seeker stays in its room before it leaves and seeks again."""
    trust: bool = False
    """Whether seekers believe an empty lobby (no validation at step 7)."""
    tag: str = "seek"
    """Seeker N's user ids are ``{tag}-N-V`` (its visit V), the rooms it opens
    ``{tag}-N-K``."""
    seed: int = 0


class Seeker:
    """One player who finds a room through the lobby, again and again."""

    def __init__(self, index: int, plan: SeekPlan, counts: SeekCounts) -> None:
        self.index = index
        self.plan = plan
        self.counts = counts
        self.known: list[LobbyRoom] = []
        """The rooms of the last lobby that listed any: what this seeker knows exists."""
        self._opened = 0
        self._visits = 0
        self._rng = random.Random(f"pacnet-seek:{plan.seed}:{index}")
        address = urlsplit(plan.url)
        self._host, self._port = address.hostname or "127.0.0.1", address.port or 80

    async def run(self, stop: asyncio.Event) -> None:
        """Seek, play, leave, until ``stop`` is set (or the task is cancelled)."""
        await asyncio.sleep(self._rng.uniform(0, max(self.plan.stay, 0.1)))  # spread out
        while not stop.is_set():
            room = await self.seek()
            if room is not None:
                await self.visit(room)
            else:
                await asyncio.sleep(self._rng.uniform(0, ASK_PAUSE))

    async def seek(self) -> str | None:
        """The room to go to, as the lobby (or, when it keeps answering wrong, what the
        seeker knows) says; None if the lobby could not be read at all."""
        for _ in range(1 if self.plan.trust else ASKS):
            answer = await ask_lobby(self._host, self._port)
            self.counts.asks += 1
            lobby = answer.lobby
            if lobby is None:
                self.counts.outcomes[answer.outcome] += 1
                self.counts.why[f"the lobby: {answer.why}"] += 1
                await asyncio.sleep(self._rng.uniform(0, ASK_PAUSE))
                continue
            self.counts.answered_by[lobby.server] += 1
            if not lobby.rooms:
                self.counts.empty_by[lobby.server] += 1
                if self.known and not self.plan.trust:
                    self.counts.outcomes[Outcome.UNKNOWN] += 1  # invalid at step 7
                    self.counts.refused += 1
                    await asyncio.sleep(self._rng.uniform(0, ASK_PAUSE))
                    continue
            self.counts.outcomes[Outcome.SUCCESS] += 1
            if lobby.rooms:
                self.known = lobby.rooms
                return self._pick(lobby.rooms)
            self._opened += 1
            self.counts.opened += 1
            return f"{self.plan.tag}-{self.index}-{self._opened}"
        if self.known:
            self.counts.known += 1
            return self._pick(self.known)
        return None

    def _pick(self, rooms: list[LobbyRoom]) -> str:
        """The fullest room with space (players go where players are); any, if none has."""
        open_ = [room for room in rooms if room.players < room.capacity] or rooms
        most = max(room.players for room in open_)
        return self._rng.choice([room.name for room in open_ if room.players == most])

    async def visit(self, room: str) -> None:
        """Join ``room``, stay, leave."""
        self._visits += 1
        user = f"{self.plan.tag}-{self.index}-{self._visits}"
        url = room_url(self.plan.url, room)
        board = RemoteBoard(url, user, timeouts=Timeouts(), rng=self._rng)
        try:
            joined = await board.join()
            if not joined.ok:
                self.counts.failed += 1
                # (counted by what was said, not by which room said it: one line per reason)
                said = joined.describe().replace(url, "the room").replace(f" {room} ", " ")
                self.counts.why[f"join: {said}"] += 1
                await asyncio.sleep(self._rng.uniform(0, ASK_PAUSE))
                return
            self.counts.joined += 1
            await asyncio.sleep(self.plan.stay)
            await board.leave()
        finally:
            await board.close()


async def seek(plan: SeekPlan, counts: SeekCounts, stop: asyncio.Event) -> None:
    """Run ``plan``'s seekers until ``stop`` is set, counting into ``counts``."""
    async with asyncio.TaskGroup() as tasks:
        seekers = [
            tasks.create_task(Seeker(i, plan, counts).run(stop)) for i in range(plan.seekers)
        ]
        await stop.wait()
        for task in seekers:  # (a cancel lost in a race inside wait_for, as Python 3.11's
            task.cancel()  # can lose one, still ends the seeker: it looks at stop each turn)


def summary(counts: SeekCounts, seconds: float) -> str:
    """One line: the shares of the lobby's answers, the empty ones, and the harm."""
    shares = " ".join(
        f"{server} {counts.share(server):.0%}" for server in sorted(counts.answered_by)
    )
    answered = sum(counts.answered_by.values())
    empty = sum(counts.empty_by.values())
    line = (
        f"{counts.asks / max(seconds, 1e-9):.0f} asks/s, answered by {shares or '-'}; "
        f"empty {empty / answered if answered else 0:.0%}, refused {counts.refused}; "
        f"joined {counts.joined} (of them {counts.known} in a known room), "
        f"opened {counts.opened} (the lobby listed none), failed {counts.failed}"
    )
    unread = counts.asks - answered
    lobby = [(why, n) for why, n in counts.why.most_common() if why.startswith("the lobby: ")]
    if unread and lobby:
        line += f"; {unread} asks read no lobby ({lobby[0][0].removeprefix('the lobby: ')})"
    return line
