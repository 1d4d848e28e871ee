"""Frame times of the window, with the server running and with it stopped for 3 s.

    uv run python bench/frametime.py

Starts ``pacnet serve`` as a child process and the window in this one (on SDL's dummy video
driver unless a display is set), plays 3 s normally, stops the server with SIGSTOP for 3 s,
resumes it for 2 s more, and prints frame-time p50/p99/max for each phase. Target: p99 under
20 ms in both (docs/performance.md): the network must never hold a frame up.

    uv run python bench/frametime.py --scale 1.5    # the player made the window bigger
    uv run python bench/frametime.py --size 1920x1080 --panels    # a projector's screen
    uv run python bench/frametime.py --json FILE    # the figures for bench/run.py too
    uv run python bench/frametime.py --panels       # with the calls panel and inspector open

``--scale`` resizes the window, as a player dragging its corner would, once it is open: every
frame is then scaled to fit, which is the window's most expensive way to present. ``--size``
resizes it to a given size instead (a full screen's, without taking the screen).
``--panels`` opens the calls panel (H) and the request inspector (I), as the workshop's
facilitator does: their text is the window's costliest drawing.
"""

import argparse
import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pacnet.client.tally import percentile  # noqa: E402

NORMAL, STALLED, AFTER = 3.0, 3.0, 2.0
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    server = subprocess.Popen(
        [sys.executable, "-m", "pacnet", "serve", "--port", "0", "--log-format", "json",
         "--no-state"],
        stderr=subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    assert server.stderr is not None
    line = server.stderr.readline()
    return server, str(json.loads(line)["url"])


def resize(scale: float, to: tuple[int, int] | None = None) -> str:
    """Resize the open window as a window manager would; SDL then sends the window a resize."""
    import warnings

    import pygame

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # we only resize, never draw here
        window = pygame.Window.from_display_module()
    width, height = window.size
    window.size = to or (round(width * scale), round(height * scale))
    return f"{width} x {height} resized to {window.size[0]} x {window.size[1]}"


async def measure(
    url: str,
    server: subprocess.Popen[bytes],
    scale: float,
    panels: bool,
    to: tuple[int, int] | None,
) -> tuple[dict[str, list[float]], dict[str, list[float]], str]:
    from pacnet.client.timeouts import Timeouts
    from pacnet.window.window import WindowReport, run_window

    report = WindowReport()
    window = asyncio.create_task(
        run_window(url, "bench", exit_after=NORMAL + STALLED + AFTER, report=report,
                   timeouts=Timeouts(reply=0.5), hud=panels, inspector=panels)
    )  # fmt: skip
    await asyncio.sleep(0.5)  # joined and drawing
    resized = resize(scale, to) if scale != 1 or to else None
    await asyncio.sleep(0.5)  # the window manager and SDL have settled on the new size
    begin = asyncio.get_running_loop().time()
    await asyncio.sleep(NORMAL)
    stop = asyncio.get_running_loop().time()
    server.send_signal(signal.SIGSTOP)
    await asyncio.sleep(STALLED)
    resume = asyncio.get_running_loop().time()
    server.send_signal(signal.SIGCONT)
    await window
    size = resized or "{} x {}, the frame's own size, unscaled".format(*report.screen)
    phases: dict[str, list[float]] = {"server running": [], "server stopped (SIGSTOP)": []}
    work: dict[str, list[float]] = {phase: [] for phase in phases}
    # frame_work has one more entry than frame_times: the first frame has no gap before it.
    for (at, gap), busy in zip(report.frame_times, report.frame_work[1:], strict=False):
        phase = "server running" if begin <= at < stop else "server stopped (SIGSTOP)"
        if begin <= at < resume:
            phases[phase].append(gap)
            work[phase].append(busy)
    return phases, work, size


def window_size(text: str) -> tuple[int, int]:
    width, _, height = text.partition("x")
    return int(width), int(height)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="resize the window by this")
    parser.add_argument(
        "--size", type=window_size, metavar="WIDTHxHEIGHT", help="resize the window to this"
    )
    parser.add_argument(
        "--panels", action="store_true", help="open the calls panel and the inspector"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    args = parser.parse_args()
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy" if not os.environ.get("DISPLAY") else "")
    if not os.environ["SDL_VIDEODRIVER"]:
        del os.environ["SDL_VIDEODRIVER"]
    from pacnet.cmdline.logs import configure_logging

    configure_logging("console", level=logging.WARNING)
    server, url = start_server()
    try:
        phases, work, size = asyncio.run(measure(url, server, args.scale, args.panels, args.size))
    finally:
        server.send_signal(signal.SIGCONT)
        server.terminate()
        server.wait(timeout=10)
    driver = os.environ.get("SDL_VIDEODRIVER", "display " + os.environ.get("DISPLAY", ""))
    print(f"- driver: {driver}")
    print(f"- window: {size}{', calls panel and inspector open' if args.panels else ''}")
    print(f"- {time.strftime('%Y-%m-%d')}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print()
    print(
        "| phase | frames | frame time p50 ms | p99 ms | max ms | target p99 < 20 ms "
        "| drawing p50 ms | p99 ms |"
    )
    print("|---|---:|---:|---:|---:|:---:|---:|---:|")
    ok = True
    figures: dict[str, object] = {"driver": driver, "window": size}
    for phase, gaps in phases.items():
        p50, p99 = ((percentile(gaps, f) or 0.0) * 1000 for f in (0.5, 0.99))
        met = p99 < 20
        ok &= met
        verdict = "met" if met else "NOT met"
        worst = max(gaps) * 1000
        d50, d99 = ((percentile(work[phase], f) or 0.0) * 1000 for f in (0.5, 0.99))
        print(
            f"| {phase} | {len(gaps)} | {p50:.1f} | {p99:.1f} | {worst:.1f} | {verdict} "
            f"| {d50:.2f} | {d99:.2f} |"
        )
        figures[phase] = {
            "frames": len(gaps), "p50_ms": p50, "p99_ms": p99, "max_ms": worst,
            "drawing_p50_ms": d50, "drawing_p99_ms": d99,
        }  # fmt: skip
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
