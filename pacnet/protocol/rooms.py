"""Rooms: the named boards one server (or a cluster) holds, and where each one answers.

A client picks a room by the path of the URL it connects to; the bare URL is the default
room, so a client that knows nothing of rooms plays in it as before::

    ws://HOST:PORT/                      the default room's game ("main")
    ws://HOST:PORT/keepalive             its feeds: /keepalive, /board, /room, /truth
    ws://HOST:PORT/rooms/NAME            room NAME's game
    ws://HOST:PORT/rooms/NAME/keepalive  its feeds, the same names under the room's path
    http://HOST:PORT/rooms/NAME          the page to play in room NAME (a plain GET)
    http://HOST:PORT/lobby               the rooms there are, as JSON (``pacnet.protocol.lobby``)

``/rooms/main`` and ``/`` are the same room. What is not a room's (``/admin``, ``/faults``,
``/healthz``, ``/metrics``, ``/lobby``) belongs to the whole server.

A room's name is 1 to 32 characters of lower-case letters, digits, ``-`` and ``_``, starting
with a letter or a digit: it travels in URLs, log lines, Redis keys and HAProxy's map files,
none of which then needs any escaping.

No wire models here (``pacnet.protocol.lobby`` has the lobby's): every command checks room
names, and none should wait for pydantic to do it.
"""

import re
from urllib.parse import urlsplit, urlunsplit

DEFAULT_ROOM = "main"
"""The room a bare URL plays in."""
ROOMS_PREFIX = "/rooms/"
LOBBY_PATH = "/lobby"
"""Where a server answers plain HTTP ``GET`` with its ``LobbyView``."""
ROOM_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
ROOM_NAME_RULE = "1 to 32 lower-case letters, digits, '-' or '_', starting with a letter or digit"


class RoomNameError(ValueError):
    """A path or a flag names a room no server can hold."""


def check_room(name: str) -> str:
    """``name`` if it can name a room.

    Raises:
        RoomNameError: it cannot; the message says what a name may be.
    """
    if ROOM_NAME.fullmatch(name) is None:
        raise RoomNameError(f"{name!r} cannot name a room: {ROOM_NAME_RULE}")
    return name


def split_room(path: str) -> tuple[str, str]:
    """The room a URL path (without its query) belongs to, and the path within the room:
    ``/`` for its game, ``/keepalive`` for a feed. A path outside ``/rooms/`` is the default
    room's.

    Raises:
        RoomNameError: the path is under ``/rooms/`` and names no possible room.
    """
    if not path.startswith(ROOMS_PREFIX):
        return DEFAULT_ROOM, path or "/"
    name, slash, rest = path[len(ROOMS_PREFIX) :].partition("/")
    return check_room(name), slash + rest or "/"


def room_path(room: str, path: str = "/") -> str:
    """The path of ``path`` (``/`` for the game, ``/keepalive`` for a feed) in ``room``: the
    bare path for the default room, which every server, of any age, serves there."""
    if room == DEFAULT_ROOM:
        return path
    return ROOMS_PREFIX + room + ("" if path == "/" else path)


def room_url(url: str, room: str) -> str:
    """The game's URL of ``room`` on the server ``url`` addresses (its path is replaced)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, room_path(room), "", ""))


def room_of(url: str) -> str:
    """The room a game URL plays in.

    Raises:
        RoomNameError: its path names no possible room.
    """
    return split_room(urlsplit(url).path)[0]


def feed_url(url: str, feed: str) -> str:
    """The URL of ``feed`` (``/keepalive``, ``/truth?user=...``) of the room the game URL
    ``url`` plays in."""
    parts = urlsplit(url)
    room, _ = split_room(parts.path)
    path, _, query = feed.partition("?")
    return urlunsplit((parts.scheme, parts.netloc, room_path(room, path), query, ""))
