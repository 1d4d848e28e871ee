"""A window closed and opened again within the keepalive timeout gets its pac-man back: the
client keeps the session token on disk (``pacnet.client.sessions``)."""

from pathlib import Path

from pacnet.client.remote import RemoteBoard
from pacnet.client.sessions import Sessions, join_or_resume
from pacnet.protocol.errors import ErrorCode
from pacnet.server.net import BoardServer


async def test_a_window_opened_again_resumes_its_pac_man(
    server: BoardServer, tmp_path: Path
) -> None:
    assert server.url is not None
    sessions = Sessions(tmp_path / "sessions.json")
    async with RemoteBoard(server.url, "alice") as first:
        joined = await join_or_resume(first, sessions)
        assert joined.reply is not None
        assert not joined.reply.resumed
    # The first window is closed; the server keeps alice until her keepalive runs out.
    async with RemoteBoard(server.url, "alice") as forgetful:
        refused = await forgetful.join()
        assert refused.code is ErrorCode.FORBIDDEN  # without the token: "already on the board"
    async with RemoteBoard(server.url, "alice") as again:
        resumed = await join_or_resume(again, sessions)
        assert resumed.reply is not None
        assert resumed.reply.resumed
        assert resumed.reply.name == joined.reply.name


async def test_a_token_the_server_no_longer_knows_is_forgotten_and_the_join_made_afresh(
    server: BoardServer, tmp_path: Path
) -> None:
    assert server.url is not None
    sessions = Sessions(tmp_path / "sessions.json")
    sessions.remember(server.url, "bob", "a-token-of-a-server-long-gone")
    async with RemoteBoard(server.url, "bob") as board:
        joined = await join_or_resume(board, sessions)
    assert joined.reply is not None
    assert not joined.reply.resumed
    assert sessions.token(server.url, "bob") == joined.reply.session_token


async def test_nowhere_to_keep_tokens_keeps_nothing_and_still_joins(
    server: BoardServer, tmp_path: Path
) -> None:
    assert server.url is not None
    (tmp_path / "pacnet").write_text("a file where the folder should be")
    sessions = Sessions(tmp_path / "pacnet" / "sessions.json")
    async with RemoteBoard(server.url, "carol") as board:
        assert (await join_or_resume(board, sessions)).ok
    assert sessions.token(server.url, "carol") is None


def test_tokens_are_kept_per_server_and_user_and_the_oldest_go_first(tmp_path: Path) -> None:
    sessions = Sessions(tmp_path / "sessions.json")
    sessions.remember("ws://a:1", "alice", "t1")
    sessions.remember("ws://b:1", "alice", "t2")
    assert (sessions.token("ws://a:1", "alice"), sessions.token("ws://b:1", "alice")) == (
        "t1",
        "t2",
    )
    for n in range(70):
        sessions.remember("ws://c:1", f"user{n}", f"t{n}")
    assert sessions.token("ws://a:1", "alice") is None  # the oldest went first
    assert sessions.token("ws://c:1", "user69") == "t69"
