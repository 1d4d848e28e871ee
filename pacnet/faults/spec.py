"""What a fault is: one kind of failure, in one domain, at one of the article's steps.

A fault travels as JSON (the admin endpoint, scenario files), so it is a strict wire model
with camelCase names, like every other pacnet message::

    {"kind": "drop", "direction": "reply", "probability": 0.2, "action": "findAll"}

Its domain and step follow from its kind (and, on the network, its direction): a fault is
always injected where that failure really happens.
"""

from enum import StrEnum
from typing import Annotated, Self

from pydantic import Field, Strict, model_validator

from pacnet.protocol.lobby import RoomName
from pacnet.protocol.models import Identifier, WireModel
from pacnet.protocol.outcome import Step


class Domain(StrEnum):
    """Where a fault is injected. Client, network and server do not share fate."""

    CLIENT = "client"
    NETWORK = "network"
    SERVER = "server"


class Direction(StrEnum):
    """Which way a network fault hits: the request on its way in, or the reply on its way out."""

    REQUEST = "request"
    REPLY = "reply"


class FaultKind(StrEnum):
    """Every failure pacnet can inject."""

    # network (the proxy)
    REFUSE = "refuse"
    """New connections are refused; open ones carry on."""
    BLACKHOLE = "blackhole"
    """New connections are accepted and then hear nothing: no message is ever delivered."""
    DROP = "drop"
    """The message is lost."""
    DELAY = "delay"
    """The message arrives late (``delayMs`` plus up to ``jitterMs``)."""
    CORRUPT = "corrupt"
    """The message arrives damaged (see ``Corruption``)."""
    DUPLICATE = "duplicate"
    """The message arrives twice."""
    RESET = "reset"
    """The connection is cut when the message comes by; the message is lost."""
    # server (its request pipeline)
    CRASH = "crash"
    """The server dies right after receiving the request (``crash``: how)."""
    REJECT = "reject"
    """The server refuses the request as invalid (INVALID_MESSAGE)."""
    UPDATE_FAILS = "update_fails"
    """The state update fails: STATE_UPDATE_FAILED, nothing changed."""
    NO_REPLY = "no_reply"
    """The update is applied and then no reply is sent (the network card died)."""
    BAD_VERSION = "bad_version"
    """The update is applied and the reply claims a version the client does not speak."""
    DISK_FULL = "disk_full"
    """The catalog server's full disk: every request is answered at once, with an empty
    reply, and nothing is done."""
    # server (its own calls to its group's store, Redis: ``pacnet.cluster.link``)
    STORE_REFUSE = "store_refuse"
    """The server cannot connect to Redis: its call is never sent."""
    STORE_DROP = "store_drop"
    """The server's call to Redis, or Redis's reply, is lost on the way."""
    STORE_DELAY = "store_delay"
    """The server's call to Redis, or its reply, arrives late (``delayMs`` plus up to
    ``jitterMs``)."""
    # client (its transport)
    OFFLINE = "offline"
    """The client's own network is down: nothing leaves it."""
    APPLY_FAILS = "apply_fails"
    """A valid reply arrives and the client fails to apply it."""


class Corruption(StrEnum):
    """How a corrupted message is damaged."""

    FLIP = "flip"
    """A few characters replaced with other printable ones: still UTF-8 text, never JSON."""
    TRUNCATE = "truncate"
    """Cut short: never JSON."""
    GARBAGE = "garbage"
    """Replaced with random bytes."""
    SCHEMA = "schema"
    """Well-formed JSON that fails the models: a field renamed, so only the validators
    (step 3 for requests, step 7 for replies) can tell."""


class CrashMode(StrEnum):
    """How the server dies after receiving a request."""

    EXIT = "exit"
    """The server process exits on the spot (a real crash: every connection drops)."""
    ABORT = "abort"
    """Only this connection is aborted, without processing the request."""


_DOMAIN: dict[FaultKind, Domain] = {
    **dict.fromkeys(
        (
            FaultKind.REFUSE, FaultKind.BLACKHOLE, FaultKind.DROP, FaultKind.DELAY,
            FaultKind.CORRUPT, FaultKind.DUPLICATE, FaultKind.RESET,
        ),
        Domain.NETWORK,
    ),
    **dict.fromkeys(
        (
            FaultKind.CRASH, FaultKind.REJECT, FaultKind.UPDATE_FAILS, FaultKind.NO_REPLY,
            FaultKind.BAD_VERSION, FaultKind.DISK_FULL, FaultKind.STORE_REFUSE,
            FaultKind.STORE_DROP, FaultKind.STORE_DELAY,
        ),
        Domain.SERVER,
    ),
    FaultKind.OFFLINE: Domain.CLIENT,
    FaultKind.APPLY_FAILS: Domain.CLIENT,
}  # fmt: skip

_STEP: dict[FaultKind, Step] = {
    FaultKind.REFUSE: Step.POST_REQUEST,
    FaultKind.OFFLINE: Step.POST_REQUEST,
    FaultKind.STORE_REFUSE: Step.POST_REQUEST,
    FaultKind.BLACKHOLE: Step.DELIVER_REQUEST,
    FaultKind.CRASH: Step.DELIVER_REQUEST,
    FaultKind.REJECT: Step.VALIDATE_REQUEST,
    FaultKind.UPDATE_FAILS: Step.UPDATE_SERVER_STATE,
    FaultKind.DISK_FULL: Step.UPDATE_SERVER_STATE,
    FaultKind.NO_REPLY: Step.POST_REPLY,
    FaultKind.BAD_VERSION: Step.POST_REPLY,
    FaultKind.APPLY_FAILS: Step.UPDATE_CLIENT_STATE,
}
"""The step of every fault that does not depend on its direction."""

_PER_MESSAGE = frozenset(
    {FaultKind.DROP, FaultKind.DELAY, FaultKind.CORRUPT, FaultKind.DUPLICATE, FaultKind.RESET}
)
"""Network faults that hit one message on its way, in one direction."""

STORE_LINK = frozenset({FaultKind.STORE_REFUSE, FaultKind.STORE_DROP, FaultKind.STORE_DELAY})
"""Faults on the server's own calls to its group's store: the article's steps one level down
(their ``action`` filter names the call: ``lease.renew``, ``snapshot.save``, ...)."""

_DIRECTED = _PER_MESSAGE | {FaultKind.STORE_DROP, FaultKind.STORE_DELAY}
"""Faults that hit a message in one direction, and so need one."""

ORDER: tuple[FaultKind, ...] = (
    FaultKind.DELAY, FaultKind.DUPLICATE, FaultKind.CORRUPT, FaultKind.DROP, FaultKind.RESET,
)  # fmt: skip
"""How stacked network faults on one message combine: all that fire apply, in this order.
A delay holds the message first; a duplicate makes a second copy; corruption damages every
copy; a drop then loses them all; a reset cuts the connection after that. So a delay and a
drop on the same path both apply: the message is held, then lost."""

Probability = Annotated[float, Strict(), Field(gt=0.0, le=1.0)]
Count = Annotated[int, Strict()]
"""Whole numbers: ``true`` or ``"3"`` in a scenario file is a mistake, not a 1 or a 3."""
Seconds = Annotated[float, Strict(), Field(allow_inf_nan=False)]


class Fault(WireModel):
    """One fault, as a facilitator switches it on.

    The filters (``action``, ``user``, ``connection``, ``room``) narrow what it hits; ``skip`` lets
    the first matching messages by; ``count`` and ``durationS`` end it. For example "the
    next move of user 8765309" is ``{kind, action: "move", user: "8765309", count: 1}`` and
    "the third reply on connection 4" is ``{kind, direction: "reply", connection: 4,
    skip: 2, count: 1}``.
    """

    model_config = WireModel.model_config | {"strict": False}  # TOML and CLI give plain types

    id: Identifier | None = Field(default=None, description="Given by the injector on add.")
    kind: FaultKind
    direction: Direction | None = Field(
        default=None, description="Network faults on messages: which way they hit."
    )
    probability: Probability = Field(default=1.0, description="Chance each match fires.")
    action: Identifier | None = Field(default=None, description="Only requests of this action.")
    user: Identifier | None = Field(default=None, description="Only requests of this userId.")
    connection: Count | None = Field(
        default=None, ge=1, description="Only this connection (as the injector numbers them)."
    )
    room: RoomName | None = Field(default=None, description="Only requests in this room.")
    skip: Count = Field(default=0, ge=0, description="Let this many matches pass first.")
    count: Count | None = Field(default=None, ge=1, description="Fire at most this many times.")
    duration_s: Seconds | None = Field(
        default=None, gt=0, description="Switch off this many seconds after it was added."
    )
    delay_ms: Count = Field(default=0, ge=0, le=600_000, description="delay: fixed part.")
    jitter_ms: Count = Field(default=0, ge=0, le=600_000, description="delay: random extra.")
    corruption: Corruption = Field(default=Corruption.FLIP, description="corrupt: how.")
    crash: CrashMode = Field(default=CrashMode.EXIT, description="crash: how.")

    @model_validator(mode="after")
    def _fits_its_kind(self) -> Self:
        per_message = self.kind in _DIRECTED
        if per_message and self.direction is None:
            raise ValueError(f"a {self.kind} fault needs a direction (request or reply)")
        if not per_message and self.direction is not None:
            raise ValueError(f"a {self.kind} fault has no direction")
        if self.kind is FaultKind.REFUSE and (self.action is not None or self.user is not None):
            raise ValueError(
                "a refuse fault is decided at the handshake, before any request: "
                "aim it with connection, not action or user"
            )
        delays = self.kind in (FaultKind.DELAY, FaultKind.STORE_DELAY)
        if delays and self.delay_ms == 0 and self.jitter_ms == 0:
            raise ValueError(f"a {self.kind} fault needs delayMs or jitterMs")
        return self

    @property
    def domain(self) -> Domain:
        return _DOMAIN[self.kind]

    @property
    def step(self) -> Step:
        """The article's step this fault breaks."""
        if self.kind in _STEP:
            return _STEP[self.kind]
        return Step.DELIVER_REQUEST if self.direction is Direction.REQUEST else Step.DELIVER_REPLY

    def describe(self) -> str:
        """One line for terminals and HUDs, e.g. ``drop reply 20% action=findAll (network,
        step 6 DELIVER REPLY)``: the step in words, as the workshop's exercises are headed."""
        parts = [self.kind.value]
        if self.direction is not None:
            parts.append(self.direction.value)
        if self.kind in (FaultKind.DELAY, FaultKind.STORE_DELAY):
            parts.append(f"{self.delay_ms}+{self.jitter_ms}ms")
        if self.kind is FaultKind.CORRUPT:
            parts.append(self.corruption.value)
        if self.kind is FaultKind.CRASH:
            parts.append(self.crash.value)
        if self.probability < 1:
            parts.append(f"{self.probability:.0%}")
        for label, value in (("action", self.action), ("user", self.user), ("room", self.room)):
            if value is not None:
                parts.append(f"{label}={value}")
        if self.connection is not None:
            parts.append(f"connection={self.connection}")
        if self.skip:
            parts.append(f"after {self.skip}")
        if self.count is not None:
            parts.append(f"x{self.count}")
        if self.duration_s is not None:
            parts.append(f"for {self.duration_s:g}s")
        where = f"{self.domain}, step {self.step.value} {self.step.name.replace('_', ' ')}"
        if self.kind in STORE_LINK:  # one level down: the server is the client
            where = f"the server's calls to Redis, step {self.step.value} " + (
                self.step.name.replace("_", " ")
            )
        if self.kind is FaultKind.CORRUPT:  # damaged on the way, found out by a validator
            caught = (
                Step.VALIDATE_REQUEST
                if self.direction is Direction.REQUEST
                else Step.VALIDATE_REPLY
            )
            where += f"; caught at step {caught.value} {caught.name.replace('_', ' ')}"
        return f"{' '.join(parts)} ({where})"


class FaultStatus(WireModel):
    """A fault as an injector reports it: the fault, and what it has done so far."""

    fault: Fault
    domain: Domain
    step: int
    matched: int = Field(description="Messages that passed its filters.")
    fired: int = Field(description="Times it was injected.")
    description: str
