"""What pacnet's processes agree on, so one finds, trusts and supervises another: where the
server and the proxy listen unless told, the environment variable an admin token comes from and
how a fresh one is made, and the exit status of a server a ``crash`` fault ended.

No imports beyond the standard library: every command reads it, ``--help`` included.
"""

import secrets

HOST = "127.0.0.1"
"""Loopback unless told: a workshop opens the server and the proxy to the room on purpose."""
SERVER_PORT = 8765
PROXY_PORT = SERVER_PORT + 1
"""The server's port plus one, so a room's two addresses are told apart at a glance."""
SERVER_URL = f"ws://{HOST}:{SERVER_PORT}"
PROXY_URL = f"ws://{HOST}:{PROXY_PORT}"

TOKEN_ENV = "PACNET_ADMIN_TOKEN"
"""The admin token a server or a proxy requires (else it makes one and prints it), and the one
``pacnet chaos`` sends (else ``--token``)."""


def new_token() -> str:
    """A fresh admin token: 128 random bits in hex (never starting with "-", which a
    command line would take for a flag)."""
    return secrets.token_hex(16)


CRASH_EXIT_STATUS = 70
"""How a server a ``crash`` fault ended exits (``os._exit``: no goodbye to anyone), and how its
supervisor (``pacnet workshop``) tells a crash, to start it again, from any other stop. 70 is
``EX_SOFTWARE`` in BSD's sysexits.h: an internal software error."""
