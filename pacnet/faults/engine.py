"""When a fault fires: the faults switched on in one injector, matched against each message.

No I/O and no clock of its own: the caller passes ``now`` (monotonic seconds), and every
random choice comes from one seeded ``random.Random``, so the same messages in the same
order meet the same faults again (a workshop run can be replayed from its seed).
"""

import itertools
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pacnet.faults.spec import Direction, Domain, Fault, FaultKind, FaultStatus

MAX_FAULTS = 64
"""Faults one injector holds at once: a workshop needs a handful; a runaway script gets an
error instead of slowing every message down."""


ID_PREFIX = {Domain.CLIENT: "c", Domain.NETWORK: "n", Domain.SERVER: "s"}
"""Fault ids start with their domain's letter (s1, n1, c1), so an id names one fault in the
whole workshop: "remove s1" cannot mean the proxy's first fault."""


@dataclass(frozen=True, slots=True)
class Message:
    """What an injector knows about the message at hand (None: not known here)."""

    action: str | None = None
    user: str | None = None
    connection: int | None = None
    direction: Direction | None = None
    room: str | None = None


@dataclass(slots=True)
class _Active:
    fault: Fault
    added: float
    matched: int = 0
    fired: int = 0

    def spent(self, now: float) -> bool:
        fault = self.fault
        if fault.count is not None and self.fired >= fault.count:
            return True
        return fault.duration_s is not None and now - self.added >= fault.duration_s


class FaultSet:
    """The faults of one domain's injector.

    Args:
        domain: the only domain whose faults this set accepts.
        seed: seed of every random choice (probabilities, jitter, corruption).
    """

    def __init__(self, domain: Domain, seed: int = 0) -> None:
        self.domain = domain
        self.seed = seed
        self.random = random.Random(seed)
        self.version = 0
        """Goes up on every change of the set (add, remove, clear, a fault spent)."""
        self.on_change: Callable[[], None] | None = None
        """Called after every change (an injector may unhook itself while the set is empty)."""
        self._faults: dict[str, _Active] = {}
        self.fired: dict[tuple[str, str], int] = {}
        """Times a fault fired since the start, by the step it breaks and its kind: kept when
        the fault is gone, for the counters operators scrape (``/metrics``)."""
        self._ids = itertools.count(1)
        self._prefix = ID_PREFIX[domain]

    def __bool__(self) -> bool:
        return bool(self._faults)

    def add(self, fault: Fault, now: float) -> Fault:
        """Switch ``fault`` on; returns it with its id.

        Raises:
            ValueError: the fault belongs to another domain, its id is taken, or the set is
                full.
        """
        if fault.domain is not self.domain:
            raise ValueError(
                f"a {fault.kind} fault is injected by the {fault.domain}, not the {self.domain}"
            )
        if len(self._faults) >= MAX_FAULTS:
            raise ValueError(f"{MAX_FAULTS} faults are on already; remove some first")
        fault_id = fault.id
        if fault_id is None:
            fault_id = next(
                i for i in (f"{self._prefix}{n}" for n in self._ids) if i not in self._faults
            )
        elif fault_id in self._faults:
            raise ValueError(f"a fault with id {fault_id!r} is on already")
        fault = fault.model_copy(update={"id": fault_id})
        self._faults[fault_id] = _Active(fault, now)
        self._changed()
        return fault

    def remove(self, fault_id: str) -> bool:
        """Switch one fault off; False if there was none with that id."""
        if self._faults.pop(fault_id, None) is None:
            return False
        self._changed()
        return True

    def clear(self) -> int:
        """Switch every fault off; returns how many were on."""
        n = len(self._faults)
        self._faults.clear()
        self._changed()
        return n

    def holds(self, kinds: Iterable[FaultKind], message: Message, now: float) -> bool:
        """Whether a fault of ``kinds`` is on for ``message`` (its filters match and it is not
        spent), without counting a match or firing it: for a check that looks, not a request
        the fault would hit."""
        wanted = set(kinds)
        return any(
            a.fault.kind in wanted and _matches(a.fault, message) and not a.spent(now)
            for a in self._faults.values()
        )

    def status(self, now: float) -> list[FaultStatus]:
        """Every fault on, with its counters (spent ones are dropped first)."""
        self._expire(now)
        return [
            FaultStatus(
                fault=a.fault,
                domain=a.fault.domain,
                step=a.fault.step.value,
                matched=a.matched,
                fired=a.fired,
                description=a.fault.describe(),
            )
            for a in self._faults.values()
        ]

    def fire(
        self, kinds: Iterable[FaultKind], message: Message, now: float, *, first: bool = False
    ) -> list[Fault]:
        """The faults of ``kinds`` that hit ``message`` now, in the order they were added.

        Each fault whose filters match counts the message; past its ``skip``, it fires with
        its probability. Every fault that fires applies: the caller combines them (for the
        network, in ``spec.ORDER``). With ``first``, only the first to fire applies (where
        one fault ends the message, as on the server); the faults after it do not look.
        """
        if not self._faults:
            return []
        wanted = set(kinds)
        hits: list[Fault] = []
        spent = False
        for active in self._faults.values():
            fault = active.fault
            if fault.kind not in wanted or not _matches(fault, message):
                continue
            if active.spent(now):
                spent = True
                continue
            active.matched += 1
            if active.matched <= fault.skip:
                continue
            if fault.probability < 1.0 and self.random.random() >= fault.probability:
                continue
            active.fired += 1
            key = (fault.step.name, fault.kind.value)
            self.fired[key] = self.fired.get(key, 0) + 1
            hits.append(fault)
            if first:
                break
        if spent:
            self._expire(now)
        return hits

    def _changed(self) -> None:
        self.version += 1
        if self.on_change is not None:
            self.on_change()

    def _expire(self, now: float) -> None:
        gone = [fault_id for fault_id, a in self._faults.items() if a.spent(now)]
        for fault_id in gone:
            del self._faults[fault_id]
        if gone:
            self._changed()


def _matches(fault: Fault, message: Message) -> bool:
    if fault.direction is not None and fault.direction is not message.direction:
        return False
    if fault.action is not None and fault.action != message.action:
        return False
    if fault.user is not None and fault.user != message.user:
        return False
    if fault.room is not None and fault.room != message.room:
        return False
    return fault.connection is None or fault.connection == message.connection
