"""The pages pacnet serves itself, on the game's own port: plain files, no build step, nothing
fetched from anywhere else (a workshop room is often offline).

    GET /                        the page to play (``static/play.html``)
    GET /watch                   the projector's view (``static/watch.html``)
    GET /rooms/NAME              the page to play in room NAME; ``/rooms/NAME/watch`` its
                                 projector's view (the pages read the room from their address)
    GET /static/NAME             a file of ``static/``: the page's JavaScript modules, its CSS
    GET /static/classify.json    the outcome classification, made from ``pacnet.protocol``
                                 here and now, so the browser and the Python client follow
                                 one table

A WebSocket handshake on ``/`` is the game, as before: only a plain ``GET`` (no ``Upgrade:
websocket``) is a page. The server and the proxy both serve these, so a participant who opens
the proxy's address plays through the network's faults.

Pure: a request path in, a ``Page`` (status, type, body) out; the I/O shell sends it.
"""

import json
from dataclasses import dataclass
from http import HTTPStatus
from importlib import resources
from urllib.parse import urlsplit

from websockets.datastructures import Headers
from websockets.http11 import Response

from pacnet.protocol.classify import classification
from pacnet.protocol.rooms import RoomNameError, split_room

STATIC = "/static/"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
}
"""The files a page may be made of, by suffix; anything else in the folder is not served."""


@dataclass(frozen=True)
class Page:
    """An answer to a plain GET."""

    status: HTTPStatus
    content_type: str
    body: bytes


class Site:
    """The files of ``static/``, read once at start (a few tens of kilobytes), by path."""

    def __init__(self) -> None:
        folder = resources.files("pacnet.web") / "static"
        self._files: dict[str, Page] = {}
        for item in folder.iterdir():
            suffix = "." + item.name.rpartition(".")[2]
            if item.is_file() and suffix in TYPES:
                page = Page(HTTPStatus.OK, TYPES[suffix], item.read_bytes())
                self._files[STATIC + item.name] = page
        self._files[STATIC + "classify.json"] = Page(
            HTTPStatus.OK, TYPES[".json"], json.dumps(classification(), indent=1).encode()
        )
        self._files["/"] = self._files[STATIC + "play.html"]
        if STATIC + "watch.html" in self._files:  # the projector's view
            self._files["/watch"] = self._files[STATIC + "watch.html"]

    def page(self, path: str) -> Page:
        """The page at ``path`` (query ignored; under ``/rooms/NAME``, the room's page), or a
        404 that says what there is."""
        try:
            _, within = split_room(urlsplit(path).path)
        except RoomNameError as exc:
            return _not_found(f"{exc}\n")
        found = self._files.get(within)
        if found is not None:
            return found
        return _not_found("no such page: open / to play\n")

    @property
    def paths(self) -> list[str]:
        """Every path served."""
        return sorted(self._files)


def _not_found(text: str) -> Page:
    return Page(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", text.encode())


def respond(page: Page) -> Response:
    """``page`` as websockets' ``process_request`` answers a plain HTTP request."""
    headers = Headers(
        [
            ("Content-Type", page.content_type),
            ("Content-Length", str(len(page.body))),
            ("Cache-Control", "no-cache"),  # a page edited between two exercises shows on reload
            ("Connection", "close"),
        ]
    )
    return Response(page.status.value, page.status.phrase, headers, page.body)


def is_page_request(headers_upgrade: str | None) -> bool:
    """Whether a request with this ``Upgrade`` header is for a page (not a WebSocket)."""
    return (headers_upgrade or "").lower() != "websocket"
