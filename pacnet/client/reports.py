"""Reporting how our calls ended, for the room's view: only the client knows (UNKNOWN is its
verdict), so it tells the server every ``REPORT_EVERY`` seconds (``pacnet.server.room`` says
how a lost or late report does no harm)."""

import asyncio
import itertools
import time
from collections.abc import Callable

from pacnet.client.remote import RemoteBoard
from pacnet.protocol.feeds import REPORT_EVERY


async def report_outcomes(
    board: RemoteBoard, exercise: Callable[[], int], every: float = REPORT_EVERY
) -> None:
    """Report ``board``'s counts (of the exercise ``exercise()`` says the room is in) every
    ``every`` seconds, until cancelled. Each report is one attempt; its outcome is not counted
    among the board's calls."""
    # Numbered from the wall clock in ms, so a window opened again keeps counting up.
    numbers = itertools.count(int(time.time() * 1000))
    while True:
        await asyncio.sleep(every)
        if board.session_token is not None:  # joined: the server knows whose counts they are
            await board.report(exercise(), next(numbers), board.tally.as_counts())
