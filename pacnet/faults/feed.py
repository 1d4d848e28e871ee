"""The ``/faults`` feed: the faults switched on behind an address, for anyone to watch."""

from pydantic import Field

from pacnet.faults.spec import FaultStatus
from pacnet.feeds.reader import FeedWatch
from pacnet.protocol.models import WireModel

FEED_PATH = "/faults"


class Exercise(WireModel):
    """Which exercise of a workshop the room is in: ``number`` goes up at every scenario step
    and every ``chaos clear`` (and ``chaos mark``), and a window resets its counts when it
    does, so each exercise's outcomes are its own."""

    number: int = Field(default=0, ge=0)
    label: str = Field(default="", max_length=200)
    next_step_in_s: int | None = Field(
        default=None, ge=0,
        description="Whole seconds (rounded up) until the scenario's next step, as of when this "
        "was sent: the projector's countdown. None when no step is due (a mark by hand, a "
        "clear, a scenario's last step).",
    )  # fmt: skip


class FaultFeed(WireModel):
    """What ``/faults`` sends: every fault active behind this address, in every domain, and
    the exercise the server says the room is in."""

    faults: list[FaultStatus]
    exercise: Exercise = Field(default_factory=Exercise)


class FaultWatch(FeedWatch[FaultFeed]):
    """The faults switched on behind a server's (or proxy's) address."""

    def __init__(self, url: str) -> None:
        super().__init__(url, FEED_PATH, FaultFeed)

    @property
    def faults(self) -> list[FaultStatus]:
        return self.latest.faults if self.latest is not None else []

    @property
    def exercise(self) -> Exercise | None:
        """The exercise behind the address (None while the feed is out of reach)."""
        return self.latest.exercise if self.latest is not None else None
