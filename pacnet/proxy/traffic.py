"""What the proxy saw go through it, pure (``now`` is an argument): per user, for the
``/traffic`` feed (``Traffic``), and in total, for ``Proxy.statistics()``
(``ProxyStatistics``)."""

import heapq
from dataclasses import dataclass, replace

from pacnet.protocol.feeds import TrafficEntry, TrafficView
from pacnet.proxy.policy import Plan


class Traffic:
    """When each user's requests last reached the proxy and last went on to the server, for
    the read-only ``/traffic`` feed: beside the server's keepalive table, it tells a user who
    is gone from one the network cuts off (heard here, never passed on) or holds up."""

    def __init__(self, keep: int = 10_000) -> None:
        self.keep = keep
        self._heard: dict[str, float] = {}
        self._passed: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def arrived(self, user: str, plan: Plan, now: float) -> None:
        """A request of ``user`` reached the proxy, and ``plan`` is what becomes of it: it is
        heard now, and passed on now unless the plan loses or holds it. The caller must call
        ``hold`` if it holds it, then ``released`` when it lets it go."""
        self.heard(user, now)
        if plan.delivers and plan.delay <= 0:
            self.passed(user, now)

    def released(self, user: str, plan: Plan, now: float, *, cancelled: bool) -> None:
        """A held request of ``user`` is out of the proxy's hands: sent on, or lost (the plan
        loses it, or its connection closed first: ``cancelled``)."""
        self.hold(user, -1)
        if plan.delivers and not cancelled:
            self.passed(user, now)

    def heard(self, user: str, now: float) -> None:
        if user not in self._heard and len(self._heard) >= self.keep:
            oldest = min(self._heard, key=self._heard.__getitem__)
            for table in (self._heard, self._passed, self._held):
                table.pop(oldest, None)
        self._heard[user] = now

    def passed(self, user: str, now: float) -> None:
        if user in self._heard:
            self._passed[user] = now

    def hold(self, user: str, change: int) -> None:
        if user in self._heard:
            self._held[user] = max(0, self._held.get(user, 0) + change)

    def view(self, now: float, shown: int = 200) -> TrafficView:
        latest = heapq.nlargest(shown, self._heard.items(), key=lambda item: item[1])
        return TrafficView(
            users=[
                TrafficEntry(
                    user_id=user,
                    heard_s=round(now - heard, 1),
                    passed_s=round(now - self._passed[user], 1) if user in self._passed else None,
                    held=self._held.get(user, 0),
                )
                for user, heard in latest
            ]
        )


@dataclass(frozen=True, slots=True)
class ProxyStatistics:
    """A snapshot of a proxy's traffic."""

    connections: int = 0
    """Client connections open now."""
    accepted: int = 0
    refused: int = 0
    """Connection attempts refused: by a refuse fault, or because the upstream was down."""
    requests: int = 0
    """Messages received from clients (whatever became of them)."""
    replies: int = 0
    """Messages received from the upstream server."""
    faults_injected: int = 0

    def counted(self, **more: int) -> "ProxyStatistics":
        """These statistics with ``more`` added to the named counts."""
        return replace(self, **{name: getattr(self, name) + n for name, n in more.items()})
