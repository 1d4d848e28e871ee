"""Reporting how our calls ended, for the room's view: only the client knows (UNKNOWN is its
verdict), so it tells the server every ``REPORT_EVERY`` seconds (``pacnet.server.reports`` says
how a lost or late report does no harm)."""

import asyncio
import itertools
import time
from collections.abc import Callable

from pacnet.client.remote import RemoteBoard
from pacnet.protocol.feeds import REPORT_EVERY
from pacnet.protocol.models import CallCount


async def report_outcomes(
    board: RemoteBoard,
    exercise: Callable[[], int],
    every: float = REPORT_EVERY,
    *,
    counts: Callable[[], list[CallCount]] | None = None,
    offset: float = 0.0,
) -> None:
    """Report ``board``'s counts (of the exercise ``exercise()`` says the room is in) every
    ``every`` seconds, the first ``offset`` seconds later, until cancelled. Each report is one
    attempt; its outcome is not counted among the board's calls. ``counts`` gives the counts
    to report, if not the board's whole tally (a bot's since the exercise began)."""
    # Numbered from the wall clock in ms, so a window opened again keeps counting up.
    numbers = itertools.count(int(time.time() * 1000))
    counted = counts or board.tally.as_counts
    await asyncio.sleep(offset)
    while True:
        await asyncio.sleep(every)
        if board.session_token is not None:  # joined: the server knows whose counts they are
            number = exercise()
            await board.report(number, next(numbers), counted())
