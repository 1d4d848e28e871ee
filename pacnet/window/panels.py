"""The HUD in pixels: score, lives and level along the top; every call's outcome, counted,
along the bottom; above the board, the faults switched on, the I key's request inspector, the
checker's alarm and the H key's calls panel.

Drawing reads the ``Hud`` and the ``View``; it never changes them. Text is costly to render,
so everything made of text that changes with the calls is drawn into one overlay, redrawn
``OVERLAY_PERIOD`` apart and kept between frames by the ``Overlay``.
"""

import pygame

from pacnet.client.predict import prediction_line
from pacnet.client.view import View
from pacnet.faults.spec import FaultStatus
from pacnet.protocol.actions import ARTICLE_CALLS
from pacnet.protocol.outcome import Outcome, Step
from pacnet.trace.steps import STEP_DOMAINS, Known, strip
from pacnet.window.draw import HUD, PACMAN, draw_pacman
from pacnet.window.hud import INSPECTED, TRUTH_WORDS, Hud

TEXT = 18
"""Size of the HUD's text (pygame's default font); the panels write smaller."""
OVERLAY_PERIOD = 0.1
"""Seconds between redraws of the text overlays (counts, faults, panels): ten times a second
is as fast as anyone reads, and rendering their text every frame took most of a core."""
GAVE_UP_SHOWN = 3.0
"""Seconds the window says that the server gave up on it (and that it joined again)."""
FAULT_RED = (255, 90, 90)


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

    def draw(self, surface: pygame.Surface, view: View, now: float) -> None:
        """Score, lives and level along the top; the overlay over everything."""
        _draw_status(surface, self.font(), view, now)
        if now >= self._due or self._surface is None:
            self._due = now + OVERLAY_PERIOD
            self._surface = self._draw_overlay(surface.get_size(), now)
        surface.blit(self._surface, (0, 0))

    def _draw_overlay(self, size: tuple[int, int], now: float) -> pygame.Surface:
        """Everything made of text that changes with the calls: the outcome counts along the
        bottom, the faults on above them, the inspector, the alarm and the calls panel."""
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
        bottom = size[1] - HUD
        if hud.inspecting:
            bottom = _draw_inspector(surface, self.font(15), hud, bottom)
        faults = hud.faults(now)
        if faults:
            _draw_faults(surface, self.font(16), faults, bottom)
        if hud.alarms:
            _draw_alarm(surface, font, hud, now)
        if hud.shown:
            _draw_panel(surface, font, self.font(15), hud)
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
    for status in reversed(faults[-6:]):
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
HEADER = 60
"""The inspector's title and column heads: number, step in two words, domain."""


def _draw_inspector(surface: pygame.Surface, small: pygame.font.Font, hud: Hud, bottom: int) -> int:
    """The I key's request inspector: the latest calls, each as the article's eight steps,
    lit as far as the client knows (passed, failed here, unknown, never reached). Drawn
    above ``bottom``; returns its top."""
    cell, row_height, left = 30, 17, 52
    height = HEADER + 2 + row_height * INSPECTED
    panel = pygame.Surface((surface.get_width() - 16, height), pygame.SRCALPHA)
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
    panel.blit(small.render("server", True, grey), (left + 8 * cell + 74, 46))
    for row, ((result, _), pinned) in enumerate(hud.inspector_rows()):
        y = HEADER + row * row_height
        colour = pygame.Color(result.outcome.colour)
        if pinned:  # a failure kept on show until D: marked down its left edge
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
            panel.blit(words, (left + 8 * cell + 74, y + 3))
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


def _draw_panel(
    surface: pygame.Surface, font: pygame.font.Font, small: pygame.font.Font, hud: Hud
) -> None:
    """The H key's panel: the four calls by the five outcomes, latency, connection, failures."""
    panel = pygame.Surface((surface.get_width() - 16, 282), pygame.SRCALPHA)
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
    panel.blit(small.render(hud.calls_line(), True, white), (8, 108))
    panel.blit(small.render(prediction_line(hud.prediction), True, white), (8, 122))
    width = panel.get_width() - 16
    wrapped = [part for line in hud.keepalive_words() for part in _wrap(small, line, width)]
    for i, line in enumerate(wrapped[:3]):
        panel.blit(small.render(line, True, (150, 200, 255)), (8, 138 + 13 * i))
    for i, line in enumerate(hud.recent.failures):
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
