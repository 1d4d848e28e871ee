"""The board in pixels: the maze, drawn once; the food, the ghosts and the pac-men, drawn
every frame where the ``View`` interpolates them; and the frame put on the screen.

Drawing reads the ``View``; it never changes it.
"""

import math
import zlib

import pygame

from pacnet.client.view import Point, View
from pacnet.window.layout import placed

TILE = 16
"""Pixels per tile in the base image, before it is scaled to the window."""
HUD = 24
"""Pixels of the HUD's strips above and below the maze."""

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
FRIGHTENED = (33, 33, 255)
FLASH = (222, 222, 255)


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
        x, y, width, height = placed(frame.get_size(), screen.get_size())
        if self._scaled is None or self._at != (x, y) or self._scaled.get_size() != (width, height):
            self._scaled = pygame.Surface((width, height))
            self._at = (x, y)
            screen.fill(BLACK)  # the bars, once per size
        pygame.transform.scale(frame, (width, height), self._scaled)
        screen.blit(self._scaled, self._at)


def draw_maze(maze: tuple[str, ...], size: tuple[int, int]) -> pygame.Surface:
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


def draw_board(
    base: pygame.Surface,
    walls: pygame.Surface,
    view: View,
    t: float,
    where: dict[str, Point],
    font: pygame.font.Font,
) -> None:
    """The maze, the food and every piece at ``where`` (in tiles), at ``t`` seconds into the
    window (energizers blink, mouths chew); other players' pac-men carry their names."""
    base.fill(BLACK)
    base.blit(walls, (0, 0))
    blink = int(t * 4) % 2 == 0
    for food in view.food.values():
        at = tile_centre((food.x_pos, food.y_pos))
        if food.kind == ":energizer":
            if blink:
                pygame.draw.circle(base, PELLET, at, TILE // 2 - 1)
        else:
            pygame.draw.circle(base, PELLET, at, 2)
    for name, point in where.items():
        heading = view.headings.get(name, "left")
        x, y = tile_centre(point)
        if name in GHOSTS:
            state = view.latest.pieces[name].state or "normal"
            draw_ghost(base, (x, y), ghost_colour(name, state, t), heading, state)
        else:
            colour = PACMAN if name == view.me else player_colour(name)
            draw_pacman(base, (x, y), colour, heading, t)
            if name != view.me:
                label = font.render(name.removeprefix("pacman-"), True, colour)
                base.blit(label, label.get_rect(midbottom=(x, y - TILE // 2)))


def draw_pacman(
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


def ghost_colour(name: str, state: str, t: float) -> tuple[int, int, int]:
    if state == "frightened" or (state == "flashing" and int(t * 5) % 2 == 0):
        return FRIGHTENED
    return FLASH if state == "flashing" else GHOSTS[name]


def draw_ghost(
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


def tile_centre(point: Point) -> tuple[int, int]:
    return (round(point[0] * TILE + TILE / 2), round(point[1] * TILE + TILE / 2 + HUD))


def player_colour(name: str) -> tuple[int, int, int]:
    """Another player's pac-man: a colour of its own, the same on every screen."""
    colour = pygame.Color(0)
    colour.hsva = (zlib.crc32(name.encode()) % 360, 80, 100, 100)
    return (colour.r, colour.g, colour.b)
