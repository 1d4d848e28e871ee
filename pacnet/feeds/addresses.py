"""Where a pacnet component answers, and who is on the other end: URL facts the server, the
proxy and their clients share."""

from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.server import Server, ServerConnection


def url_of(server: Server, host: str) -> str:
    """The ``ws://`` URL a listening ``server`` answers on (its real port, if 0 was asked)."""
    port = next(iter(server.sockets)).getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"ws://{shown}:{port}"


def peer(connection: ServerConnection) -> str:
    """``host:port`` of the other end, for logs (``?`` once it is gone)."""
    address = connection.remote_address
    return f"{address[0]}:{address[1]}" if address else "?"


def endpoint_url(url: str, path: str) -> str:
    """``ws://host:port`` (any path) with its path replaced by ``path``."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))
