"""A board server inside the caller's event loop, on a free port (demo, window, bots, tests).

The one door from the commands that play (``pacnet play``, ``demo``, ``bots``) to the server
package: they import this module and nothing else of it (the import contracts in
``pyproject.toml``), so the client core never depends on the server.
"""

import argparse
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING

from pacnet.cmdline.args import ws_url
from pacnet.server.config import ServerConfig, ServerLimits
from pacnet.server.layout import LayoutError, builtin_layouts, layout_argument

if TYPE_CHECKING:
    from pacnet.server.keeper import Keeper
    from pacnet.server.net import BoardServer
    from pacnet.server.pipeline import StageHook

__all__ = [
    "CannotStart",
    "LayoutError",
    "ServerConfig",
    "ServerLimits",
    "add_server_arguments",
    "announce",
    "board_url",
    "running_server",
]


class CannotStart(Exception):
    """The embedded server did not start: its address cannot be listened on, or its layout no
    longer loads. The message is one line, for stderr; a command exits 1 on it (``fail``), as on
    any work that fails, since the flags were good."""


@asynccontextmanager
async def running_server(
    config: ServerConfig | None = None,
    *,
    hooks: "Sequence[StageHook]" = (),
    keeper: "Keeper | None" = None,
) -> "AsyncIterator[BoardServer]":
    """Run a board server for the duration of the ``async with`` block.

    The default config listens on 127.0.0.1 on a free port; ``server.url`` says where.

    Raises:
        OSError: the address cannot be listened on.
        LayoutError: the layout cannot be loaded.
    """
    # Imported here, not above: the commands import this module for their flags too, and
    # `pacnet demo --help` has no use for the server, which takes most of a second to import.
    from pacnet.cmdline.lifecycle import running
    from pacnet.server.net import BoardServer

    server = BoardServer(config or ServerConfig(port=0), hooks=hooks, keeper=keeper)
    async with running(server):
        yield server


@asynccontextmanager
async def board_url(
    server: str | None, config: ServerConfig, *, announce_as: str | None = None
) -> AsyncIterator[str]:
    """Where to play for the ``async with`` block: ``server`` (a command's ``--server``), or
    else a server started here with ``config``, for the block, and told of on stderr as
    ``announce_as`` (``announce``) unless that is None.

    Raises:
        CannotStart: the embedded server did not start (nothing else is caught: what the
            block raises is the caller's).
    """
    if server is not None:
        yield server
        return
    async with AsyncExitStack() as stack:
        try:
            started = await stack.enter_async_context(running_server(config))
        except (OSError, LayoutError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise CannotStart(f"cannot start the embedded server: {reason}") from exc
        assert started.url is not None
        if announce_as is not None:
            announce(announce_as, started)
        yield started.url


def announce(prog: str, server: "BoardServer") -> None:
    """Tell the person at the terminal (stderr, beside the command's own output) where the
    embedded server is and how to switch its faults: its admin token is generated each run."""
    print(
        f"{prog}: the board is on {server.url}; switch its faults with: "
        f"pacnet chaos --server {server.url} --token {server.admin.token} ...",
        file=sys.stderr,
        flush=True,
    )


def add_server_arguments(parser: argparse.ArgumentParser, *, layout: str, why: str) -> None:
    """``--server URL``, or ``--layout`` for the server the command starts in-process without
    one. ``why``: why ``layout`` is the command's default, for the help."""
    parser.add_argument(
        "--server", type=ws_url, metavar="URL",
        help="a running server (ws://HOST:PORT); default: one started in this process",
    )  # fmt: skip
    parser.add_argument(
        "--layout", type=layout_argument, default=layout, metavar="NAME_OR_PATH",
        help=f"maze of the embedded server, one of {', '.join(builtin_layouts())} or a layout "
        f"file: {why} (%(default)s)",
    )  # fmt: skip
