"""A board server inside the caller's event loop, on a free port (demo, window, bots, tests)."""

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from server.config import ServerConfig
from server.net import BoardServer
from server.pipeline import StageHook


@asynccontextmanager
async def running_server(
    config: ServerConfig | None = None, *, hooks: Sequence[StageHook] = ()
) -> AsyncIterator[BoardServer]:
    """Run a board server for the duration of the ``async with`` block.

    The default config listens on 127.0.0.1 on a free port; ``server.url`` says where.

    Raises:
        OSError: the address cannot be listened on.
        LayoutError: the layout cannot be loaded.
    """
    server = BoardServer(config or ServerConfig(port=0), hooks=hooks)
    await server.start()
    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(server.serve_until_stopped())
        try:
            yield server
        finally:
            server.stop()
