"""``pacnet workshop``: one command on the facilitator's laptop that opens a room.

It starts ``pacnet serve`` (tracing, calm, a fresh game kept in the workshop's folder) and
``pacnet proxy`` in front of it, both listening on every address of the machine, their JSON
logs appended to ``server.log`` and ``proxy.log`` in the folder (never truncated: ``pacnet
trace`` reads them afterwards), and prints what to hand out: the page participants open, the
addresses for ``pacnet play``, the admin token. It supervises both as a service manager would:
a server that crashes (a ``crash`` fault, status 70) is started again a second later and
resumes the game, so the room sees a crash and a recovery. Ctrl-C stops both.
"""

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

from pacnet.cmdline.args import fail, port_number, positive_int
from pacnet.cmdline.defaults import CRASH_EXIT_STATUS, SERVER_PORT, TOKEN_ENV, new_token
from pacnet.workshop.room import TABLE_ROOM, Addresses, room_address, tables

PROG = "pacnet workshop"
DESCRIPTION = (
    "Open a room: start a board server and the proxy in front of it on this machine's "
    "addresses, with a fresh game and logs in a folder of their own, and print what to hand "
    "out: the page participants open, the addresses, the admin token. Crashes restart the "
    "server; Ctrl-C stops everything."
)
RESTART_AFTER = 1.0
"""Seconds before a crashed server is started again: long enough for the room to see it gone."""
STARTUP = 20.0
"""Seconds the server and the proxy have to start listening."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``pacnet workshop``."""
    parser.add_argument(
        "--port", type=room_port, default=SERVER_PORT,
        help="the server's port; the proxy listens on the next one (%(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--dir", type=Path, default=Path("workshop"), metavar="FOLDER",
        help="where the game and the logs are kept (%(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--resume", action="store_true",
        help="carry on the game kept in the folder (default: a fresh game)",
    )  # fmt: skip
    parser.add_argument(
        "--host", metavar="ADDRESS",
        help="the address to hand out (default: this machine's on the room's network)",
    )  # fmt: skip
    parser.add_argument(
        "--tables", type=positive_int, metavar="N",
        help=f"a game of its own for each of N tables: rooms {TABLE_ROOM.format(1)} to "
        f"{TABLE_ROOM.format('N')} on the server, each with its page and projector view "
        "(default: one game for the whole room)",
    )  # fmt: skip


def room_port(text: str) -> int:
    """An argparse type: a port with room for the proxy on the next one (1-65534)."""
    port = port_number(text)
    if not 1 <= port <= 65534:
        raise argparse.ArgumentTypeError(f"{text!r}: the proxy needs the next port too (1-65534)")
    return port


def run(args: argparse.Namespace) -> int:
    """Open the room and keep it open until Ctrl-C or SIGTERM."""
    try:
        args.dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return fail(PROG, f"cannot use {args.dir}: {exc.strerror or exc}")
    state = args.dir / "game.sqlite"
    if not args.resume:
        _forget_game(state)
    token = os.environ.get(TOKEN_ENV) or new_token()
    env = {**os.environ, TOKEN_ENV: token}
    room = Addresses(args.host or room_address(), args.port, args.port + 1)
    stop = _stopping()
    server_path, proxy_path = args.dir / "server.log", args.dir / "proxy.log"
    with server_path.open("a") as server_log, proxy_path.open("a") as proxy_log:
        logs = ((server_path, server_log.tell()), (proxy_path, proxy_log.tell()))
        serve = _serve(args.port, state, rooms=len(tables(args.tables or 0)))
        server = _start(serve, server_log, env)
        proxy = _start(_relay(args.port), proxy_log, env)
        try:
            if not _listening(server, proxy, logs, stop):
                return fail(PROG, _why_not(server, proxy, args))
            _announce(room, token, args.dir, tables(args.tables or 0))
            while not stop.is_set():
                if server.poll() is not None:
                    server = _restarted(server, serve, server_log, env, stop)
                if proxy.poll() is not None:
                    return fail(PROG, f"the proxy stopped: see {proxy_path}")
                stop.wait(0.2)
        finally:
            _stop_all(proxy, server)
    print(f"{PROG}: the room is closed; the logs are in {args.dir}", flush=True)
    return 0


def _forget_game(state: Path) -> None:
    """A fresh game: the kept one gone, with SQLite's side files."""
    for suffix in ("", "-wal", "-shm"):
        state.with_name(state.name + suffix).unlink(missing_ok=True)


def _serve(port: int, state: Path, rooms: int = 0) -> list[str]:
    """``pacnet serve`` for a room: every address, tracing, calm, its game kept in ``state``;
    room enough for ``rooms`` tables' games beside the default room's."""
    from pacnet.server import embedded  # for its default alone: not at --help

    most = embedded.ServerConfig().limits.max_rooms
    more = ["--max-rooms", str(rooms + 1)] if rooms + 1 > most else []
    return [
        sys.executable, "-m", "pacnet", "serve", "--host", "0.0.0.0", "--port", str(port),
        "--trace", "--calm", "--log-format", "json", "--state", str(state), *more,
    ]  # fmt: skip


def _relay(port: int) -> list[str]:
    """``pacnet proxy`` on the next port, in front of the server."""
    return [
        sys.executable, "-m", "pacnet", "proxy", "--listen", f"0.0.0.0:{port + 1}",
        "--upstream", f"ws://127.0.0.1:{port}", "--trace", "--log-format", "json",
    ]  # fmt: skip


def _stop_all(*children: subprocess.Popen[bytes]) -> None:
    """SIGTERM each (they close their connections with 1001 and save the game), then wait."""
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()


def _stopping() -> threading.Event:
    """Set on Ctrl-C or SIGTERM."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def _start(command: list[str], log: TextIO, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log, env=env)


def _listening(
    server: subprocess.Popen[bytes],
    proxy: subprocess.Popen[bytes],
    logs: tuple[tuple[Path, int], tuple[Path, int]],
    stop: threading.Event,
) -> bool:
    """Wait until both say they listen in their logs (True), or one has stopped (False).
    ``logs``: each one's log and where this run's lines in it begin (they are appended to)."""
    deadline = time.monotonic() + STARTUP
    for child, (log, offset), event in zip(
        (server, proxy), logs, ("server_started", "proxy_started"), strict=True
    ):
        while not _said(log, offset, event):
            if child.poll() is not None or stop.is_set() or time.monotonic() > deadline:
                return False
            stop.wait(0.05)
    return True


def _said(log: Path, offset: int, event: str) -> bool:
    """Whether ``log``, from ``offset`` on, has a JSON line of ``event``."""
    with log.open("rb") as lines:
        lines.seek(offset)
        return f'"event": "{event}"'.encode() in lines.read()


def _why_not(
    server: subprocess.Popen[bytes], proxy: subprocess.Popen[bytes], args: argparse.Namespace
) -> str:
    """Why the room did not open, in the words of the component that could not start."""
    for child, log in ((server, "server.log"), (proxy, "proxy.log")):
        if child.poll() is not None:
            lines = (args.dir / log).read_text(errors="replace").splitlines()
            said = next((line for line in reversed(lines) if line.startswith("pacnet ")), "")
            return said.partition(": error: ")[2] or f"the {log[:-4]} stopped: see {args.dir / log}"
    return "the server or the proxy did not start listening in time"


def _announce(room: Addresses, token: str, folder: Path, tables: list[str]) -> None:
    if tables:
        handed = _tables(room, tables)
    else:
        handed = (
            f"  participants open   {room.play}   (or: pacnet play --server {room.proxy})\n"
            f"  ... without retries {room.play}?retries=off   (every failure shows: the first "
            f"exercises)\n"
            f"  the projector       {room.watch}\n"
        )
    print(
        f"{PROG}: the room is open\n"
        f"{handed}"
        f"  the server          {room.server}   (the proxy in front of it: {room.proxy})\n"
        f"  switch faults       export {TOKEN_ENV}={token}\n"
        f"                      pacnet chaos --server {room.server} --proxy {room.proxy} ...\n"
        f"  logs, game          {folder}/server.log, {folder}/proxy.log, {folder}/game.sqlite\n"
        f"  Ctrl-C closes the room",
        flush=True,
    )


def _tables(room: Addresses, names: list[str]) -> str:
    """What to hand out to each table: its game's page, and its projector's view."""
    lines = ["  participants open   their table's page: each table plays a game of its own\n"]
    lines += [f"  {name:<19} {room.play_in(name)}\n" for name in names]
    table_n = TABLE_ROOM.format("N")
    lines.append(f"  ... or              pacnet play --server {room.proxy} --room {table_n}\n")
    lines.append(
        "  ... without retries add ?retries=off to a table's page   (every failure shows: the "
        "first exercises)\n"
    )
    lines += [f"  {name + ' projector':<19} {room.watch_of(name)}\n" for name in names]
    return "".join(lines)


def _restarted(
    server: subprocess.Popen[bytes],
    command: list[str],
    log: TextIO,
    env: dict[str, str],
    stop: threading.Event,
) -> subprocess.Popen[bytes]:
    """A server that crashed, started again after a moment (it resumes the game it kept)."""
    status = server.returncode
    if status != CRASH_EXIT_STATUS:
        raise SystemExit(f"{PROG}: error: the server stopped (status {status}): see its log")
    print(
        f"{PROG}: the server crashed (status {status}); starting it again in "
        f"{RESTART_AFTER:g} s, with the game it kept",
        flush=True,
    )
    stop.wait(RESTART_AFTER)
    return server if stop.is_set() else _start(command, log, env)
