"""The HUD in pixels: score, lives and level along the top of the board; every call's
outcome, counted, along its bottom; the checker's alarm across it. The H key's calls panel, the
I key's request inspector and the faults switched on go in a column of their own beside the
board (``layout.py``), never over it; with no panel open, the faults are listed over the
board's bottom left.

Drawing reads the ``Hud`` and the ``View``; it never changes them. Text is costly to render,
so everything made of text that changes with the calls is redrawn ``OVERLAY_PERIOD`` apart:
the board's overlay is kept between frames by the ``Overlay``, the column stays in the frame.
"""

import pygame

from pacnet.client.predict import prediction_line
from pacnet.client.view import View
from pacnet.faults.spec import FaultStatus
from pacnet.protocol.actions import ARTICLE_CALLS
from pacnet.protocol.outcome import Outcome, Step
from pacnet.trace.steps import STEP_DOMAINS, Known, strip
from pacnet.window.draw import BLACK, HUD, PACMAN, draw_pacman
from pacnet.window.hud import INSPECTED, TRUTH_WORDS, Hud
from pacnet.window.layout import Size

TEXT = 18
"""Size of the HUD's text (pygame's default font); the panels write smaller."""
OVERLAY_PERIOD = 0.1
"""Seconds between redraws of the text overlays (counts, faults, panels): ten times a second
is as fast as anyone reads, and rendering their text every frame took most of a core."""
GAVE_UP_SHOWN = 3.0
"""Seconds the window says that the server gave up on it (and that it joined again)."""
FAULT_RED = (255, 90, 90)
COLUMN_WIDTH = 488
"""Pixels: the panels' column: the inspector's widest row (a call, eight steps, "POST_FAILED
x3", "before restart") with a margin. A little wider than the classic maze, which costs the
board nothing on a 16:9 screen: the frame's height decides its scale there."""
GAP = 6
"""Pixels between the panels in the column, and around them."""
FAULTS_SHOWN = 6
"""Faults listed at most (the latest); the column keeps room for them all, so a fault switched
on does not change the frame's size and rescale the board on the projector."""
FAULT_TEXT = 16
"""Size of the faults' text."""
CALLS_HEIGHT = 296
"""Pixels: the calls panel (the outcome table, six lines of words, six failures)."""
HEADER = 60
"""The inspector's title and column heads: number, step in two words, domain."""
ROW = 17
"""Pixels: one call's row in the inspector."""
INSPECTOR_HEIGHT = HEADER + 2 + ROW * INSPECTED


class Overlay:
    """The HUD of one window: draws ``hud`` on each frame, its overlay at most
    ``OVERLAY_PERIOD`` old, in fonts loaded once per window."""

    def __init__(self, hud: Hud) -> None:
        self.hud = hud
        self._surface: pygame.Surface | None = None
        self._due = 0.0
        self._fonts: dict[int, pygame.font.Font] = {}

    def font(self, size: int = TEXT) -> pygame.font.Font:
        """pygame's default font at ``size``, loaded once per window (not once per frame)."""
        if size not in self._fonts:
            self._fonts[size] = pygame.font.Font(None, size)
        return self._fonts[size]

    def refresh(self) -> None:
        """Redraw the overlay on the next frame: a key changed what it shows."""
        self._due = 0.0

    def column(self) -> Size | None:
        """The size of the panels' column: room for the open panels and ``FAULTS_SHOWN``
        faults below them; None when no panel is open (the faults then go over the board)."""
        hud = self.hud
        if not (hud.shown or hud.inspecting):
            return None
        height = GAP + FAULTS_SHOWN * (self.font(FAULT_TEXT).get_height() + 1) + 2 + GAP
        if hud.shown:
            height += CALLS_HEIGHT + GAP
        if hud.inspecting:
            height += INSPECTOR_HEIGHT + GAP
        return (COLUMN_WIDTH, height)

    def draw(
        self, board: pygame.Surface, column: pygame.Surface | None, view: View, now: float
    ) -> None:
        """Score, lives and level along the top of ``board``, the overlay over it; the panels
        in ``column`` (a part of the frame that keeps them between redraws)."""
        _draw_status(board, self.font(), view, now)
        if now >= self._due or self._surface is None:
            self._due = now + OVERLAY_PERIOD
            self._surface = self._draw_overlay(board.get_size(), now, column is None)
            if column is not None:
                self._draw_column(column, now)
        board.blit(self._surface, (0, 0))

    def _draw_column(self, column: pygame.Surface, now: float) -> None:
        """The open panels, top down, and the faults on, bottom up from the column's foot."""
        hud, small = self.hud, self.font(15)
        column.fill(BLACK)
        top = GAP
        if hud.shown:
            top = _draw_panel(column, self.font(), small, hud, top) + GAP
        if hud.inspecting:
            _draw_inspector(column, small, hud, top)
        faults = hud.faults(now)
        if faults:
            _draw_faults(column, self.font(FAULT_TEXT), faults, column.get_height() - GAP)

    def _draw_overlay(self, size: tuple[int, int], now: float, faults: bool) -> pygame.Surface:
        """What goes over the board and changes with the calls: the outcome counts along the
        bottom, the alarm, and (``faults``: no column to put them in) the faults on."""
        hud, font = self.hud, self.font()
        surface = pygame.Surface(size, pygame.SRCALPHA)
        counts = [f"{o.value} {hud.board.tally.total(outcome=o)}" for o in Outcome]
        if sum(font.size(c)[0] + 10 for c in counts) > size[0] - 4:  # big counts: smaller type
            font = self.font(14)
        x, y = 4, size[1] - HUD + 6
        for outcome, count in zip(Outcome, counts, strict=True):
            text = font.render(count, True, pygame.Color(outcome.colour))
            surface.blit(text, (x, y))
            x += text.get_width() + 10
        on = hud.faults(now) if faults else []
        if on:
            _draw_faults(surface, self.font(FAULT_TEXT), on, size[1] - HUD)
        if hud.alarms:
            _draw_alarm(surface, font, hud, now)
        return surface


def _draw_status(surface: pygame.Surface, font: pygame.font.Font, view: View, now: float) -> None:
    """Along the top: the score and the lives left (or what became of our pac-man), the level."""
    me = view.mine()
    if view.last_given_up is not None and now - view.last_given_up < GAVE_UP_SHOWN:
        status = font.render("the server gave up on you - joined again", True, (255, 184, 82))
    elif me is not None and me.score is not None:
        status = font.render(f"SCORE {me.score}", True, (255, 255, 255))
        for life in range(me.lives or 0):
            draw_pacman(
                surface, (surface.get_width() - 12 - life * 18, HUD // 2), PACMAN, "left", 0.3
            )
    elif view.game_over:
        status = font.render("GAME OVER - Enter to play again", True, (255, 0, 0))
    elif view.missing(now):
        status = font.render("not back yet - Enter to join again", True, (255, 0, 0))
    else:
        status = font.render("caught... back in a moment", True, (255, 255, 255))
    surface.blit(status, (4, 6))
    level = font.render(f"LEVEL {view.level}", True, (255, 255, 255))
    at = max(surface.get_width() // 2 - level.get_width() // 2, 4 + status.get_width() + 16)
    surface.blit(level, (at, 6))


def _draw_alarm(surface: pygame.Surface, font: pygame.font.Font, hud: Hud, now: float) -> None:
    """The checker's alarm: an outcome that broke the protocol's promise (a call the client
    was told had no effect, that the server applied). It should never light up."""
    latest = next(reversed(hud.alarms.values()))
    text = f"PROTOCOL VIOLATION x{len(hud.alarms)}: {latest}"
    label = font.render(text[:80], True, (255, 255, 255))
    banner = pygame.Surface((surface.get_width(), label.get_height() + 6))
    banner.fill((200, 0, 0) if int(now * 2) % 2 == 0 else (120, 0, 0))
    banner.blit(label, (4, 3))
    surface.blit(banner, (0, HUD))


def _draw_faults(
    surface: pygame.Surface, small: pygame.font.Font, faults: list[FaultStatus], bottom: int
) -> None:
    """One line per active fault, bottom up from ``bottom``: the room sees what is on."""
    y = bottom - 2
    for status in reversed(faults[-FAULTS_SHOWN:]):
        text = small.render(f"fault {status.fault.id}: {status.description}", True, FAULT_RED)
        y -= text.get_height() + 1
        backing = pygame.Surface((text.get_width() + 6, text.get_height() + 1), pygame.SRCALPHA)
        backing.fill((0, 0, 0, 190))
        surface.blit(backing, (2, y))
        surface.blit(text, (5, y))


STEP_WORDS: dict[Step, tuple[str, str]] = {
    Step.POST_REQUEST: ("post", "req"),
    Step.DELIVER_REQUEST: ("dlvr", "req"),
    Step.VALIDATE_REQUEST: ("vali", "req"),
    Step.UPDATE_SERVER_STATE: ("updt", "srv"),
    Step.POST_REPLY: ("post", "rply"),
    Step.DELIVER_REPLY: ("dlvr", "rply"),
    Step.VALIDATE_REPLY: ("vali", "rply"),
    Step.UPDATE_CLIENT_STATE: ("updt", "cli"),
}
"""Each step in words, cut to fit the inspector's columns: post, deliver, validate, update,
the request (req), the reply (rply), the server's state (srv), the client's (cli)."""


def _draw_inspector(surface: pygame.Surface, small: pygame.font.Font, hud: Hud, top: int) -> None:
    """The I key's request inspector: the latest calls, each as the article's eight steps,
    lit as far as the client knows (passed, failed here, unknown, never reached). Drawn
    from ``top`` down, ``INSPECTOR_HEIGHT`` high."""
    cell, row_height, left = 30, ROW, 52
    panel = pygame.Surface((surface.get_width() - 16, INSPECTOR_HEIGHT), pygame.SRCALPHA)
    panel.fill((0, 0, 0, 225))
    white, grey, dark = (255, 255, 255), (120, 120, 120), (45, 45, 45)
    paused = " - PAUSED (P)" if hud.frozen is not None else " (P: pause, U: unpin)"
    title = "INSPECTOR: the eight steps, as far as the client knows" + paused
    panel.blit(small.render(title, True, grey), (6, 4))
    for step in Step:
        x = left + (step.value - 1) * cell
        for line, text in enumerate((str(step.value), *STEP_WORDS[step], STEP_DOMAINS[step])):
            shown = small.render(text, True, white if line < 3 else grey)
            panel.blit(shown, (x + (cell - 3 - shown.get_width()) // 2, 16 + 10 * line))
    # The server's word, clear of the widest outcome ("POST_FAILED x3" once ran into it).
    truth = left + 8 * cell + 4 + small.size("POST_FAILED x9")[0] + 8
    panel.blit(small.render("server", True, grey), (truth, 46))
    for row, ((result, _), pinned) in enumerate(hud.inspector_rows()):
        y = HEADER + row * row_height
        colour = pygame.Color(result.outcome.colour)
        if pinned:  # a failure kept on show until U: marked down its left edge
            pygame.draw.rect(panel, colour, pygame.Rect(1, y, 3, row_height - 3))
        panel.blit(small.render(result.action, True, white), (6, y + 3))
        for i, known in enumerate(strip(result)):
            rect = pygame.Rect(left + i * cell, y, cell - 3, row_height - 3)
            if known is Known.PASSED:
                pygame.draw.rect(panel, colour.lerp((0, 0, 0), 0.55), rect)
            elif known is Known.FAILED:
                pygame.draw.rect(panel, colour, rect)
            elif known is Known.UNKNOWN:
                pygame.draw.rect(panel, grey, rect, 1)
                panel.blit(small.render("?", True, grey), (rect.x + 11, rect.y + 2))
            else:
                pygame.draw.rect(panel, dark, rect, 1)
        label = result.outcome.value + (
            f" x{len(result.attempts)}" if len(result.attempts) > 1 else ""
        )
        panel.blit(small.render(label, True, colour), (left + 8 * cell + 4, y + 3))
        verdict = hud.verdicts.get(result.request_id)
        if verdict is not None:
            shade = FAULT_RED if verdict.alarm else grey
            words = small.render(TRUTH_WORDS[verdict], True, shade)
            panel.blit(words, (truth, y + 3))
    surface.blit(panel, (8, top))


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


def _draw_panel(
    surface: pygame.Surface, font: pygame.font.Font, small: pygame.font.Font, hud: Hud, top: int
) -> int:
    """The H key's panel: the four calls by the five outcomes, latency, connection, failures.
    Drawn from ``top`` down, ``CALLS_HEIGHT`` high; returns its foot."""
    panel = pygame.Surface((surface.get_width() - 16, CALLS_HEIGHT), pygame.SRCALPHA)
    panel.fill((0, 0, 0, 215))
    white = (255, 255, 255)
    columns = outcome_columns(small, font)
    for outcome, x in zip(Outcome, columns, strict=True):
        panel.blit(small.render(outcome.value, True, pygame.Color(outcome.colour)), (x, 10))
    for row, action in enumerate(ARTICLE_CALLS):
        y = 28 + 18 * row
        panel.blit(font.render(action, True, white), (8, y))
        for outcome, x in zip(Outcome, columns, strict=True):
            n = hud.board.tally.count(action, outcome)
            panel.blit(
                font.render(str(n), True, pygame.Color(outcome.colour) if n else (90, 90, 90)),
                (x, y),
            )
    width = panel.get_width() - 16
    # The calls line takes two lines once the retry budget pauses retries: it must be read.
    calls = _wrap(small, hud.calls_line(), width, between="   ")
    lines = [(line, white) for line in calls[:2]]
    lines.append((prediction_line(hud.prediction), white))
    keepalive = [part for line in hud.keepalive_words() for part in _wrap(small, line, width)]
    lines += [(line, (150, 200, 255)) for line in keepalive[:3]]
    y = 104
    for line, colour in lines:
        panel.blit(small.render(line, True, colour), (8, y))
        y += 13
    for i, line in enumerate(hud.recent.failures):
        panel.blit(font.render(line[:70], True, (255, 150, 150)), (8, y + 3 + 16 * i))
    surface.blit(panel, (8, top))
    return top + CALLS_HEIGHT


def _wrap(font: pygame.font.Font, text: str, width: int, between: str = " ") -> list[str]:
    """``text`` in lines no wider than ``width`` pixels, broken between words (or between
    the parts that ``between`` separates)."""
    lines: list[str] = []
    line = ""
    for word in text.split(between) if between != " " else text.split():
        candidate = f"{line}{between}{word}" if line else word
        if line and font.size(candidate)[0] > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    return [*lines, line] if line else lines
