"""A board server inside the caller's event loop, on a free port (demo, window, bots, tests)."""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from protocol.cli import running
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
    async with running(BoardServer(config or ServerConfig(port=0), hooks=hooks)) as server:
        yield server
