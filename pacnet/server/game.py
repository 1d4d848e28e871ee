"""The game: users, their sessions and pac-men, on one board. No I/O, no wall clock.

Every action checks everything it needs before it changes anything, and raises
``Refusal`` only before a change: an error reply built from a Refusal is definite.
"""

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pacnet.protocol.errors import ErrorCode
from pacnet.protocol.feeds import KeepaliveEntry, KeepaliveView
from pacnet.protocol.models import OWN_PACMAN
from pacnet.server.board import Board
from pacnet.server.config import ServerLimits
from pacnet.server.idempotency import IdempotencyCache
from pacnet.server.keepalive import KeepaliveTable, suspect_after_s
from pacnet.server.pieces import KINDS, Piece, pacman_name
from pacnet.server.reports import Reports
from pacnet.server.throttle import Throttle


class Refusal(Exception):
    """The game refuses a request; nothing was changed. Becomes an error reply."""

    def __init__(self, code: ErrorCode, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after


@dataclass(slots=True)
class Session:
    """A joined user: their secret for resuming, and the connection acting as them."""

    user_id: str
    token: str
    connection: int | None
    """Id of the connection that acts as this user; None once it closed."""
    pacman: str = field(init=False)
    """The name of their pac-man (made once: every ``find`` of "pacman" reads it)."""

    def __post_init__(self) -> None:
        self.pacman = pacman_name(self.user_id)


class Game:
    """Users playing on one board.

    Args:
        board: the board they play on.
        limits: keepalive and throttle settings.
        new_token: makes session tokens (unguessable by default; tests pass their own).
    """

    def __init__(
        self,
        board: Board,
        limits: ServerLimits,
        *,
        new_token: Callable[[], str] = lambda: secrets.token_urlsafe(16),
    ) -> None:
        self.board = board
        self.limits = limits
        self.keepalive = KeepaliveTable(limits.keepalive_timeout)
        self.reports = Reports()
        """How the players' calls ended, as they report them (the projector's view)."""
        self.throttle = Throttle(limits.rate, limits.burst)
        self.sessions: dict[str, Session] = {}
        self.replies = IdempotencyCache()
        """Replies to recent mutations, so a retried request is answered, not run again."""
        self._new_token = new_token

    # --- checks that come before any action (the article's handler shape) ---

    def session_for(self, user_id: str, connection: int) -> Session:
        """The session of ``user_id`` if ``connection`` acts as them, else a refusal."""
        session = self.sessions.get(user_id)
        if session is None:
            raise Refusal(
                ErrorCode.USER_NOT_FOUND,
                f"user {user_id!r} is not on the board (never joined, left, or expired)",
            )
        if session.connection != connection:
            raise Refusal(
                ErrorCode.FORBIDDEN,
                f"this connection does not act as user {user_id!r}; "
                "join with its sessionToken to resume it here",
            )
        return session

    # --- actions ---

    def join(
        self,
        user_id: str,
        token: str | None,
        connection: int,
        now: float,
        crowded: float | None = None,
    ) -> tuple[Session, Piece, bool]:
        """Put ``user_id`` on the board, or resume them on ``connection`` with ``token``.
        ``crowded``: the server is overloaded, and a new user is told to come back in that
        many seconds (a user already here resumes as usual).

        Returns the session, the user's pac-man (on the board, or caught and about to come
        back) and whether the session was already there (resumed: same pac-man, same score).
        Joining again as yourself on the same connection is safe: it returns the same
        session, and starts a new game if your last one is over.
        """
        session = self.sessions.get(user_id)
        resumed = session is not None
        if session is None:
            if token is not None:
                raise Refusal(
                    ErrorCode.USER_NOT_FOUND,
                    f"no session of user {user_id!r} to resume (it expired or left); "
                    "join without a token to start again",
                )
            if crowded is not None:
                raise Refusal(
                    ErrorCode.OVERLOADED,
                    "the server is overloaded: it takes no new players until it catches up",
                    retry_after=crowded,
                )
            if len(self.sessions) >= self.limits.max_users:
                raise Refusal(
                    ErrorCode.OVERLOADED,
                    f"the board is full ({self.limits.max_users} users); try again later",
                )
            session = Session(user_id, self._new_token(), connection)
            self.sessions[user_id] = session
        elif session.connection != connection:
            if token is None or not secrets.compare_digest(token, session.token):
                raise Refusal(
                    ErrorCode.FORBIDDEN,
                    f"user {user_id!r} is already on the board (another window, or one gone "
                    f"less than {self.limits.keepalive_timeout:g} s ago); resuming needs its "
                    "sessionToken",
                )
            session.connection = connection
        pacman = self.board.add_pacman(user_id)
        self.keepalive.refresh(user_id, now)
        return session, pacman, resumed

    def find(self, session: Session, name: str) -> Piece:
        """The piece called ``name`` (``pacman`` is the caller's own)."""
        return self._existing(self._resolve(session, name))

    def move(self, session: Session, name: str, direction: str, seq: int | None = None) -> Piece:
        """Steer the caller's own pac-man toward ``direction`` (it moves on the ticks).

        A numbered move (``seq``) at or below the last one applied is a late copy of an input
        already overtaken: it is acknowledged and ignored, so a delayed "left" cannot undo
        the "up" the player pressed after it.
        """
        piece = self._own(session, self._resolve(session, name), "move")
        if seq is not None:
            if piece.last_seq is not None and seq <= piece.last_seq:
                return piece
            piece.last_seq = seq
        return self.board.steer(piece, direction)

    def find_all(self, kind: str) -> list[Piece]:
        """Every piece of ``kind``; an unknown kind is refused, so typos do not look empty."""
        if kind not in KINDS:
            raise Refusal(
                ErrorCode.NOT_FOUND, f"no kind {kind!r} on this board; kinds: {', '.join(KINDS)}"
            )
        return list(self.board.all_of(kind))

    def remove(self, session: Session, name: str) -> bool:
        """The article's ``board.remove(pacman)``: the caller's own pac-man is caught (a life
        lost; back at the start in a moment if one is left).

        Returns False, not an error, when it is not on the board (the server's referee
        caught it first, or a retried ``remove`` after an UNKNOWN): removing twice must be
        safe. On a calm board nothing is caught, so a ``remove`` removes nothing (False).
        """
        resolved = self._resolve(session, name)
        if resolved != session.pacman:
            self._own(session, resolved, "remove")  # refuses: only your own is removable
        if self.board.calm:
            self._existing(resolved)  # still NOT_FOUND for a pac-man that is not there
            return False
        return self.board.lose_life(resolved)

    def leave(self, session: Session) -> None:
        """Take the user and their pac-man off the board."""
        self._drop(session.user_id)

    # --- time and connections ---

    def tick(self, now: float) -> list[str]:
        """Advance the board one tick and expire silent users; returns the expired ids."""
        self.board.tick()
        expired = self.keepalive.expire(now)
        for user_id in expired:
            self._drop(user_id)
        self.throttle.prune(now)
        return expired

    def disconnect(self, user_id: str, connection: int) -> None:
        """``connection`` (acting as ``user_id``) closed: the user stays until keepalive
        expiry, but only their sessionToken can bind them to a new connection."""
        session = self.sessions.get(user_id)
        if session is not None and session.connection == connection:
            session.connection = None

    def snapshot(self) -> dict[str, Any]:
        """The game as a restart needs it: the board, and who is on it with which token."""
        return {
            "board": self.board.snapshot(),
            "sessions": [[s.user_id, s.token] for s in self.sessions.values()],
        }

    def restore(self, saved: dict[str, Any], now: float) -> None:
        """Carry on from ``snapshot``: every user is back, with no connection yet, and a full
        keepalive window from ``now`` to reconnect and resume with their token.

        Raises:
            ValueError, KeyError, TypeError: the snapshot does not fit this game.
        """
        self.board.restore(saved["board"])
        self.sessions = {
            str(user): Session(str(user), str(token), None) for user, token in saved["sessions"]
        }
        for user_id in self.sessions:
            self.keepalive.refresh(user_id, now)

    def keepalive_view(self, now: float, *, shown: int = 50) -> KeepaliveView:
        """The keepalive table as anyone may see it: the ``shown`` most silent users."""
        timeout = self.keepalive.timeout
        suspect_after = suspect_after_s(timeout)
        entries = [
            KeepaliveEntry(
                user_id=user_id,
                silent_s=round(silent, 1),
                expires_in_s=round(max(0.0, timeout - silent), 1),
                suspected=silent >= suspect_after,
                connected=(session := self.sessions.get(user_id)) is not None
                and session.connection is not None,
            )
            for user_id, silent in self.keepalive.silences(now, shown)
        ]
        suspected = sum(1 for entry in entries if entry.suspected)
        if len(entries) == shown:  # more users than shown: count the suspects among them all
            suspected = self.keepalive.count_silent(now, suspect_after)
        return KeepaliveView(
            timeout_s=timeout, suspect_after_s=suspect_after, users=len(self.keepalive),
            suspected=suspected, shown=entries,
        )  # fmt: skip

    def statistics(self) -> dict[str, Any]:
        """A snapshot of the game's size, for logs and tests (keys spelled as log keys are)."""
        return {
            "clock": self.board.clock,
            "users": len(self.sessions),
            "pieces": {kind: self.board.count(kind) for kind in KINDS},
            "throttleBuckets": len(self.throttle),
        }

    def _drop(self, user_id: str) -> None:
        self.sessions.pop(user_id, None)
        self.reports.forget(user_id)
        self.replies.forget(user_id)
        self.keepalive.forget(user_id)
        self.board.remove(pacman_name(user_id))

    def _resolve(self, session: Session, name: str) -> str:
        return session.pacman if name == OWN_PACMAN else name

    def _existing(self, name: str) -> Piece:
        piece = self.board.get(name)
        if piece is not None:
            return piece
        if self.board.pacman_status(name) == "caught":
            why = "it was caught and is back at the start in a moment"
        elif name.startswith("pacman-"):
            why = "no such pac-man on the board (game over? join to play again)"
        else:
            why = "nothing by that name is on the board"
        raise Refusal(ErrorCode.NOT_FOUND, f"{name!r}: {why}")

    def _own(self, session: Session, name: str, verb: str) -> Piece:
        piece = self._existing(name)
        if piece.owner != session.user_id:
            raise Refusal(ErrorCode.FORBIDDEN, f"cannot {verb} {name!r}: it is not your pac-man")
        return piece
