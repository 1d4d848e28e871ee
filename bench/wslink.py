"""A WebSocket client that speaks just enough RFC 6455 to load a server, and no more.

A benchmark's client must cost far less per round trip than the servers it measures, or it
measures itself. This one does the opening handshake, sends frames masked once up front,
reads unfragmented messages, and hands each to a callback: a closed loop sends its next
request from inside that callback, with no future and no task switch per round trip.
"""

import asyncio
import base64
import hashlib
import os
from collections.abc import Callable
from contextlib import suppress
from urllib.parse import urlsplit

TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def client_frame(opcode: int, payload: bytes, mask: bytes) -> bytes:
    """One final frame from a client, which must mask what it sends (RFC 6455 5.3)."""
    length = len(payload)
    if length < 126:
        header = bytes((0x80 | opcode, 0x80 | length))
    elif length < 1 << 16:
        header = bytes((0x80 | opcode, 0x80 | 126)) + length.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + length.to_bytes(8, "big")
    key = int.from_bytes((mask * (length // 4 + 1))[:length], "big")
    masked = (int.from_bytes(payload, "big") ^ key).to_bytes(length, "big")
    return header + mask + masked


async def open_link(url: str) -> "Link":
    """Connect to ``url`` (``ws://host:port``, any path: a room's, ``/rooms/NAME``) and
    complete the opening handshake.

    Raises:
        OSError: the connection failed or the server refused the handshake.
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    loop = asyncio.get_running_loop()
    path = parts.path or "/"
    _, link = await loop.create_connection(lambda: Link(f"{host}:{port}", path), host, port)
    await link.opened
    return link


def _unexpected(payload: bytes) -> None:
    raise ConnectionError(f"a message nobody waits for: {payload[:100]!r}")


def _ignore(error: Exception) -> None:
    pass


class Link(asyncio.Protocol):
    """One WebSocket connection; each message that arrives goes to ``on_message``.

    Frames are masked with one key per connection rather than a fresh key per frame: the
    key guards proxies against cache poisoning by browsers' scripts, and nothing here
    crosses a proxy. Servers do not fragment messages this small.
    """

    def __init__(self, host: str, path: str = "/") -> None:
        loop = asyncio.get_running_loop()
        self._path = path.encode()
        self.mask = os.urandom(4)
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.on_message: Callable[[bytes], None] = _unexpected
        """Called with the payload of each text or binary message."""
        self.on_lost: Callable[[Exception], None] = _ignore
        """Called once if the connection is lost."""
        self._key = base64.b64encode(os.urandom(16))
        self._host = host.encode()
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()

    def send(self, frame: bytes) -> None:
        """Send a frame made by ``client_frame``."""
        assert self._transport is not None, "not connected"
        self._transport.write(frame)

    def detach(self) -> None:
        """Stop handing messages to the last callbacks: a message now is a protocol error."""
        self.on_message, self.on_lost = _unexpected, _ignore

    def request(self, frame: bytes) -> "asyncio.Future[bytes]":
        """Send a frame; the future gets the payload of the next message.

        The caller must await the future before sending anything else.
        """
        reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

        def answer(payload: bytes) -> None:
            self.detach()
            if not reply.done():  # not cancelled
                reply.set_result(payload)

        def lost(error: Exception) -> None:
            if not reply.done():
                reply.set_exception(error)

        self.on_message, self.on_lost = answer, lost
        self.send(frame)
        return reply

    async def close(self) -> None:
        """Send a close frame (1000, normal closure) and wait briefly for the server's."""
        if self._transport is None or self.closed.done():
            return
        self.send(client_frame(CLOSE, (1000).to_bytes(2, "big"), self.mask))
        with suppress(TimeoutError):
            async with asyncio.timeout(2.0):
                await self.closed
        self._transport.close()

    # --- asyncio.Protocol ---

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        transport.write(
            b"GET "
            + self._path
            + b" HTTP/1.1\r\nHost: "
            + self._host
            + b"\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: " + self._key + b"\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self.opened.done() or self._read_handshake():
            self._read_frames()

    def connection_lost(self, exc: Exception | None) -> None:
        error = ConnectionError(f"connection lost: {exc or 'closed by the server'}")
        if not self.opened.done():
            self.opened.set_exception(error)
        self.on_lost(error)
        if not self.closed.done():
            self.closed.set_result(None)

    # --- reading ---

    def _read_handshake(self) -> bool:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = bytes(self._buffer[:end]).lower()
        del self._buffer[: end + 4]
        accept = base64.b64encode(hashlib.sha1(self._key + _GUID).digest()).lower()
        if head.startswith(b"http/1.1 101 ") and b"sec-websocket-accept: " + accept in head:
            self.opened.set_result(None)
            return True
        self.opened.set_exception(ConnectionError(f"handshake refused: {head[:200]!r}"))
        assert self._transport is not None
        self._transport.close()
        return False

    def _read_frames(self) -> None:
        buffer = self._buffer
        while len(buffer) >= 2:
            opcode, length, start = buffer[0] & 0x0F, buffer[1] & 0x7F, 2
            if length >= 126:
                start = 4 if length == 126 else 10
                if len(buffer) < start:
                    return
                length = int.from_bytes(buffer[2:start], "big")
            end = start + length
            if len(buffer) < end:
                return
            payload = bytes(buffer[start:end])
            del buffer[:end]
            self._on_frame(opcode, payload)

    def _on_frame(self, opcode: int, payload: bytes) -> None:
        if opcode == PING:
            self.send(client_frame(PONG, payload, self.mask))
        elif opcode == CLOSE:
            self.send(client_frame(CLOSE, payload[:2], self.mask))
            assert self._transport is not None
            self._transport.close()
        elif opcode != PONG:
            self.on_message(payload)
