"""The keepalive table made visible: the server's read-only ``/keepalive`` feed, and the
window's words for it, beside what only the client knows (that it is still here)."""

import asyncio
from collections.abc import Callable

from pacnet.client.remote import RemoteBoard
from pacnet.client.timeouts import Timeouts
from pacnet.faults.spec import Fault
from pacnet.feeds.reader import FeedWatch, keepalive_watch
from pacnet.protocol.feeds import KeepaliveView
from pacnet.protocol.outcome import Outcome
from pacnet.proxy.config import ProxyConfig
from pacnet.proxy.relay import running_proxy
from pacnet.window.hud import keepalive_lines
from tests.conftest import MS, StartServer, switch_on


async def latest_when(
    watch: FeedWatch[KeepaliveView], ready: Callable[[KeepaliveView], bool]
) -> KeepaliveView:
    """The feed's first snapshot for which ``ready`` holds (the feed sends every change)."""
    async with asyncio.timeout(3000 * MS):
        while (view := watch.latest) is None or not ready(view):
            watch.changed.clear()
            await watch.changed.wait()
    return view


async def test_the_feed_shows_who_the_server_suspects_without_a_token(
    start_server: StartServer,
) -> None:
    server = await start_server(keepalive_timeout=2.0)  # suspects after 0.4 s of silence
    assert server.url is not None
    watch = keepalive_watch(server.url)
    following = asyncio.create_task(watch.run())
    try:
        chatty = RemoteBoard(server.url, "chatty")
        quiet = RemoteBoard(server.url, "quiet")
        assert (await chatty.join()).ok
        assert (await quiet.join()).ok
        await quiet.close()
        for _ in range(8):
            assert (await chatty.ping()).ok
            await asyncio.sleep(100 * MS)
        view = await latest_when(watch, lambda v: v.suspected >= 1)
        await chatty.close()
    finally:
        following.cancel()
    assert view.users == 2
    assert view.timeout_s == 2.0
    assert view.suspect_after_s == 0.4
    (suspect,) = [entry for entry in view.shown if entry.suspected]
    assert suspect.user_id == "quiet"
    assert not suspect.connected
    assert suspect.expires_in_s < 2.0 - 0.4
    assert view.shown[0].user_id == "quiet"  # the most silent first


async def test_a_client_whose_messages_do_not_arrive_is_suspected_while_it_is_here(
    start_server: StartServer,
) -> None:
    server = await start_server(keepalive_timeout=2.0)
    assert server.url is not None
    watch = keepalive_watch(server.url)
    following = asyncio.create_task(watch.run())
    try:
        async with RemoteBoard(server.url, "alice") as alice:
            assert (await alice.join()).ok
            alice.faults.add(Fault.model_validate({"kind": "offline"}), 0.0)
            for _ in range(6):  # alice keeps playing; nothing leaves her machine
                assert (await alice.ping()).outcome is Outcome.POST_FAILED
                await asyncio.sleep(100 * MS)
            view = await latest_when(watch, lambda v: v.suspected >= 1)
    finally:
        following.cancel()
    (words, *_) = keepalive_lines(view, "alice")
    assert words.startswith("the server suspects you after")
    assert "yet you are here: your messages are not reaching it" in words


def test_the_words_for_a_table_out_of_reach_and_for_a_user_heard_recently() -> None:
    assert keepalive_lines(None, "alice") == ["keepalive: the server's table is out of reach"]
    view = KeepaliveView.model_validate(
        {"timeoutS": 10, "suspectAfterS": 2, "users": 5, "suspected": 4, "shown": [
            {"userId": u, "silentS": s, "expiresInS": 10 - s, "suspected": s >= 2,
             "connected": u != "bob"}
            for u, s in [("bob", 7.5), ("carol", 4), ("dan", 3), ("erin", 2.5), ("alice", 0.2)]
        ]}
    )  # fmt: skip
    assert keepalive_lines(view, "alice") == [
        "the server heard from you 0.2 s ago (it gives up after 10 s of silence)",
        "it suspects: bob 7.5 s (no connection), carol 4.0 s, dan 3.0 s and 1 more",
    ]


async def test_through_a_partitioned_proxy_the_truth_still_arrives(
    start_server: StartServer,
) -> None:
    """A black hole swallows the game's messages; the server's feeds, relayed untouched,
    still tell the player that the server suspects them."""
    server = await start_server(keepalive_timeout=2.0)
    assert server.url is not None
    async with running_proxy(ProxyConfig(port=0, upstream=server.url, seed=1)) as proxy:
        assert proxy.url is not None
        watch = keepalive_watch(proxy.url)
        following = asyncio.create_task(watch.run())
        try:
            async with RemoteBoard(proxy.url, "alice", timeouts=Timeouts(reply=100 * MS)) as alice:
                assert (await alice.join()).ok
                await switch_on(proxy, kind="blackhole")  # everything
                for _ in range(6):
                    assert (await alice.ping()).outcome is Outcome.UNKNOWN
                view = await latest_when(watch, lambda v: v.suspected >= 1)
        finally:
            following.cancel()
    (words, *_) = keepalive_lines(view, "alice")
    assert "yet you are here: your messages are not reaching it" in words
