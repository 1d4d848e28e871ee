"""A whole cluster on one machine: ``pacnet cluster up`` starts it in the background,
``status`` looks at it, ``down`` stops what ``up`` wrote down.

    DIR/cluster.json    what runs: addresses, names, process ids, the admin token
    DIR/redis/          redis-server's configuration and log
    DIR/haproxy/        haproxy.cfg (from pacnet/cluster/haproxy.cfg), rooms.map, admin.sock,
                        haproxy.log
    DIR/sN.log          each board server's log, JSON lines (what ``pacnet trace`` reads)
    DIR/follow.log      the map follower's log

Every process is in a session of its own, so it outlives ``up`` and its terminal. ``down``
stops the board servers first (each saves its rooms and gives them up), then the follower,
HAProxy and Redis.
"""

import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pacnet.cluster.components import (
    Component,
    ComponentFailed,
    HAProxy,
    Redis,
    admin_socket,
    free_port,
    redis_command,
    runtime,
    servers,
    spawn,
    until_ready,
)
from pacnet.cluster.config import (
    LOBBY_BACKENDS,
    Member,
    haproxy_config,
    lobby_backend,
    lobby_map,
    write_maps,
)
from pacnet.cmdline.defaults import new_token

STATE = "cluster.json"
STOP_WITHIN = 10.0
"""Seconds a process has to stop on SIGTERM before it is killed."""


def default_directory() -> Path:
    """``$XDG_STATE_HOME/pacnet/cluster`` (``~/.local/state/pacnet/cluster``)."""
    state_home = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state_home) / "pacnet" / "cluster"


class ClusterError(Exception):
    """The cluster cannot be started, found or stopped; the message says why."""


@dataclass
class Process:
    """One process of the cluster."""

    name: str
    pid: int
    port: int


@dataclass
class Stack:
    """What ``up`` started, as ``cluster.json`` keeps it."""

    directory: str
    host: str
    port: int
    stats_port: int
    admin_token: str
    redis: Process
    haproxy: Process
    follow: Process
    members: list[Process] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def stats_url(self) -> str:
        return f"http://{self.host}:{self.stats_port}/"

    @property
    def haproxy_socket(self) -> Path:
        return admin_socket(Path(self.directory) / "haproxy")

    def save(self) -> None:
        path = Path(self.directory) / STATE
        path.write_text(json.dumps(asdict(self), indent=1) + "\n")

    @classmethod
    def load(cls, directory: Path) -> "Stack":
        """The cluster ``up`` started in ``directory``.

        Raises:
            ClusterError: none was (or it was taken down).
        """
        path = directory / STATE
        try:
            data = json.loads(path.read_text())
            return cls(
                **{k: v for k, v in data.items() if k not in ("redis", "haproxy", "follow",
                                                              "members")},
                redis=Process(**data["redis"]), haproxy=Process(**data["haproxy"]),
                follow=Process(**data["follow"]),
                members=[Process(**m) for m in data["members"]],
            )  # fmt: skip
        except FileNotFoundError:
            raise ClusterError(f"no cluster is up in {directory} (pacnet cluster up)") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise ClusterError(f"{path} is not a cluster's record: {exc}") from exc

    def holder(self, room: str) -> str | None:
        """The server the room directory in Redis names for ``room`` (None: nobody holds it).

        Raises:
            OSError: Redis does not answer.
        """
        reply = redis_command(self.redis.port, "HGET", "pacnet:rooms", room)
        return reply.split(b"\r\n")[1].decode() if not reply.startswith(b"$-1") else None

    @property
    def lobby_map(self) -> Path:
        return Path(self.directory) / "haproxy" / "lobby.map"

    def lobby_check(self) -> str:
        """What the balancer checks before it sends a server lobby requests (``live`` or
        ``store``), as HAProxy has it now.

        Raises:
            OSError: HAProxy does not answer.
        """
        for line in runtime(self.haproxy_socket, f"show map {self.lobby_map}").splitlines():
            _, key, backend = [*line.split(), "", "", ""][:3]
            if key == "lobby":
                return backend.removeprefix("lobby_")
        return "store"  # (the configuration's default when the map has no entry)

    def set_lobby_check(self, check: str) -> None:
        """Switch what the balancer checks before it sends a server lobby requests, at once
        (HAProxy's runtime API), and in the map file, for a HAProxy that starts again.

        Raises:
            OSError: HAProxy does not answer, or refused the change.
        """
        answer = runtime(
            self.haproxy_socket, f"set map {self.lobby_map} lobby {lobby_backend(check)}"
        ).strip()
        if answer:
            raise OSError(f"HAProxy refused to switch the lobby's check: {answer}")
        self.lobby_map.write_text(lobby_map(check))

    def processes(self) -> list[Process]:
        """Every process, in the order ``down`` stops them."""
        return [*self.members, self.follow, self.haproxy, self.redis]


@dataclass(frozen=True)
class Settings:
    """What ``up`` starts."""

    directory: Path
    servers: int = 2
    host: str = "127.0.0.1"
    port: int = 8765
    stats_port: int = 8404
    admin_token: str | None = None
    lease: float | None = None
    server_arguments: tuple[str, ...] = ()
    """Further flags for every board server (``--layout small``, ``--calm``, ...)."""
    lobby_check: str = "store"
    """What the balancer checks of a server before it sends it lobby requests
    (``pacnet.cluster.config.LOBBY_CHECKS``)."""


def up(settings: Settings) -> Stack:
    """Start Redis, the board servers, HAProxy in front of them and the map follower.

    Raises:
        ClusterError: one is already up in the folder, or a part did not start (what was
            started is stopped again).
        MissingComponent: redis-server or haproxy is not installed.
    """
    directory = settings.directory.resolve()
    if (directory / STATE).exists():
        raise ClusterError(f"a cluster is already up in {directory}: pacnet cluster down first")
    directory.mkdir(parents=True, exist_ok=True)
    token = settings.admin_token or new_token()
    started: list[int] = []
    try:
        redis = Redis.start(directory / "redis", detach=True)
        started.append(redis.component.process.pid)
        serving = [
            _serve(directory, f"s{number}", redis.port, token, settings)
            for number in range(1, settings.servers + 1)
        ]  # (all start at once; then each is waited for)
        started += [component.process.pid for component, _ in serving]
        for component, port in serving:
            _until_healthy(component, settings.host, port)
        members = [Process(c.name, c.process.pid, port) for c, port in serving]
        config = haproxy_config(
            directory / "haproxy",
            [Member(m.name, settings.host, m.port) for m in members],
            host=settings.host, port=settings.port, stats_port=settings.stats_port,
        )  # fmt: skip
        (directory / "haproxy").mkdir(exist_ok=True)
        write_maps(directory / "haproxy", settings.lobby_check)
        haproxy = HAProxy.start(
            directory / "haproxy", config, ready_port=settings.port, detach=True
        )
        started.append(haproxy.component.process.pid)
        follow = spawn(
            "follow",
            [sys.executable, "-m", "pacnet", "cluster", "follow", "--redis",
             f"127.0.0.1:{redis.port}", "--haproxy", str(directory / "haproxy"),
             "--log-format", "json"],
            directory, detach=True,
        )  # fmt: skip
        started.append(follow.process.pid)
    except (ComponentFailed, ClusterError, OSError) as exc:
        for pid in reversed(started):
            _stop(pid)
        raise ClusterError(f"the cluster did not start: {exc}") from exc
    stack = Stack(
        directory=str(directory), host=settings.host, port=settings.port,
        stats_port=settings.stats_port, admin_token=token,
        redis=Process("redis", redis.component.process.pid, redis.port),
        haproxy=Process("haproxy", haproxy.component.process.pid, settings.port),
        follow=Process("follow", follow.process.pid, 0), members=members,
    )  # fmt: skip
    stack.save()
    return stack


def down(directory: Path) -> list[str]:
    """Stop every process of the cluster in ``directory``; returns what was stopped.

    Raises:
        ClusterError: no cluster is up there.
    """
    stack = Stack.load(directory)
    stopped = [process.name for process in stack.processes() if _stop(process.pid)]
    (directory / STATE).unlink()
    return stopped


def _serve(
    directory: Path, name: str, redis_port: int, token: str, settings: Settings
) -> tuple[Component, int]:
    """Start the board server ``name`` on a free port; returns it and its port."""
    port = free_port(settings.host)
    command = [
        sys.executable, "-m", "pacnet", "cluster", "serve", "--name", name, "--host",
        settings.host, "--port", str(port), "--redis", f"127.0.0.1:{redis_port}",
        f"--admin-token={token}", "--log-format", "json", *settings.server_arguments,
    ]  # fmt: skip
    if settings.lease is not None:
        command += ["--lease", str(settings.lease)]
    return spawn(name, command, directory, detach=True), port


def _until_healthy(component: Component, host: str, port: int) -> None:
    """Wait until the board server ``component`` answers ``/healthz``."""

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=1):
                return True
        except urllib.error.URLError as exc:
            raise OSError(str(exc)) from exc

    until_ready(component, healthy)


def running(pid: int) -> bool:
    """Whether ``pid`` runs: not gone, and not a zombie (exited, and not yet waited for by a
    parent: ``up`` is not its parent any more, and a container's init may never reap it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # our own child: reap it if it exited
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return False
    except ChildProcessError:
        pass
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def _stop(pid: int) -> bool:
    """SIGTERM ``pid``, then SIGKILL if it has not stopped within ``STOP_WITHIN``; whether
    it was running."""
    if not running(pid):
        return False
    os.kill(pid, signal.SIGCONT)  # a stopped process cannot act on SIGTERM
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_WITHIN
    while time.monotonic() < deadline:
        if not running(pid):
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return True


# --- status --------------------------------------------------------------------------------


@dataclass
class MemberStatus:
    """One board server as ``status`` shows it."""

    name: str
    address: str
    running: bool
    haproxy: str
    """HAProxy's view: UP, DOWN, or ? when HAProxy does not answer."""
    share: float | None
    """Its share of the connections HAProxy made, since the start."""
    health: dict[str, Any] | None
    """What its ``/healthz`` answered (rooms, users), or None."""
    lobby: float | None = None
    """Its share of the lobby requests HAProxy sent during the look (leastconn's choice: the
    catalog server's epidemic shows here), or None when there were none."""
    requests: float | None = None
    """Requests it answered a second, over the look."""
    errors: float | None = None
    """Of them, errors a second."""


def status(directory: Path, *, interval: float = 1.0) -> tuple[Stack, list[MemberStatus], bool]:
    """Each board server's state, its rates over ``interval`` seconds, and whether Redis
    answers.

    Raises:
        ClusterError: no cluster is up there.
    """
    stack = Stack.load(directory)
    try:
        seen = servers(stack.haproxy_socket)
    except OSError:
        seen = {}
    sessions = {
        m.name: sum(int(row.get("stot") or 0) for (_, s), row in seen.items() if s == m.name)
        for m in stack.members
    }
    total = sum(sessions.values())
    before = {m.name: _requests(stack.host, m.port) for m in stack.members}
    lobby_before = _lobby_sessions(stack)
    time.sleep(interval)
    lobby = {name: n - lobby_before.get(name, 0) for name, n in _lobby_sessions(stack).items()}
    lobby_total = sum(lobby.values())
    rows = []
    for member in stack.members:
        row = seen.get(("boards", member.name), {})
        after = _requests(stack.host, member.port)
        start = before[member.name]
        rates = None if start is None or after is None else (
            (after[0] - start[0]) / interval, (after[1] - start[1]) / interval
        )  # fmt: skip
        rows.append(
            MemberStatus(
                name=member.name, address=f"{stack.host}:{member.port}",
                running=running(member.pid), haproxy=(row.get("status") or "?").split()[0],
                share=sessions[member.name] / total if total else None,
                lobby=lobby.get(member.name, 0) / lobby_total if lobby_total else None,
                health=_health(stack.host, member.port),
                requests=rates[0] if rates else None, errors=rates[1] if rates else None,
            )
        )  # fmt: skip
    try:
        redis_up = redis_command(stack.redis.port, "PING") == b"+PONG\r\n"
    except OSError:
        redis_up = False
    return stack, rows, redis_up


def _lobby_sessions(stack: Stack) -> dict[str, int]:
    """Lobby requests HAProxy has sent each server since it started (none if it is gone)."""
    try:
        seen = servers(stack.haproxy_socket)
    except OSError:
        return {}
    lobby: Counter[str] = Counter()
    for (backend, server), row in seen.items():
        if backend in LOBBY_BACKENDS:
            lobby[server] += int(row.get("stot") or 0)
    return lobby


def _health(host: str, port: int) -> dict[str, Any] | None:
    address = f"http://{host}:{port}/healthz"
    try:
        with urllib.request.urlopen(address, timeout=1) as response:
            body: dict[str, Any] = json.loads(response.read())
    except urllib.error.HTTPError as refused:
        body = json.loads(refused.read())
    except (OSError, ValueError):
        return None
    return body


def _requests(host: str, port: int) -> tuple[int, int] | None:
    """(requests, errors) the server has answered since it started, from ``/metrics``."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=1) as response:
            text = response.read().decode()
    except (OSError, ValueError):
        return None
    requests = errors = 0
    for family in text_string_to_metric_families(text):
        if family.name != "pacnet_requests":
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                requests += int(sample.value)
                if sample.labels.get("code") != "ok":
                    errors += int(sample.value)
    return requests, errors
