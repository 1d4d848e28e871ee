"""What a facilitator's laptop needs to know to open a room: its address on the room's
network, and the addresses to hand out (for the whole room, or for each table's own game)."""

import socket
from dataclasses import dataclass

from pacnet.protocol.rooms import room_path

TABLE_ROOM = "table-{}"
"""The game of table N: room table-N on the server (``pacnet workshop --tables``)."""


def room_address() -> str:
    """This machine's address on the network the room shares: the one its default route
    leaves by (no packet is sent to find it), else its host name's, else loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # connecting a UDP socket sends nothing
            address: str = probe.getsockname()[0]
        except OSError:
            address = ""
    if address and not address.startswith("0."):
        return address
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


@dataclass(frozen=True)
class Addresses:
    """Where the room goes: players to the proxy (so the network's faults reach them), the
    facilitator's tools to both."""

    host: str
    server_port: int
    proxy_port: int

    @property
    def server(self) -> str:
        return f"ws://{self.host}:{self.server_port}"

    @property
    def proxy(self) -> str:
        return f"ws://{self.host}:{self.proxy_port}"

    @property
    def watch(self) -> str:
        """The projector's view of the default room (``watch_of``)."""
        return self.watch_of(None)

    @property
    def play(self) -> str:
        """The page participants open: the proxy's, so the network's faults hit them."""
        return self.play_in(None)

    def watch_of(self, room: str | None) -> str:
        """The projector's view of ``room`` (None: the default room's): the server's own,
        read-only feeds and nothing to play, and the proxy's list of faults, which has the
        network's too (the server knows only its own)."""
        network = f"{self.host}:{self.proxy_port}"
        return f"http://{self.host}:{self.server_port}{_path(room, '/watch')}?network={network}"

    def play_in(self, room: str | None) -> str:
        """The page that plays in ``room`` (None: the default room), through the proxy."""
        return f"http://{self.host}:{self.proxy_port}{_path(room, '/')}"


def _path(room: str | None, path: str) -> str:
    """``path`` in ``room``, as every server serves it (``pacnet.protocol.rooms``)."""
    return path if room is None else room_path(room, path)


def tables(count: int) -> list[str]:
    """The rooms of ``count`` tables: table-1 to table-N."""
    return [TABLE_ROOM.format(n) for n in range(1, count + 1)]
