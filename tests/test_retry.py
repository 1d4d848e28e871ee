"""The retry policy, outcome by outcome, against a real server whose faults decide how each
attempt ends. Waits come from a seeded random source and a recording sleep, so they are
exact; one test sleeps for real, where the server's clock (its throttle) must see the wait."""

import asyncio
import random
from collections import Counter

import pytest

from pacnet.client.remote import RemoteBoard
from pacnet.client.retry import Reconnects, RetryPolicy
from pacnet.faults.admin import AdminClient
from pacnet.faults.spec import Fault
from pacnet.protocol.errors import ErrorCode
from pacnet.protocol.outcome import Outcome
from pacnet.proxy.config import ProxyConfig
from pacnet.proxy.relay import running_proxy
from pacnet.server.net import BoardServer
from tests.conftest import MS, Acted, StartServer, switch_on

ME = "8765309"
SEED = 7


class Sleeps:
    """A sleep that records how long it was asked to wait, and does not."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


def policy(**overrides: float) -> RetryPolicy:
    settings = {"attempt_timeout": 300 * MS, "deadline": 5.0} | overrides
    return RetryPolicy(**settings)  # type: ignore[arg-type]


def board(server: BoardServer, sleeps: Sleeps, rules: RetryPolicy | None = None) -> RemoteBoard:
    assert server.url is not None
    return RemoteBoard(
        server.url, ME, policy=rules or policy(), rng=random.Random(SEED), sleep=sleeps
    )


def test_backoff_is_capped_exponential_with_full_jitter() -> None:
    rules = RetryPolicy(base=0.05, cap=0.3)
    rng, same = random.Random(SEED), random.Random(SEED)
    waits = [rules.backoff(n, rng, throttled=False, retry_after=None) for n in range(1, 7)]
    expected = [same.uniform(0, min(0.3, 0.05 * 2 ** (n - 1))) for n in range(1, 7)]
    assert waits == expected
    assert all(0 <= w <= 0.3 for w in waits)
    assert rules.backoff(1, rng, throttled=False, retry_after=0.5) == 0.5  # the server's word
    assert rules.backoff(1, random.Random(1), throttled=True, retry_after=None) <= 0.2


async def test_retryable_is_retried_after_jittered_waits(start_server: StartServer) -> None:
    server = await start_server()
    sleeps = Sleeps()
    async with board(server, sleeps) as remote:
        assert (await remote.join()).ok
        await switch_on(server, kind="update_fails", action="move", count=2)
        result = await remote.move("pacman", "right")
    assert result.outcome is Outcome.SUCCESS
    assert [a.outcome for a in result.attempts] == [
        Outcome.RETRYABLE, Outcome.RETRYABLE, Outcome.SUCCESS,
    ]  # fmt: skip
    rng, rules = random.Random(SEED), policy()
    expected = [rules.backoff(n, rng, throttled=False, retry_after=None) for n in (1, 2)]
    assert sleeps.waits == expected
    assert [a.wait for a in result.attempts] == [0.0, *expected]
    assert remote.tally.count("move", Outcome.SUCCESS) == 1  # one call
    assert remote.attempts.count("move", Outcome.RETRYABLE) == 2  # three attempts


async def test_fatal_is_never_retried(start_server: StartServer) -> None:
    server = await start_server()
    sleeps = Sleeps()
    async with board(server, sleeps) as remote:
        assert (await remote.join()).ok
        await switch_on(server, kind="reject", action="move")
        result = await remote.move("pacman", "right")
    assert result.outcome is Outcome.FATAL
    assert len(result.attempts) == 1
    assert sleeps.waits == []


async def test_unknown_is_retried_with_the_same_request_id_and_applied_once(
    start_server: StartServer,
) -> None:
    acted = Acted()
    server = await start_server(hooks=(acted,))
    sleeps = Sleeps()
    async with board(server, sleeps) as remote:
        assert (await remote.join()).ok
        await switch_on(server, kind="no_reply", action="remove", count=1)
        result = await remote.remove()
    assert [a.outcome for a in result.attempts] == [Outcome.UNKNOWN, Outcome.SUCCESS]
    assert result.reply is not None
    assert result.reply.removed is True  # the first attempt's answer, from the server's memory
    assert acted.times[result.request_id] == 1


async def test_post_failed_is_retried_for_free(start_server: StartServer) -> None:
    server = await start_server()
    sleeps = Sleeps()
    async with board(server, sleeps) as remote:
        assert (await remote.join()).ok
        remote.faults.add(Fault.model_validate({"kind": "offline", "count": 2}), 0.0)
        result = await remote.find()
    assert [a.outcome for a in result.attempts] == [
        Outcome.POST_FAILED, Outcome.POST_FAILED, Outcome.SUCCESS,
    ]  # fmt: skip
    assert remote.budget.tokens == remote.budget.capacity  # nothing reached the server


async def test_a_dropped_connection_is_reopened_and_the_session_resumed(
    start_server: StartServer,
) -> None:
    server = await start_server()
    assert server.url is not None
    async with RemoteBoard(server.url, ME, policy=policy(), rng=random.Random(SEED)) as remote:
        assert (await remote.join()).ok
        await switch_on(server, kind="crash", crash="abort", action="move", count=1)
        result = await remote.move("pacman", "left")
        after = await remote.find()
    # The retry waits for the first reconnection try (jittered: a crowd must not come back
    # at once), then reconnects and resumes.
    assert [a.outcome for a in result.attempts] == [Outcome.UNKNOWN, Outcome.SUCCESS]
    assert result.attempts[1].wait <= 0.1
    assert remote.tally.count("join", Outcome.SUCCESS) == 2  # the join, then the resume
    assert after.ok
    pacman = server.game.board.get(f"pacman-{ME}")
    assert pacman is not None
    assert pacman.wanted == "left"


async def test_throttled_waits_at_least_as_long_as_the_server_asks(
    start_server: StartServer,
) -> None:
    server = await start_server(rate=2, burst=2)  # a token every 500 ms
    assert server.url is not None
    async with RemoteBoard(server.url, ME, policy=policy(), rng=random.Random(SEED)) as remote:
        assert (await remote.join()).ok  # spent from the connection's bucket, before joining
        assert (await remote.ping()).ok
        assert (await remote.ping()).ok  # the user's two tokens are spent
        result = await remote.ping()  # THROTTLED, then a real wait
    assert [a.outcome for a in result.attempts] == [Outcome.RETRYABLE, Outcome.SUCCESS]
    assert result.attempts[0].code is ErrorCode.THROTTLED
    assert result.attempts[1].wait >= 0.2  # the server's retryAfterMs, not a 50 ms jitter


async def test_one_deadline_covers_every_attempt(start_server: StartServer) -> None:
    server = await start_server()
    rules = policy(attempt_timeout=300 * MS, deadline=500 * MS)
    async with RemoteBoard(server.url or "", ME, policy=rules, rng=random.Random(SEED)) as remote:
        assert (await remote.join()).ok
        await switch_on(server, kind="no_reply", action="find")  # a read: run every time
        result = await remote.find()
    assert result.outcome is Outcome.UNKNOWN
    # 300 ms for the first attempt, the rest of the 500 for the second: not 3 x 300 ms.
    assert [a.outcome for a in result.attempts] == [Outcome.UNKNOWN, Outcome.UNKNOWN]
    assert result.latency < 500 * MS + 0.15


async def test_an_empty_budget_makes_calls_fail_fast(start_server: StartServer) -> None:
    server = await start_server()
    sleeps = Sleeps()
    async with board(server, sleeps, policy(budget=4)) as remote:
        assert (await remote.join()).ok
        await switch_on(server, kind="update_fails", action="move")
        first = await remote.move("pacman", "up")
        second = await remote.move("pacman", "up")
    assert len(first.attempts) == 2  # 4 tokens; a retry needs more than half: one retry
    assert len(second.attempts) == 1  # the sick server is not hit again
    assert second.outcome is Outcome.RETRYABLE


@pytest.mark.parametrize(
    ("field", "value", "complaint"),
    [
        ("max_attempts", 0, "at least 1 attempt"),
        ("deadline", 0, "deadline must be > 0"),
        ("cap", -1, "cap must be > 0"),
        ("budget", 0, "budget must be > 0"),
    ],
)
def test_a_policy_that_makes_no_sense_is_refused(field: str, value: float, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        RetryPolicy(**{field: value})  # type: ignore[arg-type]


# --- reconnecting ---


def test_reconnect_waits_grow_with_each_failure_and_are_capped() -> None:
    reconnects = Reconnects(base=0.1, cap=1.0)
    rng, same = random.Random(SEED), random.Random(SEED)
    waits = [reconnects.failed(0.0, "refused", rng) for _ in range(7)]
    expected = [same.uniform(0, min(1.0, 0.1 * 2**n)) for n in range(7)]
    assert waits == expected
    reconnects.succeeded()
    assert reconnects.failures == 0
    reconnects.check(0.0)  # no wait after a success


def test_a_crowd_that_lost_its_server_comes_back_spread_out() -> None:
    """500 clients fail to reconnect at the same moment, each with its own random source:
    their next tries fill the backoff window instead of arriving as one wave."""
    window = 0.1 * 2**3  # the fourth failure in a row: up to 800 ms
    nexts = []
    for seed in range(500):
        reconnects = Reconnects(base=0.1, cap=5.0)
        rng = random.Random(seed)
        for _ in range(4):
            wait = reconnects.failed(0.0, "refused", rng)
        nexts.append(wait)
    buckets = Counter(min(9, int(t / window * 10)) for t in nexts)
    assert max(nexts) - min(nexts) > 0.9 * window
    assert max(buckets.values()) < 500 * 0.2  # no tenth of the window takes a fifth of them


async def test_a_client_that_cannot_connect_backs_off_instead_of_hammering(
    closed_port: int,
) -> None:
    async with RemoteBoard(f"ws://127.0.0.1:{closed_port}", ME, rng=random.Random(SEED)) as board:
        first = await board.find()
        second = await board.find()  # at once: too soon to try again
        assert board.reconnects.tried == 1
        await asyncio.sleep(board.reconnects.not_before - asyncio.get_running_loop().time())
        third = await board.find()
    assert first.outcome is second.outcome is third.outcome is Outcome.POST_FAILED
    assert "connection refused" in first.message
    assert second.message.startswith("not reconnecting yet (next try in")
    assert "last try: cannot connect" in second.message
    assert board.reconnects.tried == 2  # the third call tried again, once the wait was over


async def test_after_a_cut_and_refused_reconnections_the_session_resumes(
    start_server: StartServer,
) -> None:
    """The network cuts the connection, then refuses the first reconnections: the client
    backs off, gets through, and resumes its session with its token: the same pac-man."""
    server = await start_server()
    assert server.url is not None
    async with running_proxy(ProxyConfig(port=0, upstream=server.url, seed=1)) as proxy:
        assert proxy.url is not None
        async with AdminClient(proxy.url, proxy.admin.token) as admin:
            remote = RemoteBoard(proxy.url, ME, policy=policy(), rng=random.Random(SEED))
            async with remote:
                assert (await remote.join()).ok
                token, pacman = remote.session_token, remote.pacman
                assert (await admin.add({"kind": "reset", "direction": "reply", "count": 1})).ok
                assert (await admin.add({"kind": "refuse", "count": 2})).ok
                results = []
                for _ in range(100):  # until the backoff lets a try through, and it resumes
                    results.append(await remote.find())
                    if results[-1].ok:
                        break
                    await asyncio.sleep(0.05)
    assert results[0].attempts[0].outcome is Outcome.UNKNOWN  # the reply cut off with the line
    assert results[-1].ok
    assert remote.reconnects.tried >= 3  # two refused, then one that got through
    assert remote.session_token == token
    assert remote.pacman == pacman
    assert ME in server.game.sessions


# --- staying alive ---


async def test_an_idle_client_that_keeps_alive_is_not_given_up_on(
    start_server: StartServer,
) -> None:
    server = await start_server(keepalive_timeout=0.6)
    assert server.url is not None
    async with RemoteBoard(server.url, "quiet") as quiet, RemoteBoard(server.url, "kept") as kept:
        assert (await quiet.join()).ok
        assert (await kept.join()).ok
        alive = asyncio.create_task(kept.keep_alive(every=0.2))
        await asyncio.sleep(1.5)  # neither makes a call of its own
        alive.cancel()
        pings = kept.tally.count("ping", Outcome.SUCCESS)
    assert "kept" in server.game.sessions
    assert "quiet" not in server.game.sessions  # the server gave up on the silent one
    assert 4 <= pings <= 10  # about one per 0.2 s of silence, not a flood


async def test_keep_alive_stays_quiet_while_the_client_calls_anyway(
    start_server: StartServer,
) -> None:
    server = await start_server()
    assert server.url is not None
    async with RemoteBoard(server.url, "busy") as busy:
        assert (await busy.join()).ok
        alive = asyncio.create_task(busy.keep_alive(every=0.3))
        for _ in range(10):
            assert (await busy.find()).ok
            await asyncio.sleep(0.1)
        alive.cancel()
    assert busy.tally.count("ping", Outcome.SUCCESS) == 0
