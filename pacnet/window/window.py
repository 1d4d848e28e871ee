"""``pacnet play``: the board in a pygame window, played over the network.

The frame loop and the network loop share one asyncio event loop: frames are paced with
``asyncio.sleep``, so calls in flight progress between frames and a stalled server never
freezes the window. Frames draw from the ``View`` the article loop fills, interpolating
between its last two snapshots. Rendering reads state; it never changes the board.
"""

import asyncio
import contextlib
import math
import zlib
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pygame

from pacnet.client.play import article_loop
from pacnet.client.predict import Prediction, prediction_line
from pacnet.client.remote import CallResult, RemoteBoard
from pacnet.client.retry import DEFAULT_RETRIES, RetryPolicy
from pacnet.client.tally import ARTICLE_CALLS, OutcomeTally, RecentCalls
from pacnet.client.timeouts import Timeouts
from pacnet.client.view import Point, View
from pacnet.faults.feed import FaultWatch
from pacnet.faults.spec import Fault, FaultKind, FaultStatus
from pacnet.feeds.reader import FeedWatch, keepalive_lines, keepalive_watch
from pacnet.protocol.feeds import TRUTH_PATH, TruthView
from pacnet.protocol.models import Direction, OkReply
from pacnet.protocol.outcome import Outcome, Step
from pacnet.trace.cli import Verdict, judge
from pacnet.trace.steps import STEP_DOMAINS, Known, strip

TILE = 16
"""Pixels per tile in the base image, before it is scaled to the window."""
HUD = 24
FPS = 60

BLACK = (0, 0, 0)
WALL = (33, 33, 222)
DOOR = (255, 184, 222)
PELLET = (255, 184, 151)
PACMAN = (255, 255, 0)
GHOSTS = {
    "blinky": (255, 0, 0),
    "pinky": (255, 184, 255),
    "inky": (0, 255, 255),
    "clyde": (255, 184, 82),
}
KEYS: dict[int, Direction] = {
    pygame.K_UP: "up", pygame.K_w: "up", pygame.K_DOWN: "down", pygame.K_s: "down",
    pygame.K_LEFT: "left", pygame.K_a: "left", pygame.K_RIGHT: "right", pygame.K_d: "right",
}  # fmt: skip
CLIENT_FAULT_KEYS: dict[int, FaultKind] = {
    pygame.K_F7: FaultKind.OFFLINE,  # step 1: the client's network is down
    pygame.K_F8: FaultKind.APPLY_FAILS,  # step 8: replies arrive and are not applied
}
"""Keys that switch the client's own faults on and off (the other domains' are switched with
``pacnet chaos``)."""
TRUTH_GRACE = 1.0
"""Seconds to wait for the server's word on a call before taking its silence as "never saw
it" (its feed updates five times a second)."""
INSPECTED = 8
"""Calls the request inspector shows, newest at the bottom."""
STICK_DEAD_ZONE = 0.5
"""How far a stick must lean (of 1.0) to steer: a resting stick drifts a little."""


class Joystick:
    """The direction the player holds: the last key pressed, or a gamepad's hat or stick.

    Gamepads come and go while the window is open: SDL announces every pad, including those
    plugged in before the start, with a ``JOYDEVICEADDED`` event.
    """

    def __init__(self) -> None:
        self.direction: Direction | None = None
        self._pads: dict[int, pygame.joystick.JoystickType] = {}

    def handle(self, event: pygame.event.Event) -> None:
        if event.type == pygame.KEYDOWN and event.key in KEYS:
            self.direction = KEYS[event.key]
        elif event.type == pygame.JOYDEVICEADDED:
            pad = pygame.joystick.Joystick(event.device_index)
            self._pads[pad.get_instance_id()] = pad
        elif event.type == pygame.JOYDEVICEREMOVED:
            self._pads.pop(event.instance_id, None)

    def read(self) -> Direction | None:
        for pad in self._pads.values():
            if pad.get_numhats():
                hx, hy = pad.get_hat(0)
                if hx or hy:
                    return ("right" if hx > 0 else "left") if hx else ("up" if hy > 0 else "down")
            if pad.get_numaxes() >= 2:
                ax, ay = pad.get_axis(0), pad.get_axis(1)
                if max(abs(ax), abs(ay)) > STICK_DEAD_ZONE:
                    if abs(ax) > abs(ay):
                        return "right" if ax > 0 else "left"
                    return "down" if ay > 0 else "up"
        return self.direction


@dataclass
class WindowReport:
    """How a session in the window went."""

    frames: int = 0
    frame_times: list[tuple[float, float]] = field(default_factory=list)
    """(loop time, seconds since the frame before) for every frame after the first."""
    tally: OutcomeTally = field(default_factory=OutcomeTally)
    """The board's own count of its calls, by action and outcome."""
    rejoins: int = 0
    """Times the window joined again because the server had given up on it."""
    attempts: OutcomeTally = field(default_factory=OutcomeTally)
    """Every attempt of those calls (more than the calls when some were retried)."""
    verdicts: Counter[Verdict] = field(default_factory=Counter)
    """Calls held against the server's truth (a tracing server only), by verdict."""
    prediction: Prediction | None = None
    """Our pac-man's prediction, its corrections included (None: not predicting)."""

    @property
    def longest_frame_gap(self) -> float:
        """Seconds: the longest time between two frames (the window must never freeze)."""
        return max((gap for _, gap in self.frame_times), default=0.0)

    @property
    def outcomes(self) -> dict[Outcome, int]:
        """Every call the window made, by outcome."""
        return {outcome: self.tally.total(outcome=outcome) for outcome in Outcome}


async def run_window(
    url: str,
    user_id: str,
    *,
    exit_after: float | None = None,
    screenshot: Path | None = None,
    timeouts: Timeouts | None = None,
    hud: bool = False,
    inspector: bool = False,
    trace: bool = False,
    retries: RetryPolicy | None = DEFAULT_RETRIES,
    predict: bool = True,
    report: WindowReport | None = None,
) -> WindowReport:
    """Play in a window until it is closed (or ``exit_after`` seconds).

    ``report``, if given, is filled as the session goes (and returned at the end).
    ``retries``: how calls are retried (None: each call is one attempt, its raw outcome).
    ``predict``: draw our pac-man predicted between replies (pacnet/client/predict.py).

    Raises:
        SystemExit: the board cannot be joined (with a one-line message).
    """
    pygame.display.init()
    pygame.font.init()
    pygame.joystick.init()
    try:
        async with RemoteBoard(
            url, user_id, timeouts=timeouts, trace=trace, policy=retries
        ) as board:
            joined = await board.join()
            if joined.reply is None:
                raise SystemExit(f"pacnet play: error: cannot join {url}: {joined.describe()}")
            view = View.joined(joined.reply, predict=predict)
            report = report or WindowReport()
            stats = _Stats(board)
            stats.prediction = view.prediction
            report.prediction = view.prediction
            stats.shown, stats.inspecting = hud, inspector
            return await _play(board, view, exit_after, screenshot, stats, report)
    finally:
        pygame.quit()


async def _play(
    board: RemoteBoard,
    view: View,
    exit_after: float | None,
    screenshot: Path | None,
    stats: "_Stats",
    report: WindowReport,
) -> WindowReport:
    size = (view.width * TILE, view.height * TILE + 2 * HUD)
    # Opens at the frame's own size, the cheapest to present; a resized window scales it.
    screen = pygame.display.set_mode(size, pygame.RESIZABLE)
    pygame.display.set_caption(f"pacnet - {board.user_id} on {board.url}")
    base = pygame.Surface(size)
    walls = _draw_maze(view.maze, size)
    font = pygame.font.Font(None, 18)
    joystick = Joystick()
    presenter = Presenter()
    report.tally, report.attempts = board.tally, board.attempts
    loop = asyncio.get_running_loop()
    start = next_frame = last_frame = loop.time()
    network = asyncio.create_task(article_loop(board, view, joystick.read, stats.record))
    feeds = (stats.watch, stats.keepalive, stats.truth)
    watching = [asyncio.create_task(feed.run()) for feed in feeds]
    try:
        while True:
            for event in pygame.event.get():
                if event.type == pygame.QUIT:
                    return report
                if event.type == pygame.KEYDOWN:
                    if event.key == pygame.K_ESCAPE:
                        return report
                    if event.key in (pygame.K_h, pygame.K_TAB):
                        stats.shown = not stats.shown
                    if event.key == pygame.K_i:
                        stats.inspecting = not stats.inspecting
                    if event.key in CLIENT_FAULT_KEYS:
                        toggle_client_fault(board, CLIENT_FAULT_KEYS[event.key], loop.time())
                    stats.overlay_due = 0.0  # show what the key did at once
                    if event.key == pygame.K_RETURN and view.game_over:
                        view.rejoin = True
                joystick.handle(event)
            now = loop.time()
            if now >= stats.settle_due:  # the server's word comes five times a second
                stats.settle_due = now + OVERLAY_PERIOD
                stats.settle(now, report.verdicts)
            report.rejoins = view.rejoins
            if report.frames:
                report.frame_times.append((now, now - last_frame))
            report.frames, last_frame = report.frames + 1, now
            _draw_frame(base, walls, view, now - start, view.positions(now), font, stats, now)
            presenter.show(base, screen)
            pygame.display.flip()
            if exit_after is not None and now - start >= exit_after:
                if screenshot is not None:
                    pygame.image.save(base, str(screenshot))
                return report
            next_frame += 1 / FPS
            await asyncio.sleep(max(0.0, next_frame - loop.time()))
    finally:
        for task in (network, *watching):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def toggle_client_fault(board: RemoteBoard, kind: FaultKind, now: float) -> bool:
    """Switch the client fault ``kind`` on if it is off, else off; True if now on."""
    key = f"key-{kind.value}"
    if board.faults.remove(key):
        return False
    board.faults.add(Fault(kind=kind, id=key), now)
    return True


class _Stats:
    """What the HUD shows: every call's outcome, counted, the recent ones in detail, and the
    faults switched on in every domain."""

    def __init__(self, board: RemoteBoard) -> None:
        self.board = board
        self.recent = RecentCalls()
        self.inspected: deque[tuple[CallResult[OkReply], float]] = deque(maxlen=INSPECTED)
        """The latest calls, with the loop time each ended."""
        self.watch = FaultWatch(board.url)
        self.keepalive = keepalive_watch(board.url)
        truth = f"{TRUTH_PATH}?user={quote(board.user_id)}"
        self.truth: FeedWatch[TruthView] = FeedWatch(board.url, truth, TruthView)
        self.pending: deque[tuple[CallResult[OkReply], float]] = deque(maxlen=512)
        """Calls waiting for the server's word (a few seconds' worth at the loop's pace)."""
        self.verdicts: dict[str, Verdict] = {}
        """The server's side of each recent call, once known."""
        self.alarms: dict[str, str] = {}
        """Calls whose outcome broke the protocol's promise: requestId -> what happened."""
        self.prediction: Prediction | None = None
        self.shown = False
        self.inspecting = False
        self.overlay: pygame.Surface | None = None
        self.overlay_due = 0.0
        self.settle_due = 0.0
        self._fonts: dict[int, pygame.font.Font] = {}

    def font(self, size: int) -> pygame.font.Font:
        """pygame's default font at ``size``, loaded once per window (not once per frame)."""
        if size not in self._fonts:
            self._fonts[size] = pygame.font.Font(None, size)
        return self._fonts[size]

    def record(self, result: CallResult[OkReply]) -> None:
        self.recent.record(result.outcome, result.latency, result.describe())
        ended = (result, asyncio.get_running_loop().time())
        self.inspected.append(ended)
        self.pending.append(ended)

    def settle(self, now: float, tally: Counter[Verdict]) -> None:
        """Hold each recent call's outcome against what the server says it did, once the
        server's word is in (its feed takes a moment); count each verdict once."""
        view = self.truth.latest
        if view is None or not view.tracing:
            return
        acted: dict[str, list[bool]] = {}
        for entry in view.entries:
            acted.setdefault(entry.request_id, []).append(entry.acted)
        waiting: deque[tuple[CallResult[OkReply], float]] = deque(maxlen=self.pending.maxlen)
        for result, ended in self.pending:
            request_id = result.request_id
            served = acted.get(request_id, [])
            if not served and now - ended < TRUTH_GRACE:
                waiting.append((result, ended))
                continue
            verdict = judge(result.outcome, result.action, served, server_traces=True)
            self.verdicts[request_id] = verdict
            tally[verdict] += 1
            if verdict.alarm:
                self.alarms[request_id] = f"{result.describe()} - {verdict.value}"
        self.pending = waiting
        if len(self.verdicts) > 4 * INSPECTED:  # keep only those still on show
            shown = {result.request_id for result, _ in self.inspected}
            self.verdicts = {r: v for r, v in self.verdicts.items() if r in shown}

    def faults(self, now: float) -> list[FaultStatus]:
        """Every fault on: the client's own, then those behind the server's address."""
        return self.board.faults.status(now) + self.watch.faults


class Presenter:
    """Puts a frame on the screen: copied as is at its own size; scaled to fit, keeping its
    shape, in a resized window (black bars where it does not fit).

    Plain ``scale`` into a surface kept between frames: ``smoothscale`` and a new surface a
    frame cost milliseconds per frame under Xvfb (docs/performance.md).
    """

    def __init__(self) -> None:
        self._scaled: pygame.Surface | None = None
        self._at = (0, 0)

    def show(self, frame: pygame.Surface, screen: pygame.Surface) -> None:
        if screen.get_size() == frame.get_size():
            screen.blit(frame, (0, 0))
            return
        (fw, fh), (sw, sh) = frame.get_size(), screen.get_size()
        factor = min(sw / fw, sh / fh)
        size = (max(1, round(fw * factor)), max(1, round(fh * factor)))
        if self._scaled is None or self._scaled.get_size() != size:
            self._scaled = pygame.Surface(size)
            self._at = ((sw - size[0]) // 2, (sh - size[1]) // 2)
            screen.fill(BLACK)  # the bars, once per size
        pygame.transform.scale(frame, size, self._scaled)
        screen.blit(self._scaled, self._at)


def _draw_maze(maze: tuple[str, ...], size: tuple[int, int]) -> pygame.Surface:
    """The walls, drawn once: a blue line wherever a wall meets open floor, as the arcade."""
    surface = pygame.Surface(size, pygame.SRCALPHA)

    def wall(x: int, y: int) -> bool:
        return 0 <= y < len(maze) and 0 <= x < len(maze[y]) and maze[y][x] == "#"

    for y, row in enumerate(maze):
        for x, cell in enumerate(row):
            left, top = x * TILE, y * TILE + HUD
            if cell == "-":
                pygame.draw.line(
                    surface, DOOR, (left, top + TILE // 2), (left + TILE, top + TILE // 2), 2
                )
            if cell != "#":
                continue
            inset = TILE // 2
            for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                if not wall(x + dx, y + dy) and 0 <= x + dx < len(row) and 0 <= y + dy < len(maze):
                    cx, cy = left + inset, top + inset
                    ex, ey = cx + dx * (inset - 2), cy + dy * (inset - 2)
                    a = (ex - dy * inset, ey - dx * inset)
                    b = (ex + dy * inset, ey + dx * inset)
                    pygame.draw.line(surface, WALL, a, b, 2)
    return surface


def _draw_frame(
    base: pygame.Surface,
    walls: pygame.Surface,
    view: View,
    t: float,
    where: dict[str, Point],
    font: pygame.font.Font,
    stats: _Stats,
    now: float,
) -> None:
    base.fill(BLACK)
    base.blit(walls, (0, 0))
    blink = int(t * 4) % 2 == 0
    for food in view.food.values():
        centre = _centre((food.x_pos, food.y_pos))
        if food.kind == ":energizer":
            if blink:
                pygame.draw.circle(base, PELLET, centre, TILE // 2 - 1)
        else:
            pygame.draw.circle(base, PELLET, centre, 2)
    for name, point in where.items():
        heading = view.headings.get(name, "left")
        if name in GHOSTS:
            state = view.latest.pieces[name].state or "normal"
            _draw_ghost(base, _centre(point), _ghost_colour(name, state, t), heading, state)
        else:
            colour = PACMAN if name == view.me else _player_colour(name)
            _draw_pacman(base, _centre(point), colour, heading, t)
            if name != view.me:
                label = font.render(name.removeprefix("pacman-"), True, colour)
                base.blit(
                    label,
                    label.get_rect(midbottom=(_centre(point)[0], _centre(point)[1] - TILE // 2)),
                )
    _draw_hud(base, font, stats, view, now)


def _draw_pacman(
    surface: pygame.Surface,
    centre: tuple[int, int],
    colour: tuple[int, int, int],
    heading: str,
    t: float,
) -> None:
    radius = TILE // 2 + 1
    pygame.draw.circle(surface, colour, centre, radius)
    mouth = abs(math.sin(t * 12)) * 0.9  # half-angle in radians: opens and closes
    angle = {"right": 0.0, "up": math.pi / 2, "left": math.pi, "down": -math.pi / 2}[heading]
    cx, cy = centre
    points: list[tuple[float, float]] = [centre]
    for a in (angle - mouth, angle + mouth):
        points.append((cx + math.cos(a) * (radius + 1), cy - math.sin(a) * (radius + 1)))
    if mouth > 0.05:
        pygame.draw.polygon(surface, BLACK, points)


FRIGHTENED = (33, 33, 255)
FLASH = (222, 222, 255)


def _ghost_colour(name: str, state: str, t: float) -> tuple[int, int, int]:
    if state == "frightened" or (state == "flashing" and int(t * 5) % 2 == 0):
        return FRIGHTENED
    return FLASH if state == "flashing" else GHOSTS[name]


def _draw_ghost(
    surface: pygame.Surface,
    centre: tuple[int, int],
    colour: tuple[int, int, int],
    heading: str,
    state: str = "normal",
) -> None:
    cx, cy = centre
    radius = TILE // 2 + 1
    if state != "eyes":
        pygame.draw.circle(surface, colour, (cx, cy - 1), radius)
        pygame.draw.rect(surface, colour, (cx - radius, cy - 1, 2 * radius + 1, radius))
    if state in ("frightened", "flashing"):  # a frightened face: small eyes, no pupils
        for ex in (cx - 3, cx + 3):
            pygame.draw.circle(surface, (255, 184, 151), (ex, cy - 2), 1)
        return
    dx, dy = {"right": (2, 0), "left": (-2, 0), "up": (0, -2), "down": (0, 2)}[heading]
    for ex in (cx - 4, cx + 4):
        pygame.draw.circle(surface, (255, 255, 255), (ex, cy - 2), 3)
        pygame.draw.circle(surface, (33, 33, 222), (ex + dx, cy - 2 + dy), 1)


def _draw_hud(
    surface: pygame.Surface, font: pygame.font.Font, stats: _Stats, view: View, now: float
) -> None:
    """Score and lives along the top; every call's outcome, counted, along the bottom, and
    the faults switched on just above it."""
    me = view.mine()
    if view.last_given_up is not None and now - view.last_given_up < GAVE_UP_SHOWN:
        status = font.render("the server gave up on you - joined again", True, (255, 184, 82))
    elif me is not None and me.score is not None:
        status = font.render(f"SCORE {me.score}", True, (255, 255, 255))
        for life in range(me.lives or 0):
            _draw_pacman(
                surface, (surface.get_width() - 12 - life * 18, HUD // 2), PACMAN, "left", 0.3
            )
    elif view.game_over:
        status = font.render("GAME OVER - Enter to play again", True, (255, 0, 0))
    else:
        status = font.render("caught... back in a moment", True, (255, 255, 255))
    surface.blit(status, (4, 6))
    level = font.render(f"LEVEL {view.level}", True, (255, 255, 255))
    at = max(surface.get_width() // 2 - level.get_width() // 2, 4 + status.get_width() + 16)
    surface.blit(level, (at, 6))
    if now >= stats.overlay_due or stats.overlay is None:
        stats.overlay_due = now + OVERLAY_PERIOD
        stats.overlay = _draw_overlay(surface.get_size(), font, stats, now)
    surface.blit(stats.overlay, (0, 0))


OVERLAY_PERIOD = 0.1
"""Seconds between redraws of the text overlays (counts, faults, panels): ten times a second
is as fast as anyone reads, and rendering their text every frame took most of a core."""


def _draw_overlay(
    size: tuple[int, int], font: pygame.font.Font, stats: _Stats, now: float
) -> pygame.Surface:
    """Everything made of text that changes with the calls: the outcome counts along the
    bottom, the faults on above them, the inspector, the alarm and the calls panel."""
    surface = pygame.Surface(size, pygame.SRCALPHA)
    counts = [f"{o.value} {stats.board.tally.total(outcome=o)}" for o in Outcome]
    if sum(font.size(c)[0] + 10 for c in counts) > size[0] - 4:  # big counts: smaller type
        font = stats.font(14)
    x, y = 4, size[1] - HUD + 6
    for outcome, count in zip(Outcome, counts, strict=True):
        text = font.render(count, True, pygame.Color(outcome.colour))
        surface.blit(text, (x, y))
        x += text.get_width() + 10
    bottom = size[1] - HUD
    if stats.inspecting:
        bottom = _draw_inspector(surface, stats, bottom)
    faults = stats.faults(now)
    if faults:
        _draw_faults(surface, stats, faults, bottom)
    if stats.alarms:
        _draw_alarm(surface, font, stats, now)
    if stats.shown:
        _draw_panel(surface, font, stats)
    return surface


FAULT_RED = (255, 90, 90)
GAVE_UP_SHOWN = 3.0
"""Seconds the window says that the server gave up on it (and that it joined again)."""


def _draw_alarm(surface: pygame.Surface, font: pygame.font.Font, stats: _Stats, now: float) -> None:
    """The checker's alarm: an outcome that broke the protocol's promise (a call the client
    was told had no effect, that the server applied). It should never light up."""
    latest = next(reversed(stats.alarms.values()))
    text = f"PROTOCOL VIOLATION x{len(stats.alarms)}: {latest}"
    label = font.render(text[:80], True, (255, 255, 255))
    banner = pygame.Surface((surface.get_width(), label.get_height() + 6))
    banner.fill((200, 0, 0) if int(now * 2) % 2 == 0 else (120, 0, 0))
    banner.blit(label, (4, 3))
    surface.blit(banner, (0, HUD))


def _draw_faults(
    surface: pygame.Surface, stats: _Stats, faults: list[FaultStatus], bottom: int
) -> None:
    """One line per active fault, bottom up from ``bottom``: the room sees what is on."""
    small = stats.font(16)
    y = bottom - 2
    for status in reversed(faults[-6:]):
        text = small.render(f"fault {status.fault.id}: {status.description}", True, FAULT_RED)
        y -= text.get_height() + 1
        backing = pygame.Surface((text.get_width() + 6, text.get_height() + 1), pygame.SRCALPHA)
        backing.fill((0, 0, 0, 190))
        surface.blit(backing, (2, y))
        surface.blit(text, (5, y))


TRUTH_WORDS: dict[Verdict, str] = {
    Verdict.AGREE: "agrees",
    Verdict.UNKNOWN_APPLIED: "it acted",
    Verdict.UNKNOWN_NOT_APPLIED: "did nothing",
    Verdict.UNKNOWN_NEVER_SEEN: "never saw it",
    Verdict.NOT_TRACED: "",
    Verdict.CLIENT_NOT_TRACED: "",
    Verdict.VIOLATION: "VIOLATION",
    Verdict.FALSE_SUCCESS: "VIOLATION",
    Verdict.APPLIED_TWICE: "TWICE!",
}
"""The server's side of a call, in the inspector's last column."""


def _draw_inspector(surface: pygame.Surface, stats: _Stats, bottom: int) -> int:
    """The I key's request inspector: the latest calls, each as the article's eight steps,
    lit as far as the client knows (passed, failed here, unknown, never reached). Drawn
    above ``bottom``; returns its top."""
    small = stats.font(15)
    cell, row_height, left = 26, 17, 56
    height = 42 + row_height * INSPECTED
    panel = pygame.Surface((surface.get_width() - 16, height), pygame.SRCALPHA)
    panel.fill((0, 0, 0, 225))
    white, grey, dark = (255, 255, 255), (120, 120, 120), (45, 45, 45)
    title = "REQUEST INSPECTOR (I): the eight steps, as far as the client knows"
    panel.blit(small.render(title, True, grey), (6, 4))
    for step in Step:
        x = left + (step.value - 1) * cell
        panel.blit(small.render(str(step.value), True, white), (x + 9, 16))
        where = small.render(STEP_DOMAINS[step], True, grey)
        panel.blit(where, (x + (cell - 3 - where.get_width()) // 2, 26))
    panel.blit(small.render("server", True, grey), (left + 8 * cell + 78, 26))
    for row, (result, _) in enumerate(stats.inspected):
        y = 40 + row * row_height
        colour = pygame.Color(result.outcome.colour)
        panel.blit(small.render(result.action, True, white), (6, y + 3))
        for i, known in enumerate(strip(result)):
            rect = pygame.Rect(left + i * cell, y, cell - 3, row_height - 3)
            if known is Known.PASSED:
                pygame.draw.rect(panel, colour.lerp((0, 0, 0), 0.55), rect)
            elif known is Known.FAILED:
                pygame.draw.rect(panel, colour, rect)
            elif known is Known.UNKNOWN:
                pygame.draw.rect(panel, grey, rect, 1)
                panel.blit(small.render("?", True, grey), (rect.x + 9, rect.y + 2))
            else:
                pygame.draw.rect(panel, dark, rect, 1)
        label = result.outcome.value + (
            f" x{len(result.attempts)}" if len(result.attempts) > 1 else ""
        )
        panel.blit(small.render(label, True, colour), (left + 8 * cell + 4, y + 3))
        verdict = stats.verdicts.get(result.request_id)
        if verdict is not None:
            shade = FAULT_RED if verdict.alarm else grey
            words = small.render(TRUTH_WORDS[verdict], True, shade)
            panel.blit(words, (left + 8 * cell + 78, y + 3))
    top = bottom - height - 4
    surface.blit(panel, (8, top))
    return top


def outcome_columns(
    header: pygame.font.Font, counts: pygame.font.Font, left: int = 70, gap: int = 12
) -> list[int]:
    """Where the H panel's five outcome columns start: each as wide as its header (written
    in ``header``) or a five-digit count (in ``counts``), whichever is wider, and ``gap``
    apart, so that POST_FAILED never runs into RETRYABLE."""
    widest_count = counts.size("99999")[0]
    columns = [left]
    for outcome in list(Outcome)[:-1]:
        columns.append(columns[-1] + max(header.size(outcome.value)[0], widest_count) + gap)
    return columns


def _draw_panel(surface: pygame.Surface, font: pygame.font.Font, stats: _Stats) -> None:
    """The H key's panel: the four calls by the five outcomes, latency, connection, failures."""
    panel = pygame.Surface((surface.get_width() - 16, 282), pygame.SRCALPHA)
    panel.fill((0, 0, 0, 215))
    white = (255, 255, 255)
    small = stats.font(15)
    columns = outcome_columns(small, font)
    for outcome, x in zip(Outcome, columns, strict=True):
        panel.blit(small.render(outcome.value, True, pygame.Color(outcome.colour)), (x, 10))
    for row, action in enumerate(ARTICLE_CALLS):
        y = 28 + 18 * row
        panel.blit(font.render(action, True, white), (8, y))
        for outcome, x in zip(Outcome, columns, strict=True):
            n = stats.board.tally.count(action, outcome)
            panel.blit(
                font.render(str(n), True, pygame.Color(outcome.colour) if n else (90, 90, 90)),
                (x, y),
            )
    p50, p99 = stats.recent.percentile(0.50), stats.recent.percentile(0.99)
    latency = "-" if p50 is None or p99 is None else f"{p50 * 1000:.1f} / {p99 * 1000:.1f} ms"
    state = "connected" if stats.board.connected else "not connected"
    calls, attempts = stats.board.tally.total(), stats.board.attempts.total()
    tried = f"{attempts} attempts for {calls} calls" if stats.board.policy else "no retries"
    line = f"latency p50 / p99: {latency}   {state}   {tried}"
    panel.blit(small.render(line, True, white), (8, 108))
    panel.blit(small.render(prediction_line(stats.prediction), True, white), (8, 122))
    width = panel.get_width() - 16
    said = keepalive_lines(stats.keepalive.latest, stats.board.user_id)
    wrapped = [part for line in said for part in _wrap(small, line, width)]
    for i, line in enumerate(wrapped[:3]):
        panel.blit(small.render(line, True, (150, 200, 255)), (8, 138 + 13 * i))
    for i, line in enumerate(stats.recent.failures):
        panel.blit(font.render(line[:70], True, (255, 150, 150)), (8, 180 + 16 * i))
    surface.blit(panel, (8, HUD + 8))


def _wrap(font: pygame.font.Font, text: str, width: int) -> list[str]:
    """``text`` in lines no wider than ``width`` pixels, broken between words."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if line and font.size(candidate)[0] > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    return [*lines, line] if line else lines


def _centre(point: Point) -> tuple[int, int]:
    return (round(point[0] * TILE + TILE / 2), round(point[1] * TILE + TILE / 2 + HUD))


def _player_colour(name: str) -> tuple[int, int, int]:
    """Another player's pac-man: a colour of its own, the same on every screen."""
    colour = pygame.Color(0)
    colour.hsva = (zlib.crc32(name.encode()) % 360, 80, 100, 100)
    return (colour.r, colour.g, colour.b)
