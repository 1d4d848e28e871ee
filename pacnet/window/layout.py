"""Where the board and the panels sit in the window's frame: side by side, never one over
the other.

The panels (the calls panel, the inspector, the faults on) share one column of their own:
beside the board in a landscape window, below it in a portrait or narrow one, whichever
shows the board bigger once the frame is scaled to the window. A window the player has not
resized follows the frame's own size, so opening a panel widens it rather than shrinking the
board (docs/workshop.md, "The window on a projector").

No pygame here: rectangles are ``(x, y, width, height)`` tuples in the frame's pixels.
"""

from dataclasses import dataclass

Size = tuple[int, int]
Box = tuple[int, int, int, int]
"""x, y, width, height."""


@dataclass(frozen=True)
class Layout:
    """The frame's size, and where the board and the panels' column sit in it."""

    frame: Size
    board: Box
    column: Box | None
    """None: no panel is open, the frame is the board."""
    beside: bool = True
    """The column is to the right of the board (False: below it)."""


def arrange(board: Size, column: Size | None, window: Size | None = None) -> Layout:
    """The layout for a board and a column of panels (None: no panel open).

    ``window``: the size the frame will be scaled into; the column goes beside the board or
    below it, whichever shows the board bigger there (beside, when equal). None: the window
    follows the frame's own size (the player has not resized it), and the column goes beside
    the board, since screens are wider than tall.

    The board sits at the frame's top (its score line level with the panels' first line),
    centred across its part; the column fills its part.
    """
    if column is None:
        return Layout(board, (0, 0, *board), None)
    beside = _beside(board, column)
    below = _below(board, column)
    if window is None or scale(beside.frame, window) >= scale(below.frame, window):
        return beside
    return below


def _beside(board: Size, column: Size) -> Layout:
    (bw, bh), (cw, ch) = board, column
    height = max(bh, ch)
    return Layout((bw + cw, height), (0, 0, bw, bh), (bw, 0, cw, height))


def _below(board: Size, column: Size) -> Layout:
    (bw, bh), (cw, ch) = board, column
    width = max(bw, cw)
    return Layout((width, bh + ch), ((width - bw) // 2, 0, bw, bh), (0, bh, width, ch), False)


def scale(frame: Size, window: Size) -> float:
    """How much a frame is scaled to fit a window, keeping its shape."""
    return min(window[0] / frame[0], window[1] / frame[1])


def placed(frame: Size, window: Size) -> Box:
    """Where a frame scaled to fit ``window`` lands in it: centred, black bars around."""
    factor = scale(frame, window)
    width, height = max(1, round(frame[0] * factor)), max(1, round(frame[1] * factor))
    return ((window[0] - width) // 2, (window[1] - height) // 2, width, height)


def landed(box: Box, frame: Size, window: Size) -> Box:
    """Where ``box`` of a frame scaled to fit ``window`` lands in it, in its pixels. Boxes
    that meet in the frame meet on the window too: each edge is rounded once."""
    factor = scale(frame, window)
    x, y, _, _ = placed(frame, window)
    bx, by, bw, bh = box
    left, top = x + round(bx * factor), y + round(by * factor)
    right, bottom = x + round((bx + bw) * factor), y + round((by + bh) * factor)
    return (left, top, max(1, right - left), max(1, bottom - top))


def on_screen(layout: Layout, window: Size) -> tuple[Box, Box | None]:
    """Where the board and the column of ``layout`` land in ``window``, in its pixels."""
    board = landed(layout.board, layout.frame, window)
    return board, None if layout.column is None else landed(layout.column, layout.frame, window)
