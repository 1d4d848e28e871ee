"""The one door from the client to the server package: an in-process board server.

``pacnet demo`` (and later ``play`` and ``bots``) start a server in their own event loop
when no ``--server`` is given, and ``pacnet serve`` runs one; both go through here, so
the rest of the client never imports the server (checked by the import contracts in
``pyproject.toml``).
"""

from protocol.logs import LogFormat, configure_logging
from server.cli import add_serve_arguments, run_serve
from server.config import ServerConfig
from server.embedded import running_server
from server.layout import LayoutError

__all__ = [
    "LayoutError",
    "LogFormat",
    "ServerConfig",
    "add_serve_arguments",
    "configure_logging",
    "run_serve",
    "running_server",
]
