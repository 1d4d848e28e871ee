"""The real components a group of board servers runs on, run the way their operators run them:
``redis-server`` and HAProxy from the OS's packages, each a child process with a configuration
file of its own in a directory of its own, listening on 127.0.0.1.

Neither is imitated: where one is missing, ``MissingComponent`` says in one line which
package to install. HAProxy's runtime API (its admin socket, a Unix socket in the directory)
is how a running HAProxy is asked what it sees (``show stat``) and told what changed.
"""

import csv
import hashlib
import io
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

STARTUP = 10.0
"""Seconds a component has to start answering."""


class MissingComponent(Exception):
    """A component's program is not installed; the message says which package has it."""


class ComponentFailed(Exception):
    """A component did not start, or stopped; the message has the last of its output."""


def program(name: str, package: str) -> str:
    """The path of ``name``, or ``MissingComponent`` naming the package to install."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if found is None:
        raise MissingComponent(f"{name} is not installed: apt-get install {package}")
    return found


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on at this moment (the component binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port


@dataclass
class Component:
    """A component running as a child process, its output in ``log``."""

    name: str
    process: subprocess.Popen[bytes]
    directory: Path
    log: Path

    def stop(self, timeout: float = 5.0) -> None:
        """Ask it to stop (SIGTERM), then kill it if it has not within ``timeout``."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def failed(self, why: str) -> ComponentFailed:
        self.stop()
        tail = self.log.read_text(errors="replace")[-600:].strip()
        return ComponentFailed(f"{self.name} {why}: {tail or 'no output'}")


def spawn(name: str, command: list[str], directory: Path, *, detach: bool = False) -> Component:
    """Start ``command`` in ``directory``, its output in ``NAME.log`` there; ``detach``: in a
    session of its own, so it outlives the command that started it (``pacnet cluster up``)
    and the terminal's hangup."""
    log = directory / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=directory, stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=detach,
        )  # fmt: skip
    return Component(name, process, directory, log)


def until_ready(component: Component, ready: Callable[[], bool]) -> None:
    """Wait until ``ready()`` says the component answers (an OSError: not yet)."""
    deadline = time.monotonic() + STARTUP
    while time.monotonic() < deadline:
        if component.process.poll() is not None:
            raise component.failed(f"exited with status {component.process.returncode}")
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise component.failed(f"did not answer within {STARTUP:g} s")


# --- Redis -------------------------------------------------------------------------------


def redis_command(port: int, *words: str, host: str = "127.0.0.1") -> bytes:
    """Send one command to Redis and return its raw reply (RESP), for readiness and tests."""
    request = f"*{len(words)}\r\n".encode() + b"".join(
        f"${len(w.encode())}\r\n".encode() + w.encode() + b"\r\n" for w in words
    )
    with socket.create_connection((host, port), timeout=1.0) as sock:
        sock.sendall(request)
        reply = b""
        while not reply.endswith(b"\r\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    return reply


@dataclass
class Redis:
    """``redis-server`` on 127.0.0.1:``port``, its files in ``component.directory``."""

    component: Component
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @classmethod
    def start(cls, directory: Path, port: int | None = None, *, detach: bool = False) -> "Redis":
        """Start it with a configuration of its own (no persistence of its own: pacnet keeps
        what it needs in it, and a cluster that is taken down starts afresh).

        Raises:
            MissingComponent: redis-server is not installed.
            ComponentFailed: it did not start.
        """
        binary = program("redis-server", "redis-server")
        directory.mkdir(parents=True, exist_ok=True)
        port = port or free_port()
        config = directory / "redis.conf"
        config.write_text(
            f'bind 127.0.0.1\nport {port}\ndir {directory}\nsave ""\nappendonly no\n'
            "protected-mode yes\ndaemonize no\nloglevel notice\n"
        )
        component = spawn("redis", [binary, str(config)], directory, detach=detach)
        redis = cls(component, port)
        until_ready(component, lambda: redis_command(port, "PING") == b"+PONG\r\n")
        return redis

    def stop(self) -> None:
        self.component.stop()


# --- HAProxy ------------------------------------------------------------------------------


def admin_socket(directory: Path) -> Path:
    """Where the admin socket of the HAProxy whose folder is ``directory`` goes: in the folder,
    unless that path is too long for a Unix socket (HAProxy takes 97 bytes, Linux 107); then in
    a folder of its own under the temporary directory, named after the folder (the same every
    time)."""
    path = directory / "admin.sock"
    if len(bytes(path)) <= 90:
        return path
    digest = hashlib.sha256(bytes(directory.resolve())).hexdigest()[:16]
    short = Path(tempfile.gettempdir()) / f"pacnet-haproxy-{digest}"
    short.mkdir(mode=0o700, exist_ok=True)
    return short / "admin.sock"


@dataclass
class HAProxy:
    """HAProxy run in the foreground (``-db``) from ``haproxy.cfg`` in its directory, its admin
    socket at ``admin_socket(directory)``."""

    component: Component
    socket_path: Path

    @classmethod
    def start(
        cls, directory: Path, config: str, *, ready_port: int, detach: bool = False
    ) -> "HAProxy":
        """Write ``config`` (which must declare ``stats socket {admin_socket(directory)} level
        admin``) and start HAProxy; ready once ``ready_port`` accepts connections.

        Raises:
            MissingComponent: haproxy is not installed.
            ComponentFailed: it refused the configuration or did not start.
        """
        binary = program("haproxy", "haproxy")
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "haproxy.cfg"
        path.write_text(config)
        checked = subprocess.run([binary, "-c", "-f", str(path)], capture_output=True, text=True)
        if checked.returncode != 0:
            said = (checked.stdout + checked.stderr)[-600:]
            raise ComponentFailed(f"haproxy refused its configuration: {said}")
        component = spawn("haproxy", [binary, "-db", "-f", str(path)], directory, detach=detach)
        haproxy = cls(component, admin_socket(directory))

        def ready() -> bool:
            with socket.create_connection(("127.0.0.1", ready_port), timeout=0.5):
                uses_socket = str(haproxy.socket_path) in config  # (not: its API is on TCP)
                return not uses_socket or haproxy.socket_path.exists()

        until_ready(component, ready)
        return haproxy

    def runtime(self, command: str) -> str:
        """One command to the runtime API (``show stat``, ``set map ...``); its answer."""
        return runtime(self.socket_path, command)

    def servers(self) -> dict[tuple[str, str], dict[str, str]]:
        """What HAProxy sees of each server (``servers``)."""
        return servers(self.socket_path)

    def stop(self) -> None:
        self.component.stop()


RuntimeApi = Path | tuple[str, int]
"""Where a HAProxy's runtime API answers: its admin socket (a Unix socket's path), or a TCP
address (``host, port``: in a container, where the socket's folder is not shared)."""


def runtime(api: RuntimeApi, command: str) -> str:
    """One command to a HAProxy's runtime API (``show stat``, ``set map ...``); its answer.

    Raises:
        OSError: it does not answer (HAProxy is not running).
    """
    if isinstance(api, tuple):
        opened = socket.create_connection(api, timeout=2.0)
    else:
        opened = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        opened.settimeout(2.0)
    with opened as sock:
        if not isinstance(api, tuple):
            sock.connect(str(api))
        sock.sendall(command.encode() + b"\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer.decode()


def servers(api: RuntimeApi) -> dict[tuple[str, str], dict[str, str]]:
    """What a HAProxy sees of each server: (backend, server) -> its ``show stat`` row
    (``status`` UP or DOWN and the like, ``scur`` sessions now, ``stot`` in all, ...).

    Raises:
        OSError: HAProxy does not answer.
    """
    text = runtime(api, "show stat").lstrip("# ")
    rows = csv.DictReader(io.StringIO(text))
    return {
        (row["pxname"], row["svname"]): row
        for row in rows
        if row.get("svname") not in (None, "FRONTEND", "BACKEND")
    }
