"""``pacnet proxy``: relay between clients and a board server, injecting network faults,
until SIGINT or SIGTERM.

Also runnable on its own, ``python -m faults.proxy_cli --help``. Errors are one line on
stderr and a non-zero exit status, never a traceback.
"""

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Sequence
from typing import NoReturn

import structlog

from faults.proxy import Proxy, ProxyConfig
from protocol.logs import configure_logging

PROG = "pacnet proxy"

log = structlog.get_logger("pacnet.proxy")


def listen_address(text: str) -> tuple[str, int]:
    """An argparse type: ``HOST:PORT`` (``[::1]:PORT`` for IPv6), port 0 meaning any free."""
    host, colon, port_text = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not colon or not host:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    try:
        port = int(port_text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} has no port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: the port must be 0-65535")
    return host, port


def upstream_url(text: str) -> str:
    """An argparse type: a ``ws://`` or ``wss://`` URL."""
    try:
        ProxyConfig(upstream=text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def add_proxy_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``pacnet proxy``."""
    defaults = ProxyConfig()
    parser.add_argument(
        "--listen", type=listen_address, default=(defaults.host, defaults.port),
        metavar="HOST:PORT", help=f"address to listen on ({defaults.host}:{defaults.port})",
    )  # fmt: skip
    parser.add_argument(
        "--upstream", type=upstream_url, default=defaults.upstream, metavar="URL",
        help="the board server to relay to (%(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--seed", type=int, default=None,
        help="seed for every random choice of the faults (a run can be replayed)",
    )  # fmt: skip
    parser.add_argument(
        "--admin-token", default=os.environ.get("PACNET_ADMIN_TOKEN"), metavar="TOKEN",
        help="token for the /admin endpoint (fault injection); default: $PACNET_ADMIN_TOKEN, "
        "else a new one, printed at start",
    )  # fmt: skip
    parser.add_argument(
        "--trace", action="store_true",
        help="log every message relayed, for pacnet trace",
    )  # fmt: skip
    parser.add_argument(
        "--log-format", choices=("json", "console"), default="console",
        help="one JSON object per line, or text for people (%(default)s)",
    )  # fmt: skip


def run_proxy(args: argparse.Namespace) -> int:
    """Run the proxy the flags describe; returns the process's exit status."""
    configure_logging(args.log_format)
    host, port = args.listen
    try:
        config = ProxyConfig(
            host=host, port=port, upstream=args.upstream, seed=args.seed,
            admin_token=args.admin_token or None, trace=args.trace,
        )  # fmt: skip
    except ValueError as exc:
        return _fail(str(exc))
    return asyncio.run(_run(Proxy(config)))


async def _run(proxy: Proxy) -> int:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, _stop, proxy, signum)
    try:
        await proxy.start()
    except OSError as exc:
        config = proxy.config
        reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
        return _fail(f"cannot listen on {config.host}:{config.port}: {reason}")
    await proxy.serve_until_stopped()
    return 0


def _stop(proxy: Proxy, signum: int) -> None:
    log.info("proxy_stopping", signal=signal.Signals(signum).name)
    proxy.stop()


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 1


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m faults.proxy_cli``: the same flags as ``pacnet proxy``."""
    parser = _OneLineParser(
        prog=PROG,
        description="Relay WebSocket messages between pacnet clients and a board server, "
        "injecting network faults switched on through /admin (pacnet chaos).",
    )
    add_proxy_arguments(parser)
    return run_proxy(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
