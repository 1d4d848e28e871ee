"""The ``/faults`` feed: the faults switched on behind an address, for anyone to watch."""

from pacnet.faults.spec import FaultStatus
from pacnet.feeds.reader import FeedWatch
from pacnet.protocol.models import WireModel

FEED_PATH = "/faults"


class FaultFeed(WireModel):
    """What ``/faults`` sends: every fault active behind this address, in every domain."""

    faults: list[FaultStatus]


class FaultWatch(FeedWatch[FaultFeed]):
    """The faults switched on behind a server's (or proxy's) address."""

    def __init__(self, url: str) -> None:
        super().__init__(url, FEED_PATH, FaultFeed)

    @property
    def faults(self) -> list[FaultStatus]:
        return self.latest.faults if self.latest is not None else []
