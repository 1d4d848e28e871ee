"""HAProxy's configuration for a cluster, from the template kept beside this module
(``haproxy.cfg``): what ``pacnet cluster up`` writes into HAProxy's folder."""

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

from pacnet.cluster.components import admin_socket

LEASE = 2.0
"""Seconds a room's lease lasts unless renewed. A server frozen or cut off for longer loses
its rooms; the others may take them after this, and HAProxy's health checks (``CHECK_EVERY``,
two failures) have sent the players elsewhere by then. Renewed four times a term, so one lost
renewal costs nothing."""

CHECK_EVERY = 0.5
"""Seconds between HAProxy's health checks of each server (``GET /healthz``). Two failures
mark a server down: a dead one is out of rotation within a second."""


LOBBY_CHECKS = ("live", "store")
"""What the balancer checks before it sends a server lobby requests: that it is alive
(``live``: ``/healthz``), or also that it can read the store (``store``: ``/healthz?store=1``,
the default). Each is a backend (``lobby_live``, ``lobby_store``); ``lobby.map`` says which
serves the lobby, and the runtime API switches it while HAProxy runs."""


LOBBY_CHECKED = {
    "live": "that a server is alive (live): a fast, wrong server draws the lobby",
    "store": "that a server is alive and can read the store (store)",
}
"""What each lobby check means, as ``pacnet cluster`` and ``pacnet chaos`` say it."""


def lobby_map(check: str) -> str:
    """The lobby map's content when the lobby is checked for ``check``."""
    return f"lobby {lobby_backend(check)}\n"


def lobby_backend(check: str) -> str:
    return f"lobby_{check}"


LOBBY_BACKENDS = frozenset(lobby_backend(check) for check in LOBBY_CHECKS)
"""The lobby's backends in HAProxy's configuration, one per check."""


def write_maps(directory: Path, lobby_check: str = "store") -> None:
    """The maps a configuration from ``haproxy_config`` reads when HAProxy starts, in its
    folder ``directory``: no room placed yet, and the lobby checked for ``lobby_check``."""
    (directory / "rooms.map").write_text("")
    (directory / "lobby.map").write_text(lobby_map(lobby_check))


@dataclass(frozen=True)
class Member:
    """A board server of the cluster."""

    name: str
    host: str
    port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def haproxy_config(
    directory: Path,
    members: list[Member],
    *,
    host: str,
    port: int,
    stats_port: int,
    admin_api: str | None = None,
    rooms_map: Path | None = None,
) -> str:
    """HAProxy's configuration for ``members`` behind ``host:port``, its stats page on
    ``stats_port``, its runtime API on ``admin_api`` (HAProxy's address syntax; by default a
    Unix socket only its own user may use, ``admin_socket(directory)``), its room map at
    ``rooms_map`` (``directory/rooms.map``) and the lobby map beside it (``lobby.map``)."""
    if admin_api is None:
        admin_api = f"{admin_socket(directory)} mode 600"
    if rooms_map is None:
        rooms_map = directory / "rooms.map"
    template = Template((resources.files("pacnet.cluster") / "haproxy.cfg").read_text())
    board = [f"    server {m.name} {m.address} check" for m in members]
    live = [f"    server {m.name} {m.address} track boards/{m.name}" for m in members]
    store = [f"    server {m.name} {m.address} check" for m in members]
    backends = []
    for member in members:
        backends += [
            f"backend {member.name}",
            "    balance hash var(txn.room)",
            "    hash-type consistent",
            "    option allbackups",
        ]
        for other in members:
            backup = " backup" if other is not member else ""
            backends.append(
                f"    server {other.name} {other.address} track boards/{other.name}{backup}"
            )
        backends.append("")
    return template.substitute(
        admin_api=admin_api, rooms_map=rooms_map, host=host, port=port, stats_port=stats_port,
        check_ms=round(CHECK_EVERY * 1000), board_servers="\n".join(board),
        lobby_map=rooms_map.with_name("lobby.map"), lobby_live_servers="\n".join(live),
        lobby_store_servers="\n".join(store), server_backends="\n".join(backends),
    )  # fmt: skip
