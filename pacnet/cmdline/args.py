"""What every pacnet command's arguments share: one-line errors, argument types, and the flags
a long-running component takes.

The server, the proxy, chaos and the client's commands all use it, so a bad flag reads the
same everywhere (``pacnet X: error: ... (see pacnet X --help)``, exit 2) and never shows a
traceback.
"""

import argparse
import importlib.util
import math
import os
import sys
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

from pacnet.cmdline.defaults import TOKEN_ENV
from pacnet.protocol.rooms import RoomNameError, check_room, room_of, room_url

EXIT_USAGE = 2


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, naming the flag and pointing at --help."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def fail(prog: str, message: str) -> int:
    """Print ``prog: error: message`` on stderr; returns the exit status 1."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    return 1


def missing_directory(flag: str, path: Path | None) -> str | None:
    """Why ``flag``'s output file ``path`` cannot be written, said before the work that fills
    it begins (None: it can be, or was not asked for). The caller fails with it, exit 2."""
    if path is not None and not path.parent.is_dir():
        return f"{flag}: no directory {str(path.parent)!r} to write {path.name} in"
    return None


# --- argument types ---


def finite_number(text: str) -> float:
    """An argparse type: any finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


class Usage(Exception):
    """The command line asks for something that makes no sense: one line, exit 2, as a bad
    flag (for what argparse cannot check alone, such as two flags that exclude each other)."""


def positive_float(text: str) -> float:
    """An argparse type: a finite number greater than zero."""
    value = finite_number(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a number greater than 0")
    return value


def non_negative_float(text: str, unit: str = "") -> float:
    """An argparse type: a finite number of at least zero (``unit``: what it counts, for the
    message)."""
    value = finite_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or more {unit}".rstrip())
    return value


def non_negative_seconds(text: str) -> float:
    """An argparse type: 0 or more seconds."""
    return non_negative_float(text, "seconds")


def whole_number(text: str) -> int:
    """An argparse type: an integer."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    value = whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def port_number(text: str) -> int:
    """An argparse type: a TCP port, 0 meaning any free port."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)")
    return value


def host_port(text: str) -> tuple[str, int]:
    """An argparse type: ``HOST:PORT`` (``[::1]:PORT`` for IPv6), port 0 meaning any free."""
    host, colon, port_text = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not colon or not host:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host, port_number(port_text)


def peer_address(text: str) -> tuple[str, int]:
    """An argparse type: ``HOST:PORT`` of something to connect to (a port from 1)."""
    host, port = host_port(text)
    if port == 0:
        raise argparse.ArgumentTypeError(f"{text!r}: port 0 names no peer to connect to")
    return host, port


def add_connection_limits(parser: argparse.ArgumentParser) -> None:
    """``--max-connections`` and ``--max-connections-per-peer``: the server's and the proxy's
    limits on the connections they hold (``pacnet.feeds.doors`` has the defaults and why)."""
    parser.add_argument(
        "--max-connections", type=positive_int, metavar="N",
        help="connections open at once, every kind; one more is refused at its handshake "
        "(HTTP 503); default: the open-file limit less 64",
    )  # fmt: skip
    parser.add_argument(
        "--max-connections-per-peer", type=positive_int, metavar="N",
        help="connections open at once from one address; default: three quarters of "
        "--max-connections (a bot fleet from one machine may take most, never all)",
    )  # fmt: skip


PLACEHOLDERS = frozenset({"NAME", "THEIR_NAME", "YOUR_NAME", "USER", "USER_ID"})
"""What the docs write where a person's own name goes: typed as it is, it is a mistake."""


def player_name(text: str) -> str:
    """An argparse type: a name on the board (1-64 characters), not a docs' placeholder."""
    if text.strip() in PLACEHOLDERS:
        raise argparse.ArgumentTypeError(
            f"{text!r} stands for your own name: put yours there (for example --name alice)"
        )
    if not 1 <= len(text) <= 64:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 to 64 characters")
    return text


def event_loop(text: str) -> str:
    """An argparse type: ``auto``, ``asyncio``, or ``uvloop`` where it is installed."""
    if text not in ("auto", "uvloop", "asyncio"):
        raise argparse.ArgumentTypeError(f"{text!r} is not one of auto, uvloop, asyncio")
    if text == "uvloop" and importlib.util.find_spec("uvloop") is None:
        raise argparse.ArgumentTypeError("uvloop is not installed here (use auto or asyncio)")
    return text


def ws_url(text: str) -> str:
    """An argparse type: a ``ws://`` or ``wss://`` URL with a host, whose path (if it names a
    room, ``/rooms/NAME``) names one a server can hold."""
    parts = urlsplit(text)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"{text!r} is not a ws:// or wss:// URL")
    try:
        room_of(text)
    except RoomNameError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None
    return text


def room_name(text: str) -> str:
    """An argparse type: a name a room can have (``pacnet.protocol.rooms``)."""
    try:
        return check_room(text)
    except RoomNameError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_room_argument(parser: "argparse._ActionsContainer", what: str) -> None:
    """``--room NAME``: the room a client command plays in or watches (``what``, the help's
    first words: "play in"); ``in_room`` applies it to the command's server URL. ``parser``:
    a parser, or a group of one (argparse names what both are privately)."""
    parser.add_argument(
        "--room", type=room_name, metavar="NAME",
        help=f"{what} room NAME, at /rooms/NAME on the server (default: the room --server's "
        "path names, else the default room, main)",
    )  # fmt: skip


def in_room(url: str, room: str | None) -> str:
    """The game URL to use: ``url`` as it is, or (``room``: a ``--room`` was given) the URL of
    ``room`` on the server ``url`` addresses, whatever room its own path names."""
    return url if room is None else room_url(url, room)


# --- long-running components (the server, the proxy) ---


def add_log_format(parser: argparse.ArgumentParser) -> None:
    """--log-format: JSON lines for machines (``pacnet trace``), or text for people."""
    parser.add_argument(
        "--log-format", choices=("json", "console"), default="console",
        help="one JSON object per line, or text for people (%(default)s)",
    )  # fmt: skip


def add_component_arguments(parser: argparse.ArgumentParser, *, seeds: str) -> None:
    """The flags every long-running pacnet component takes: --seed, --admin-token, --trace,
    --log-format. ``seeds``: what its seed decides, for the help."""
    parser.add_argument(
        "--seed", type=int, default=None,
        help=f"seed for {seeds} (a run can be replayed)",
    )  # fmt: skip
    parser.add_argument(
        "--admin-token", default=os.environ.get(TOKEN_ENV), metavar="TOKEN",
        help=f"token for the /admin endpoint (fault injection); default: ${TOKEN_ENV}, "
        "else a new one, printed at start",
    )  # fmt: skip
    parser.add_argument(
        "--trace", action="store_true",
        help="log every request with its timing, for pacnet trace",
    )  # fmt: skip
    add_log_format(parser)
    parser.add_argument(
        "--loop", type=event_loop, default="auto", metavar="{auto,uvloop,asyncio}",
        help="the event loop: uvloop where it is installed, else asyncio's own (%(default)s)",
    )  # fmt: skip
