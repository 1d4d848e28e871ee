"""The baseline server: websockets with pacnet's settings, echoing every message.

    python bench/echo.py

Logs one JSON line on stderr, ``{"event": "server_started", "url": ...}``, as
``pacnet serve --log-format json`` does, then echoes until SIGTERM.
"""

import asyncio
import json
import sys
from contextlib import suppress

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from pacnet.server.config import ServerConfig


async def serve_echo(config: ServerConfig) -> None:
    """Listen where ``config`` says, with the same websockets settings as pacnet/server/net.py."""
    async with serve(
        _echo,
        config.host,
        config.port,
        compression=None,
        max_size=config.limits.max_message_bytes,
        ping_interval=config.ping_interval,
    ) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        started = {"event": "server_started", "url": f"ws://{config.host}:{port}"}
        print(json.dumps(started), file=sys.stderr, flush=True)
        await asyncio.Future()  # until a signal ends the process


async def _echo(websocket: ServerConnection) -> None:
    # The same shape as pacnet's connection handler, minus the request path.
    with suppress(ConnectionClosed):
        async for message in websocket:
            await websocket.send(message)


if __name__ == "__main__":
    asyncio.run(serve_echo(ServerConfig(port=0)))
