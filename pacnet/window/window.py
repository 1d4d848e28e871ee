"""``pacnet play``: the board in a pygame window, played over the network.

The frame loop and the network loop share one asyncio event loop: frames are paced with
``asyncio.sleep``, so calls in flight progress between frames and a stalled server never
freezes the window. Frames draw from the ``View`` the article loop fills, interpolating
between its last two snapshots. Rendering reads state; it never changes the board.

Every task the window starts has one owner, a task group around the frame loop: the network
loop (``pacnet.client.play.article_loop``) and the three feeds the HUD follows. When the
window closes, the frame loop cancels them; when one of them fails, the group cancels the
frame loop and the window ends, saying which task failed (it never draws a frozen board).

The window's other modules: ``controls.py`` (keys and gamepads), ``hud.py`` (what the HUD
knows and says), ``draw.py`` (the board in pixels), ``panels.py`` (the HUD in pixels),
``layout.py`` (the board and the panels side by side).
"""

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pygame

from pacnet.client.play import article_loop
from pacnet.client.predict import Prediction
from pacnet.client.remote import RemoteBoard
from pacnet.client.retry import DEFAULT_RETRIES, RetryPolicy
from pacnet.client.room_report import report_outcomes
from pacnet.client.sessions import Sessions, join_or_resume
from pacnet.client.tally import OutcomeTally
from pacnet.client.timeouts import Timeouts
from pacnet.client.view import View
from pacnet.feeds.addresses import endpoint_url
from pacnet.protocol.outcome import Outcome
from pacnet.trace.verdict import Verdict
from pacnet.window.controls import Joystick, closes, press
from pacnet.window.draw import HUD, TILE, Presenter, draw_board, draw_maze
from pacnet.window.hud import Hud
from pacnet.window.layout import Box, Size, arrange, on_screen
from pacnet.window.panels import Overlay

PROG = "pacnet play"
FPS = 60


@dataclass
class WindowReport:
    """How a session in the window went."""

    frames: int = 0
    frame_times: list[tuple[float, float]] = field(default_factory=list)
    """(loop time, seconds since the frame before) for every frame after the first."""
    frame_work: list[float] = field(default_factory=list)
    """Seconds each frame took to handle its events, draw and present: the part of the frame
    time that is the window's own work (the rest is waiting for the next frame)."""
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
    screen: tuple[int, int] = (0, 0)
    """The size the window was last drawn at (the whole screen, when full screen)."""
    board_shown: Box = (0, 0, 0, 0)
    """Where the board was last drawn in the window, in the window's pixels."""
    column_shown: Box | None = None
    """Where the panels' column was last drawn in the window (None: no panel open)."""

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
    sessions: Sessions | None = None,
    fullscreen: bool = False,
) -> WindowReport:
    """Play in a window until it is closed (or ``exit_after`` seconds).

    ``report``, if given, is filled as the session goes (and returned at the end).
    ``retries``: how calls are retried (None: each call is one attempt, its raw outcome).
    ``predict``: draw our pac-man predicted between replies (pacnet/client/predict.py).
    ``fullscreen``: take the whole screen (a projector); F11 switches either way.
    ``sessions``: where this machine keeps session tokens, so the window resumes a pac-man it
    left less than a keepalive timeout ago (None: every window joins afresh).

    Raises:
        SystemExit: the board cannot be joined, or a task of the window failed (with a
            one-line message saying which).
    """
    pygame.display.init()
    pygame.font.init()
    pygame.joystick.init()
    try:
        async with RemoteBoard(
            url, user_id, timeouts=timeouts, trace=trace, policy=retries
        ) as board:
            joined = await (board.join() if sessions is None else join_or_resume(board, sessions))
            if joined.reply is None:
                raise SystemExit(f"{PROG}: error: cannot join {url}: {joined.describe()}")
            view = View.joined(joined.reply, predict=predict)
            report = report or WindowReport()
            report.prediction = view.prediction
            hud_state = Hud(board, view.prediction, shown=hud, inspecting=inspector)
            return await _play(board, view, hud_state, exit_after, screenshot, report, fullscreen)
    finally:
        pygame.quit()


async def _play(
    board: RemoteBoard,
    view: View,
    hud: Hud,
    exit_after: float | None,
    screenshot: Path | None,
    report: WindowReport,
    fullscreen: bool = False,
) -> WindowReport:
    """The frame loop, owning the network loop and the HUD's feeds as tasks of one group.

    Raises:
        SystemExit: one of those tasks failed (the frame loop has been cancelled).
    """
    joystick = Joystick()
    owned: list[asyncio.Task[None]] = []
    try:
        async with asyncio.TaskGroup() as tasks:
            network = article_loop(board, view, joystick.read, hud.record)
            owned.append(tasks.create_task(network, name="the network loop"))
            for name, feed in hud.feeds().items():
                owned.append(tasks.create_task(feed.run(), name=f"the {name} feed"))
            reporting = report_outcomes(
                board,
                lambda: hud.exercise.number if hud.exercise else 0,
                counts=hud.exercise_counts,
            )
            owned.append(tasks.create_task(reporting, name="the outcome report"))
            try:
                return await _frames(
                    board, view, hud, joystick, exit_after, screenshot, report, fullscreen
                )
            finally:
                for task in owned:  # they run until cancelled: the window is closing
                    task.cancel()
    except BaseExceptionGroup as group:
        failed = next((t for t in owned if not t.cancelled() and t.exception()), None)
        if failed is None:
            raise  # the frame loop's own error
        raise SystemExit(_failure(failed)) from group


def _failure(task: asyncio.Task[None]) -> str:
    """One line for the player: which task failed, and with what."""
    error = task.exception()
    said = str(error).strip().splitlines()
    what = f"{type(error).__name__}: {said[0]}" if said else type(error).__name__
    return f"{PROG}: error: {task.get_name()} failed ({what}); the window closed"


async def _frames(
    board: RemoteBoard,
    view: View,
    hud: Hud,
    joystick: Joystick,
    exit_after: float | None,
    screenshot: Path | None,
    report: WindowReport,
    fullscreen: bool,
) -> WindowReport:
    """Open the window and draw it ``FPS`` times a second until it is closed (or
    ``exit_after`` seconds); the network loop and the feeds run between frames."""
    overlay = Overlay(hud)
    frame = Frame((view.width * TILE, view.height * TILE + 2 * HUD), overlay.column(), fullscreen)
    pygame.display.set_caption(title(board))
    walls = draw_maze(view.maze, frame.board.get_size())
    presenter = Presenter()
    report.tally, report.attempts = board.tally, board.attempts
    loop = asyncio.get_running_loop()
    start = next_frame = last_frame = loop.time()
    while True:
        began = loop.time()
        for event in pygame.event.get():
            if closes(event):
                return report
            if event.type == pygame.KEYDOWN and event.key == pygame.K_F11:
                fullscreen = not fullscreen
                frame.reopen(fullscreen)
            elif event.type == pygame.KEYDOWN:
                press(event.key, board, hud, view, loop.time())
                overlay.refresh()  # show what the key did at once
            joystick.handle(event)
        if frame.follow(overlay.column(), fullscreen):
            overlay.refresh()  # a new frame: its column is blank
        now = loop.time()
        hud.follow_exercise()
        hud.settle(now, report.verdicts)
        report.rejoins = view.rejoins
        if report.frames:
            report.frame_times.append((now, now - last_frame))
        report.frames, last_frame = report.frames + 1, now
        draw_board(frame.board, walls, view, now - start, view.positions(now), overlay.font())
        overlay.draw(frame.board, frame.column, view, now)
        presenter.show(frame.surface, frame.screen)
        pygame.display.flip()
        frame.shown(report)
        report.frame_work.append(loop.time() - began)
        if exit_after is not None and now - start >= exit_after:
            if screenshot is not None:
                pygame.image.save(frame.screen, str(screenshot))
            return report
        next_frame += 1 / FPS
        await asyncio.sleep(max(0.0, next_frame - loop.time()))


def title(board: RemoteBoard) -> str:
    """The window's title: who plays, in which room, on which server."""
    return f"pacnet - {board.user_id} in room {board.room} on {endpoint_url(board.url, '')}"


class Frame:
    """What each frame is drawn into: the board and the panels' column side by side, laid out
    again when a panel opens or closes and when the window changes shape.

    A window at the frame's own size (the player has not resized it) follows the frame: it
    widens when a panel opens, so the board keeps its size, and narrows again when the last
    one closes. A resized or full-screen window keeps its size; the column then goes where the
    board comes out biggest (``layout.arrange``).
    """

    def __init__(self, board: Size, column: Size | None, fullscreen: bool) -> None:
        self._board_size = board
        self.layout = arrange(board, column)
        self.screen = _open(self.layout.frame, fullscreen)
        self._cut()

    def _cut(self) -> None:
        self.surface = pygame.Surface(self.layout.frame)
        self.board = self.surface.subsurface(self.layout.board)
        self.column = (
            None if self.layout.column is None else self.surface.subsurface(self.layout.column)
        )

    def reopen(self, fullscreen: bool) -> None:
        """F11: the whole screen, or a window at the frame's own size again."""
        self.screen = _open(self.layout.frame, fullscreen)

    def follow(self, column: Size | None, fullscreen: bool) -> bool:
        """Lay the frame out for the panels open now and the window's shape; True if that
        made a new frame (its column is blank until drawn)."""
        following = not fullscreen and self.screen.get_size() == self.layout.frame
        window = None if following else self.screen.get_size()
        wanted = arrange(self._board_size, column, window)
        if wanted == self.layout:
            return False
        self.layout = wanted
        if following and self.screen.get_size() != wanted.frame:
            self.screen = _open(wanted.frame, fullscreen=False)
        self._cut()
        return True

    def shown(self, report: WindowReport) -> None:
        """Say in ``report`` where the board and the column went in the window."""
        report.screen = self.screen.get_size()
        report.board_shown, report.column_shown = on_screen(self.layout, report.screen)


def _open(size: tuple[int, int], fullscreen: bool) -> pygame.Surface:
    """The window at the frame's own size (resizable), or the whole screen."""
    if fullscreen:
        return pygame.display.set_mode((0, 0), pygame.FULLSCREEN)
    return pygame.display.set_mode(size, pygame.RESIZABLE)
