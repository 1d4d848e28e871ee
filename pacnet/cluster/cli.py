"""``pacnet cluster``: a group of board servers on real components, on one machine.

pacnet cluster up [--servers N] [--port P]   Redis, N board servers, HAProxy in front
pacnet cluster status                        each server, as it and HAProxy see it
pacnet cluster down                          stop everything up started
pacnet cluster lobby-check [live|store]      what the balancer checks before it sends a
                                             server lobby requests: show it, or switch it
pacnet cluster seek [--trust-lobby]          players who find their rooms through the lobby
pacnet cluster serve --name s1 --redis ...   one board server of a group (up runs these)
pacnet cluster follow --haproxy DIR          HAProxy's room map follows Redis (up runs it)
pacnet cluster config --servers s1=HOST:PORT,...   HAProxy's configuration, printed
"""

import argparse
import contextlib
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pacnet.cluster.stack import MemberStatus, Stack

from pacnet.cmdline.args import (
    EXIT_USAGE,
    add_log_format,
    fail,
    non_negative_seconds,
    peer_address,
    port_number,
    positive_float,
    positive_int,
    ws_url,
)

PROG = "pacnet cluster"
DESCRIPTION = (
    "A group of board servers behind HAProxy, their rooms kept in Redis: rooms move to "
    "another server when theirs dies, and each room has one owner at a time."
)
REDIS = "127.0.0.1:6379"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")


def server_name(text: str) -> str:
    """A board server's name in its group (an argparse type): it names an HAProxy backend
    and sits in Redis keys, so it is plain."""
    if _NAME.fullmatch(text) is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} cannot name a server: 1 to 32 letters, digits, '.', '-' or '_'"
        )
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from pacnet.cluster.config import LEASE, LOBBY_CHECKS
    from pacnet.cluster.stack import default_directory
    from pacnet.server.cli import add_arguments as add_server_arguments
    from pacnet.server.layout import layout_argument

    commands = parser.add_subparsers(dest="cluster_command", metavar="COMMAND", required=True)
    directory = argparse.ArgumentParser(add_help=False)
    directory.add_argument(
        "--dir", type=Path, default=default_directory(), metavar="DIR",
        help="where the cluster keeps its files and its record (%(default)s)",
    )  # fmt: skip
    up = commands.add_parser(
        "up", parents=[directory], help="start Redis, board servers and HAProxy in front",
        description="Start, in the background: redis-server, N board servers (pacnet cluster "
        "serve) and HAProxy in front of them on one address, and the follower that keeps "
        "HAProxy's room map in step with Redis. Prints the address to play on, the admin "
        "token and HAProxy's stats page. Needs redis-server and haproxy (apt-get install "
        "redis-server haproxy).",
    )  # fmt: skip
    up.add_argument(
        "--servers", type=_server_count, default=2, metavar="N",
        help="board servers, 1 to 16 (%(default)s)",
    )  # fmt: skip
    up.add_argument("--host", default="127.0.0.1", help="address to listen on (%(default)s)")
    up.add_argument(
        "--port", type=port_number, default=8765,
        help="HAProxy's port: where players connect (%(default)s)",
    )  # fmt: skip
    up.add_argument(
        "--stats-port", type=port_number, default=8404, metavar="PORT",
        help="HAProxy's stats page (%(default)s)",
    )  # fmt: skip
    up.add_argument(
        "--lease", type=positive_float, default=None, metavar="SECONDS",
        help=f"each room's lease: a server frozen longer loses its rooms ({LEASE:g})",
    )  # fmt: skip
    up.add_argument("--admin-token", metavar="TOKEN", help="the servers' admin token (new)")
    up.add_argument(
        "--layout", type=layout_argument, metavar="NAME_OR_PATH",
        help="the maze of every room (the servers' default)",
    )  # fmt: skip
    up.add_argument("--calm", action="store_true", help="ghosts cannot catch anyone")
    up.add_argument(
        "--lobby-check", choices=LOBBY_CHECKS, default="store",
        help="what HAProxy checks before it sends a server lobby requests: that it is alive, "
        "or also that it can read the store (%(default)s; pacnet cluster lobby-check "
        "switches it while the cluster runs)",
    )  # fmt: skip
    status = commands.add_parser(
        "status", parents=[directory], help="each server, as it and HAProxy see it",
        description="For each board server: whether HAProxy sends it players (UP or DOWN), "
        "its share of the connections, and of the lobby requests over one second, its rooms "
        "and users, and the requests it answered a second over that second; and whether "
        "Redis answers.",
    )  # fmt: skip
    shown = status.add_mutually_exclusive_group()
    shown.add_argument("--json", action="store_true", help="JSON, for machines")
    shown.add_argument(
        "--watch", action="store_true",
        help="look again every second until Ctrl-C: a projector's view of the group",
    )  # fmt: skip
    commands.add_parser(
        "down", parents=[directory], help="stop everything up started",
        description="Stop the board servers (each saves its rooms and gives them up), the "
        "follower, HAProxy and Redis.",
    )  # fmt: skip
    check = commands.add_parser(
        "lobby-check", parents=[directory],
        help="show or switch what the balancer checks before it sends a server lobby requests",
        description="The lobby is balanced by leastconn over every server. live: HAProxy "
        "checks only that a server is alive, and a server that answers fast and wrong (the "
        "catalog server's full disk: pacnet chaos add disk_full --action lobby) draws most "
        "lobby requests. store: it also checks that the server can read the store "
        "(/healthz?store=1), and takes one that cannot out of the lobby. Switched at once, "
        "through HAProxy's runtime API.",
    )  # fmt: skip
    check.add_argument("check", nargs="?", choices=LOBBY_CHECKS, help="switch to this")
    seek = commands.add_parser(
        "seek", help="players who find their rooms through the lobby",
        description="Seekers: each asks the lobby (GET /lobby, a connection of its own), joins "
        "the fullest room with space, stays a moment, leaves and comes again. Every second "
        "it prints which server answered the lobby, how many answers were empty, and the "
        "harm: rooms opened because the lobby listed none, and joins that failed. A seeker "
        "validates the lobby (an empty one while it knows rooms exist is invalid: it asks "
        "again) unless --trust-lobby. The traffic of the catalog server's epidemic "
        "(docs/cluster.md).",
    )  # fmt: skip
    seek.add_argument(
        "--server", type=ws_url, default="ws://127.0.0.1:8765", metavar="URL",
        help="the group's address, HAProxy's (%(default)s)",
    )  # fmt: skip
    seek.add_argument(
        "-n", "--seekers", type=positive_int, default=20, metavar="N",
        help="seekers at once (%(default)s)",
    )  # fmt: skip
    seek.add_argument(
        "--duration", type=positive_float, default=30.0, metavar="SECONDS",
        help="how long they seek (%(default)s)",
    )  # fmt: skip
    seek.add_argument(
        "--stay", type=non_negative_seconds, default=0.2, metavar="SECONDS",
        help="how long a seeker stays in its room before it seeks again: short, a crowd that "
        "keeps the lobby busy (%(default)s)",
    )  # fmt: skip
    seek.add_argument(
        "--trust-lobby", action="store_true",
        help="believe an empty lobby and open a room of one's own (no validation at step 7)",
    )  # fmt: skip
    seek.add_argument("--json", type=Path, metavar="FILE", help="also write the counts to FILE")
    follow = commands.add_parser(
        "follow", help="keep HAProxy's room map in step with the directory in Redis",
        description="Read the room directory in Redis ten times a second and tell HAProxy, "
        "through its runtime API, which server holds each room (up runs this).",
    )  # fmt: skip
    _add_redis(follow)
    where = follow.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--haproxy", type=Path, metavar="DIR",
        help="HAProxy's folder on this machine: its admin socket and rooms.map",
    )  # fmt: skip
    where.add_argument(
        "--haproxy-api", type=peer_address, metavar="HOST:PORT",
        help="HAProxy's runtime API over TCP (in containers), with --map",
    )  # fmt: skip
    follow.add_argument(
        "--map", type=Path, metavar="PATH",
        help="with --haproxy-api: the room map's path as HAProxy's configuration names it",
    )  # fmt: skip
    add_log_format(follow)
    config = commands.add_parser(
        "config", help="print HAProxy's configuration for a group",
        description="Print HAProxy's configuration for board servers that run elsewhere (in "
        "containers: docker-compose.cluster.yml's is made by this), from the template up uses.",
    )  # fmt: skip
    config.add_argument(
        "--servers", type=_members, required=True, metavar="NAME=HOST:PORT,...",
        help="each board server: its name in the group and where it listens",
    )  # fmt: skip
    config.add_argument("--host", default="0.0.0.0", help="address to listen on (%(default)s)")
    config.add_argument("--port", type=port_number, default=8765, help="players' (%(default)s)")
    config.add_argument(
        "--stats-port", type=port_number, default=8404, metavar="PORT",
        help="the stats page (%(default)s)",
    )  # fmt: skip
    config.add_argument(
        "--admin-api", default="ipv4@0.0.0.0:9999", metavar="ADDRESS",
        help="where the runtime API listens, in HAProxy's syntax (%(default)s)",
    )  # fmt: skip
    config.add_argument(
        "--map", type=Path, default=Path("/usr/local/etc/haproxy/rooms.map"), metavar="PATH",
        help="the room map's path where HAProxy runs (%(default)s)",
    )  # fmt: skip
    serve = commands.add_parser(
        "serve", help="run one board server of a group",
        description="Run a board server whose rooms live in a group's Redis: it claims a "
        "room (a lease with a fencing token) before opening it, saves it there, and gives it "
        "up when it stops. Every flag of pacnet serve but --state.",
    )  # fmt: skip
    serve.add_argument(
        "--name", type=server_name, required=True,
        help="this server's name in the group (its HAProxy backend's, too)",
    )  # fmt: skip
    _add_redis(serve)
    serve.add_argument(
        "--lease", type=positive_float, default=LEASE, metavar="SECONDS",
        help="how long a room's lease lasts unless renewed: a server frozen longer loses its "
        "rooms (%(default)s)",
    )  # fmt: skip
    add_server_arguments(serve, own_state=False)
    for command in commands.choices.values():
        command.set_defaults(parser=command)


def _add_redis(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--redis", type=peer_address, default=REDIS, metavar="HOST:PORT",
        help="the group's Redis (%(default)s)",
    )  # fmt: skip


def _members(text: str) -> list[tuple[str, str, int]]:
    """``NAME=HOST:PORT,...`` (an argparse type)."""
    members = []
    for part in text.split(","):
        name, _, address = part.partition("=")
        if not address:
            raise argparse.ArgumentTypeError(f"{part!r} is not NAME=HOST:PORT")
        host, port = peer_address(address)
        members.append((server_name(name), host, port))
    return members


def _server_count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 16:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of servers from 1 to 16")
    return int(text)


def run(args: argparse.Namespace) -> int:
    command = args.cluster_command
    if command == "serve":
        return _serve(args)
    if command == "follow":
        return _follow(args)
    if command == "seek":
        return _seek(args)
    if command == "config":
        from pacnet.cluster.config import Member, haproxy_config

        print(haproxy_config(
            Path("."), [Member(*m) for m in args.servers], host=args.host, port=args.port,
            stats_port=args.stats_port, admin_api=args.admin_api, rooms_map=args.map,
        ), end="")  # fmt: skip
        return 0
    from pacnet.cluster.components import MissingComponent
    from pacnet.cluster.stack import ClusterError

    try:
        if command == "up":
            return _up(args)
        if command == "down":
            return _down(args)
        if command == "lobby-check":
            return _lobby_check(args)
        try:
            return _status(args)
        except KeyboardInterrupt:
            return 0  # (--watch: Ctrl-C is how it ends)
    except (ClusterError, MissingComponent) as exc:
        return fail(f"{PROG} {command}", str(exc))


def _up(args: argparse.Namespace) -> int:
    from pacnet.cluster.stack import Settings, up

    if args.port == args.stats_port:
        fail(f"{PROG} up", "--port and --stats-port must differ")
        return EXIT_USAGE
    extra = [*(("--layout", args.layout) if args.layout else ())]
    extra += ["--calm"] if args.calm else []
    stack = up(
        Settings(
            directory=args.dir, servers=args.servers, host=args.host, port=args.port,
            stats_port=args.stats_port, admin_token=args.admin_token, lease=args.lease,
            server_arguments=tuple(extra), lobby_check=args.lobby_check,
        )
    )  # fmt: skip
    names = ", ".join(f"{m.name} on {stack.host}:{m.port}" for m in stack.members)
    print(f"pacnet cluster up: {len(stack.members)} board servers ({names}) behind HAProxy, "
          "their rooms in Redis")  # fmt: skip
    print(f"  play on      {stack.url}  (pacnet play --server {stack.url} --room NAME)")
    print(f"  admin token  {stack.admin_token}")
    print(f"  HAProxy      {stack.stats_url}  (its stats page)")
    print(f"  Redis        127.0.0.1:{stack.redis.port}")
    print(f"  files        {stack.directory}")
    print("then: pacnet cluster status, pacnet cluster down")
    return 0


def _down(args: argparse.Namespace) -> int:
    from pacnet.cluster.stack import down

    stopped = down(args.dir)
    print(f"pacnet cluster down: stopped {', '.join(stopped) or 'nothing (all had exited)'}")
    return 0


def _lobby_check(args: argparse.Namespace) -> int:
    from pacnet.cluster.config import LOBBY_CHECKED
    from pacnet.cluster.stack import Stack

    stack = Stack.load(args.dir)
    try:
        if args.check is not None:
            stack.set_lobby_check(args.check)
        check = stack.lobby_check()
    except OSError as exc:
        return fail(f"{PROG} lobby-check", f"HAProxy's runtime API did not answer: {exc}")
    print(f"the lobby's balancer checks {LOBBY_CHECKED[check]}")
    return 0


def _status(args: argparse.Namespace) -> int:
    import json
    import sys
    from dataclasses import asdict

    from pacnet.cluster.stack import status

    while True:
        stack, rows, redis_up = status(args.dir)
        try:
            check: str | None = stack.lobby_check()
        except OSError:
            check = None
        if args.json:
            print(json.dumps({"url": stack.url, "stats": stack.stats_url, "redis": redis_up,
                              "lobbyCheck": check,
                              "servers": [asdict(row) for row in rows]}, indent=1))  # fmt: skip
            return 0
        shown = _status_text(stack, rows, redis_up, check)
        if not args.watch:
            print(shown)
            return 0
        clear = "\x1b[H\x1b[2J" if sys.stdout.isatty() else ""
        print(f"{clear}{shown}\n(every second; Ctrl-C to stop)", flush=True)


def _status_text(
    stack: "Stack", rows: "list[MemberStatus]", redis_up: bool, check: str | None
) -> str:
    from pacnet.cluster.config import LOBBY_CHECKED

    lines = [
        f"pacnet cluster at {stack.url}  (HAProxy stats: {stack.stats_url})",
        f"{'server':8} {'address':22} {'process':8} {'haproxy':8} {'share':>6} {'lobby':>6} "
        f"{'rooms':>6} {'users':>6} {'req/s':>7} {'err/s':>6}",
    ]
    for row in rows:
        health = row.health or {}
        share = f"{row.share:.0%}" if row.share is not None else "-"
        lobby = f"{row.lobby:.0%}" if row.lobby is not None else "-"
        rate = f"{row.requests:.0f}" if row.requests is not None else "-"
        errors = f"{row.errors:.0f}" if row.errors is not None else "-"
        lines.append(
            f"{row.name:8} {row.address:22} {'running' if row.running else 'gone':8} "
            f"{row.haproxy:8} {share:>6} {lobby:>6} {health.get('rooms', '-')!s:>6} "
            f"{health.get('users', '-')!s:>6} {rate:>7} {errors:>6}"
        )
    answers = "answers" if redis_up else "DOES NOT ANSWER"
    lines.append(f"{'redis':8} {f'127.0.0.1:{stack.redis.port}':22} {answers}")
    if check is not None:
        lines.append(f"the lobby's balancer checks {LOBBY_CHECKED[check]}")
    return "\n".join(lines)


def _seek(args: argparse.Namespace) -> int:
    import asyncio
    import json
    import secrets
    import time
    from urllib.parse import urlsplit

    from pacnet.cluster.seek import SeekCounts, SeekPlan, ask_lobby, seek, summary
    from pacnet.cmdline.lifecycle import stop_on_signals
    from pacnet.protocol.outcome import Outcome

    address = urlsplit(args.server)
    first = asyncio.run(ask_lobby(address.hostname or "127.0.0.1", address.port or 80))
    if first.outcome is Outcome.POST_FAILED:  # one line, not a screenful of nothing answered
        return fail(f"{PROG} seek", f"cannot reach {args.server}: {first.why}")

    plan = SeekPlan(
        url=args.server, seekers=args.seekers, stay=args.stay, trust=args.trust_lobby,
        tag=f"seek{secrets.token_hex(2)}",
    )  # fmt: skip
    counts = SeekCounts()
    trust = "trusting the lobby" if plan.trust else "validating the lobby"
    print(f"{plan.seekers} seekers at {plan.url}, {trust}, for {args.duration:g} s")
    started = time.monotonic()

    async def run() -> None:
        with stop_on_signals() as stop:
            loop = asyncio.get_running_loop()
            loop.call_later(args.duration, stop.set)
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(seek(plan, counts, stop))
                before, since = SeekCounts(), time.monotonic()
                while not stop.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), 1.0)
                    seconds = time.monotonic() - since
                    print(summary(counts.since(before), seconds), flush=True)
                    before, since = counts.copy(), time.monotonic()

    asyncio.run(run())
    seconds = time.monotonic() - started
    print(f"in all, over {seconds:.0f} s: {summary(counts, seconds)}")
    if args.json is not None:
        args.json.write_text(json.dumps(counts.as_json(), indent=1) + "\n")
    return 0


def _follow(args: argparse.Namespace) -> int:
    import asyncio
    import functools

    from pacnet.cluster.components import RuntimeApi, admin_socket, runtime
    from pacnet.cluster.follow import MapFollower
    from pacnet.cluster.lease import Leases
    from pacnet.cluster.link import StoreLink
    from pacnet.cmdline.lifecycle import stop_on_signals
    from pacnet.cmdline.logs import configure_logging

    prog = f"{PROG} follow"
    if args.haproxy_api is not None and args.map is None:
        fail(prog, "--haproxy-api needs --map: the room map's path in HAProxy's config")
        return EXIT_USAGE
    configure_logging(args.log_format)
    host, port = args.redis
    api: RuntimeApi
    if args.haproxy is not None:
        api = admin_socket(args.haproxy)
        if not api.exists():
            return fail(prog, f"no HAProxy admin socket at {api}")
        rooms_map, write_file = args.haproxy / "rooms.map", True
    else:
        api, rooms_map, write_file = args.haproxy_api, args.map, False
    follower = MapFollower(
        Leases(StoreLink(host, port), "follow", 1.0), functools.partial(runtime, api),
        rooms_map, write_file=write_file,
    )  # fmt: skip

    async def follow() -> None:
        with stop_on_signals() as stop:
            task = asyncio.ensure_future(follower.run())
            await stop.wait()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    asyncio.run(follow())
    return 0


def _serve(args: argparse.Namespace) -> int:
    from pacnet.cluster.keeper import RedisKeeper
    from pacnet.cluster.link import StoreLink
    from pacnet.cmdline.lifecycle import run_on, run_until_signalled
    from pacnet.server.cli import prepare, server_config
    from pacnet.server.layout import LayoutError
    from pacnet.server.net import BoardServer

    prog = f"{PROG} {args.cluster_command}"
    if (status := prepare(prog, args)) is not None:
        return status
    host, port = args.redis
    keeper = RedisKeeper(StoreLink(host, port, trace=args.trace), args.name, args.lease)
    try:
        server = BoardServer(server_config(args), keeper=keeper)
    except (LayoutError, ValueError) as exc:
        return fail(prog, str(exc))
    return run_on(args.loop, run_until_signalled(server, prog, "server"))
