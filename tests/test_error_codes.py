"""Every row of the error-code table, provoked through a real server over a real socket.

After each error the same connection must still work and the game must be untouched:
an error reply is definite, it promises that nothing changed.
"""

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from pacnet.protocol.errors import ErrorCode
from pacnet.server.game import Refusal
from pacnet.server.net import BoardServer
from pacnet.server.pipeline import Exchange, Stage
from tests.conftest import MS, RawClient, StartServer

OpenRaw = Callable[[str], Awaitable[RawClient]]

ME = "8765309"


def frame(**fields: Any) -> str:
    return json.dumps({"v": 1, "requestId": "r-1", "userId": ME, **fields})


async def joined(server: BoardServer, open_raw: OpenRaw, user: str = ME) -> RawClient:
    client = await open_raw(server.url or "")
    reply = await client.call(user, "join")
    assert reply["status"] == "ok", reply
    return client


def assert_error(reply: dict[str, Any], code: ErrorCode) -> None:
    assert reply["status"] == "error", reply
    assert reply["error"]["code"] == code.value, reply
    assert reply["error"]["retryable"] is code.retryable
    assert reply["error"]["message"]
    assert reply["v"] == 1
    assert isinstance(reply["clock"], int)


def snapshot(server: BoardServer) -> dict[str, Any]:
    """What a request could have changed: every piece's place, and who is on the board."""
    board = server.game.board
    pieces = {name: (p.x, p.y) for name, p in board._pieces.items() if p.kind != ":ghost"}
    return {"pieces": pieces, "users": sorted(server.game.sessions)}


INVALID_FRAMES = {
    "not-json": "{this is not json",
    "not-an-object": "[1, 2, 3]",
    "unknown-action": frame(action="teleport", name="pacman"),
    "missing-field": frame(action="move", name="pacman"),
    "extra-field": frame(action="find", name="pacman", cheat=True),
    "ill-typed-field": frame(action="move", name="pacman", direction=3),
    "bad-direction": frame(action="move", name="pacman", direction="north"),
    "version-as-string": frame(action="ping").replace('"v": 1', '"v": "1"'),
    "empty-request-id": frame(action="ping").replace('"r-1"', '""'),
    "binary-frame": b'{"v": 1, "requestId": "r-1", "userId": "8765309", "action": "ping"}',
    # Hostile, found from outside the project: each was INTERNAL or a dropped connection.
    "nested-1000-deep": frame(action="ping").replace(
        "}", ', "x": ' + "[" * 1000 + "]" * 1000 + "}"
    ),
    "nested-past-1024": "[" * 5000 + "]" * 5000,
    "object-nested-deep": '{"a":' * 2000 + "1" + "}" * 2000,
    "lone-surrogate-request-id": frame(action="ping").replace('"r-1"', '"\\udfff"'),
    "lone-surrogate-user-id": frame(action="ping").replace(f'"{ME}"', '"\\ud800"'),
    "lone-surrogate-name": frame(action="find", name="\udc00x"),
    "huge-number": frame(action="move", name="pacman", direction="up", seq=10**400),
    "nan": frame(action="move", name="pacman", direction="up").replace("}", ', "seq": NaN}'),
}


@pytest.mark.parametrize("raw", INVALID_FRAMES.values(), ids=INVALID_FRAMES.keys())
async def test_invalid_message_gets_an_error_and_the_connection_and_game_go_on(
    server: BoardServer, raw_client: OpenRaw, raw: str | bytes
) -> None:
    client = await joined(server, raw_client)
    before = snapshot(server)
    reply = await client.send(raw)
    assert_error(reply, ErrorCode.INVALID_MESSAGE)
    assert snapshot(server) == before
    assert (await client.call(ME, "find", name="pacman"))["status"] == "ok"


@pytest.mark.parametrize(
    ("raw", "request_id"),
    [("{broken", None), ("[]", None), (frame(action="fly"), "r-1"), ('{"requestId": 5}', None)],
    ids=["unparsable", "not-object", "readable-id", "id-not-a-string"],
)
async def test_error_reply_echoes_the_request_id_only_when_one_could_be_read(
    server: BoardServer, raw_client: OpenRaw, raw: str, request_id: str | None
) -> None:
    client = await raw_client(server.url or "")
    reply = await client.send(raw)
    assert reply["requestId"] == request_id


async def test_unsupported_version(server: BoardServer, raw_client: OpenRaw) -> None:
    client = await joined(server, raw_client)
    reply = await client.send(frame(action="find", name="pacman").replace('"v": 1', '"v": 2'))
    assert_error(reply, ErrorCode.UNSUPPORTED_VERSION)
    assert reply["requestId"] == "r-1"
    assert "v1" in reply["error"]["message"]
    assert (await client.call(ME, "ping"))["status"] == "ok"


async def test_user_who_never_joined_is_not_found(server: BoardServer, raw_client: OpenRaw) -> None:
    client = await raw_client(server.url or "")
    assert_error(await client.call(ME, "find", name="pacman"), ErrorCode.USER_NOT_FOUND)
    assert (await client.call(ME, "join"))["status"] == "ok"  # and may still join


async def test_user_who_left_is_not_found(server: BoardServer, raw_client: OpenRaw) -> None:
    client = await joined(server, raw_client)
    assert (await client.call(ME, "leave"))["status"] == "ok"
    assert_error(await client.call(ME, "ping"), ErrorCode.USER_NOT_FOUND)
    assert f"pacman-{ME}" not in snapshot(server)["pieces"]


@pytest.mark.parametrize(
    ("action", "fields"),
    [("find", {"name": "nobody"}), ("move", {"name": "nobody", "direction": "up"}),
     ("remove", {"name": "nobody"}), ("findAll", {"kind": ":fruit"})],
    ids=["find", "move", "remove", "findAll-unknown-kind"],
)  # fmt: skip
async def test_no_entity_of_that_name_is_not_found(
    server: BoardServer, raw_client: OpenRaw, action: str, fields: dict[str, str]
) -> None:
    client = await joined(server, raw_client)
    before = snapshot(server)
    assert_error(await client.call(ME, action, **fields), ErrorCode.NOT_FOUND)
    assert snapshot(server) == before


async def test_acting_as_another_user_is_forbidden(
    server: BoardServer, raw_client: OpenRaw
) -> None:
    await joined(server, raw_client, "alice")
    mallory = await joined(server, raw_client, "mallory")
    before = snapshot(server)
    assert_error(
        await mallory.call("alice", "move", name="pacman", direction="left"), ErrorCode.FORBIDDEN
    )
    assert_error(await mallory.call("alice", "leave"), ErrorCode.FORBIDDEN)
    assert snapshot(server) == before


@pytest.mark.parametrize(
    ("action", "fields"),
    [("move", {"name": "pacman-alice", "direction": "left"}), ("remove", {"name": "pacman-alice"}),
     ("remove", {"name": "blinky"}), ("move", {"name": "pellet-1-3", "direction": "up"})],
    ids=["move-another-pacman", "remove-another-pacman", "remove-a-ghost", "move-a-pellet"],
)  # fmt: skip
async def test_touching_what_is_not_yours_is_forbidden(
    server: BoardServer, raw_client: OpenRaw, action: str, fields: dict[str, str]
) -> None:
    await joined(server, raw_client, "alice")
    mallory = await joined(server, raw_client, "mallory")
    before = snapshot(server)
    assert_error(await mallory.call("mallory", action, **fields), ErrorCode.FORBIDDEN)
    assert snapshot(server) == before


async def test_joining_as_a_present_user_without_the_token_is_forbidden(
    server: BoardServer, raw_client: OpenRaw
) -> None:
    first = await raw_client(server.url or "")
    token = (await first.call(ME, "join"))["sessionToken"]
    second = await raw_client(server.url or "")
    assert_error(await second.call(ME, "join"), ErrorCode.FORBIDDEN)
    assert_error(await second.call(ME, "join", token="guessed"), ErrorCode.FORBIDDEN)
    assert_error(await second.call(ME, "ping"), ErrorCode.FORBIDDEN)
    resumed = await second.call(ME, "join", token=token)
    assert resumed["status"] == "ok"
    assert resumed["name"] == f"pacman-{ME}"
    assert_error(await first.call(ME, "ping"), ErrorCode.FORBIDDEN)  # the old one lost it


async def test_a_burst_past_the_bucket_is_throttled_with_retry_after(
    start_server: StartServer, raw_client: OpenRaw
) -> None:
    server = await start_server(rate=5, burst=3)
    client = await joined(server, raw_client)
    replies = [await client.call(ME, "ping") for _ in range(4)]
    assert [r["status"] for r in replies] == ["ok", "ok", "ok", "error"]
    assert_error(replies[-1], ErrorCode.THROTTLED)
    assert 0 < replies[-1]["retryAfterMs"] <= 200
    await asyncio.sleep(replies[-1]["retryAfterMs"] / 1000 + 20 * MS)
    assert (await client.call(ME, "ping"))["status"] == "ok"


async def test_a_full_board_sheds_joins_as_overloaded(
    start_server: StartServer, raw_client: OpenRaw
) -> None:
    server = await start_server(max_users=1)
    alice = await joined(server, raw_client, "alice")
    bob = await raw_client(server.url or "")
    assert_error(await bob.call("bob", "join"), ErrorCode.OVERLOADED)
    assert (await alice.call("alice", "leave"))["status"] == "ok"
    assert (await bob.call("bob", "join"))["status"] == "ok"  # retrying later works


def refuse_update(code: ErrorCode) -> Callable[[Stage, Exchange], None]:
    """A stage hook (the fault-injection point) that refuses at UPDATE_STATE."""

    def hook(stage: Stage, exchange: Exchange) -> None:
        if (
            stage is Stage.UPDATE_STATE
            and exchange.request
            and exchange.request["action"] == "move"
        ):
            raise Refusal(code, "the state update did not happen")

    return hook


async def test_another_connection_cannot_drain_a_users_bucket(
    start_server: StartServer, raw_client: OpenRaw
) -> None:
    server = await start_server(rate=0.1, burst=3)
    victim = await joined(server, raw_client, "victim")
    attacker = await raw_client(server.url or "")
    for _ in range(5):
        await attacker.call("victim", "ping")  # refused, and spent from the attacker's bucket
    assert (await victim.call("victim", "ping"))["status"] == "ok"


async def test_failed_state_update_is_retryable_and_changes_nothing(
    start_server: StartServer, raw_client: OpenRaw
) -> None:
    server = await start_server(hooks=(refuse_update(ErrorCode.STATE_UPDATE_FAILED),))
    client = await joined(server, raw_client)
    before = snapshot(server)
    assert_error(
        await client.call(ME, "move", name="pacman", direction="left"),
        ErrorCode.STATE_UPDATE_FAILED,
    )
    assert snapshot(server) == before
    assert (await client.call(ME, "find", name="pacman"))["status"] == "ok"


def crash_at(crash_stage: Stage) -> Callable[[Stage, Exchange], None]:
    """A stage hook standing in for a server bug at ``crash_stage`` of a ``move``."""

    def hook(stage: Stage, exchange: Exchange) -> None:
        if stage is crash_stage and exchange.request and exchange.request["action"] == "move":
            raise RuntimeError("a bug")

    return hook


async def test_a_bug_before_the_update_is_internal_and_logged(
    start_server: StartServer, raw_client: OpenRaw, capsys: pytest.CaptureFixture[str]
) -> None:
    server = await start_server(hooks=(crash_at(Stage.REFRESH_KEEPALIVE),))
    client = await joined(server, raw_client)
    before = snapshot(server)
    reply = await client.call(ME, "move", name="pacman", direction="left")
    assert_error(reply, ErrorCode.INTERNAL)
    assert snapshot(server) == before
    assert (await client.call(ME, "ping"))["status"] == "ok"
    logged = capsys.readouterr().out
    assert "request_crashed" in logged
    assert reply["requestId"] in logged


async def test_a_bug_after_the_update_began_gets_no_reply_at_all(
    start_server: StartServer, raw_client: OpenRaw
) -> None:
    """Never a definite error under indefinite conditions: the client must see UNKNOWN."""
    server = await start_server(hooks=(crash_at(Stage.REPLY),))
    client = await joined(server, raw_client)
    await client.ws.send(frame(action="move", name="pacman", direction="left"))
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(200 * MS):
            await client.ws.recv()
    assert (await client.call(ME, "ping"))["status"] == "ok"
