"""``pacnet play``: the game in a window, its board on a server (an embedded one by default)."""

import argparse
import os
from pathlib import Path

from pacnet.cmdline.args import add_room_argument, fail, in_room, player_name, positive_float
from pacnet.server import embedded

PROG = "pacnet play"
DESCRIPTION = (
    "Play pac-man in a window. The board lives on a server: an embedded one on a free port "
    "unless --server is given. Arrows or WASD (or a gamepad) steer; H shows the calls panel; I "
    "the request inspector; F7 and F8 switch the client's own faults (network down, replies "
    "not applied); Esc quits."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``pacnet play``."""
    embedded.add_server_arguments(parser, layout="classic", why="the arcade's")
    add_room_argument(parser, "play in")
    parser.add_argument(
        "--name", type=player_name, metavar="NAME",
        help="your name on the board (a random one by default)",
    )  # fmt: skip
    parser.add_argument(
        "--exit-after", type=positive_float, metavar="SECONDS",
        help="close the window after this long (for automation)",
    )  # fmt: skip
    parser.add_argument(
        "--screenshot", type=Path, metavar="PATH", help="save the last frame as a PNG on exit"
    )
    parser.add_argument(
        "--fullscreen", action="store_true",
        help="take the whole screen, for a projector (F11 switches either way)",
    )  # fmt: skip
    parser.add_argument("--hud", action="store_true", help="start with the H panel open")
    parser.add_argument(
        "--inspector", action="store_true", help="start with the I request inspector open"
    )
    parser.add_argument(
        "--no-retries",
        action="store_true",
        help="make every call one attempt, so its first outcome shows (docs/resilience.md)",
    )
    parser.add_argument(
        "--no-prediction",
        action="store_true",
        help="draw your pac-man from the replies alone, not predicted between them: a lost "
        "reply then shows as a stall and a leap (docs/resilience.md)",
    )
    parser.add_argument(
        "--trace", type=Path, metavar="FILE",
        help="log every call (and the embedded server's side) as JSON to FILE, for pacnet trace",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Open the window the flags describe; returns the exit status."""
    # Imported here, not above: `pacnet play --help` has no use for the client, its logging
    # or the event loop, which take most of a second to import.
    import asyncio
    import logging
    import secrets

    from pacnet.client.sessions import Sessions
    from pacnet.cmdline.logs import configure_logging

    if not _has_display():
        return fail(
            PROG,
            "no display to open a window on: run it on a desktop, or under a virtual screen "
            "(xvfb-run uv run pacnet play); for a game without a window, try pacnet demo",
        )
    trace_log = None
    if args.trace is not None:
        try:
            trace_log = args.trace.open("a")
        except OSError as exc:
            return fail(PROG, f"cannot write the trace to {args.trace}: {exc.strerror}")
        configure_logging("json", stream=trace_log)
    else:
        configure_logging("console", level=logging.WARNING)
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # no banner in the player's terminal
    try:
        from pacnet.window.window import run_window
    except ImportError as exc:  # pygame-ce is the window's own dependency, an extra
        if exc.name != "pygame":
            raise
        return fail(
            PROG,
            "the window needs pygame-ce, which is not installed here: "
            "uv run --extra window pacnet play (or pip install 'pacnet[window]')",
        )
    options = {
        "exit_after": args.exit_after, "screenshot": args.screenshot, "hud": args.hud,
        "inspector": args.inspector, "trace": trace_log is not None, "sessions": Sessions(),
        "fullscreen": args.fullscreen,
    }  # fmt: skip
    if args.no_retries:
        options["retries"] = None
    if args.no_prediction:
        options["predict"] = False
    name = args.name or f"player-{secrets.token_hex(2)}"

    async def play() -> int:
        # Tracing on, so the window can hold its outcomes against the server's truth.
        config = embedded.ServerConfig(port=0, layout=args.layout, trace=True)
        async with embedded.board_url(args.server, config, announce_as=PROG) as url:
            await run_window(in_room(url, args.room), name, **options)
        return 0

    try:
        return asyncio.run(play())
    except embedded.CannotStart as exc:
        return fail(PROG, str(exc))
    finally:
        if trace_log is not None:
            trace_log.close()


def _has_display() -> bool:
    driver = os.environ.get("SDL_VIDEODRIVER", "")
    return bool(
        os.environ.get("DISPLAY")
        or os.environ.get("WAYLAND_DISPLAY")
        or driver in ("dummy", "offscreen", "windows", "cocoa")
    )
