"""The session tokens this machine's windows were given, so a window closed and opened again
within the server's keepalive timeout gets its pac-man back (same score, same lives) instead
of being refused as "already on the board".

A token is kept per server address and user, in one small JSON file under the user's state
directory (``$XDG_STATE_HOME/pacnet/sessions.json``, else ``~/.local/state/pacnet/``). It is a
convenience, never a requirement: a file that cannot be read or written keeps nothing, and
the window joins as it always did.
"""

import json
import os
from pathlib import Path

from pacnet.client.remote import CallResult, RemoteBoard
from pacnet.protocol.errors import ErrorCode
from pacnet.protocol.models import JoinReply

KEEP = 64
"""Tokens kept: the newest, one per server and user."""


def default_path() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(state) / "pacnet" / "sessions.json"


class Sessions:
    """Tokens by server and user, read from and written to ``path``."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()

    def token(self, url: str, user_id: str) -> str | None:
        token = self._read().get(_key(url, user_id))
        return token if isinstance(token, str) else None

    def remember(self, url: str, user_id: str, token: str) -> None:
        tokens = self._read()
        tokens.pop(_key(url, user_id), None)
        tokens[_key(url, user_id)] = token  # newest last
        self._write(dict(list(tokens.items())[-KEEP:]))

    def forget(self, url: str, user_id: str) -> None:
        tokens = self._read()
        if tokens.pop(_key(url, user_id), None) is not None:
            self._write(tokens)

    def _read(self) -> dict[str, object]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, tokens: dict[str, object]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_suffix(".tmp")
            partial.write_text(json.dumps(tokens, indent=1), encoding="utf-8")
            partial.replace(self.path)  # whole or not at all
        except OSError:
            pass  # nowhere to keep it: the next window joins afresh, as before


def _key(url: str, user_id: str) -> str:
    return f"{url.rstrip('/')} {user_id}"


async def join_or_resume(board: RemoteBoard, sessions: Sessions) -> CallResult[JoinReply]:
    """Join ``board``, resuming the user's last session there if this machine kept its token.

    A token the server no longer knows (it gave up on the user, or restarted without its
    state) is forgotten and the join made afresh; a new token is kept for next time. Returns
    the last join's result.
    """
    kept = sessions.token(board.url, board.user_id)
    joined = await board.join(kept) if kept is not None else None
    if joined is None or joined.code in (ErrorCode.USER_NOT_FOUND, ErrorCode.FORBIDDEN):
        if kept is not None:
            sessions.forget(board.url, board.user_id)
        joined = await board.join()
    if joined.reply is not None:
        sessions.remember(board.url, board.user_id, joined.reply.session_token)
    return joined
