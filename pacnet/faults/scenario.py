"""A scenario: a workshop's timeline of faults, read from a TOML file, and the player that runs it.

A scenario file names itself, says what it is for, and lists its steps in time order::

    name = "Step 6: DELIVER REPLY - the reply is lost"
    description = "The proxy loses replies: the server acted, the client sees UNKNOWN."

    [[step]]
    at = 0                        # seconds from the start, increasing
    say = "Play normally."        # what the facilitator tells the room
    clear = true                  # optional: switch every fault off first

    [[step]]
    at = 20
    say = "One reply in five is now lost on its way back."
    faults = [{ kind = "drop", direction = "reply", probability = 0.2 }]

Each fault is a ``pacnet.faults.spec.Fault`` (camelCase or snake_case names, as on the wire).
Client faults (offline, apply_fails) cannot be switched remotely: a step's ``say`` asks
the players to press the window's key instead.

``ScenarioPlayer`` applies each step on an absolute deadline (start + ``at`` x time
scale), so a slow step does not push the later ones back, and however the run ends (its
last step, a stop request, a cancelled task) it switches off every fault it added: a
workshop is never left in chaos. It talks to the injectors through a ``Switchboard``
(``pacnet chaos`` gives it the server's and the proxy's ``/admin``) and reports what
happened as events for a view to show.
"""

import asyncio
import time
import tomllib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from pacnet.faults.spec import Domain, Fault, FaultKind

SUFFIX = ".toml"

CLIENT_KEYS: dict[FaultKind, str] = {FaultKind.OFFLINE: "F7", FaultKind.APPLY_FAILS: "F8"}
"""The window's key for each client fault (``pacnet/window/controls.py`` binds them)."""


def client_fault_hint(kind: FaultKind) -> str:
    """Why a client fault cannot be switched remotely, and where it is switched instead."""
    return (
        f"{kind} is a client fault and cannot be switched remotely: players switch it in "
        f"their window (key {CLIENT_KEYS[kind]}) or on their client"
    )


class ScenarioError(Exception):
    """A scenario cannot be found or read; the message is one line naming the file."""


class SwitchError(Exception):
    """An injector could not switch a fault (unreachable, token refused, command refused);
    the message is one line saying which and why."""


# --- the file ----------------------------------------------------------------------------


Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
LobbyCheck = Literal["live", "store"]


class ScenarioStep(BaseModel):
    """One moment of the timeline: what to say, and which faults to switch on."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    at: float = Field(ge=0, allow_inf_nan=False, description="Seconds from the start.")
    say: Line = Field(description="What the facilitator tells the room.")
    clear: bool = Field(default=False, description="Switch every fault off first.")
    faults: list[Fault] = Field(default_factory=list, description="Switched on at ``at``.")
    lobby_check: LobbyCheck | None = Field(
        default=None,
        description="What a group's balancer checks before it sends a server lobby requests, "
        "from this step on: ``live`` (that it is alive) or ``store`` (that it can read the "
        "store too); ``pacnet cluster lobby-check``.",
    )

    @model_validator(mode="after")
    def _remote_faults_only(self) -> Self:
        for fault in self.faults:
            if fault.domain is Domain.CLIENT:
                raise ValueError(f"{client_fault_hint(fault.kind)}; say so in the step's say")
        return self

    @property
    def calm(self) -> bool:
        """Whether this step only calms things down (no new fault)."""
        return not self.faults and self.lobby_check != "live"


class Scenario(BaseModel):
    """A workshop timeline: its steps in time order."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Line
    description: Line = Field(description="One line: what the room will learn.")
    steps: list[ScenarioStep] = Field(alias="step", min_length=1)

    @model_validator(mode="after")
    def _in_time_order(self) -> Self:
        for number, (before, after) in enumerate(zip(self.steps, self.steps[1:], strict=False)):
            if after.at <= before.at:
                raise ValueError(
                    f"step {number + 2} is at {after.at:g} s, not after step {number + 1} "
                    f"at {before.at:g} s: steps must be in time order"
                )
        return self

    @property
    def length(self) -> float:
        """Seconds from the start to the last step."""
        return self.steps[-1].at

    @property
    def domains(self) -> frozenset[Domain]:
        """The domains whose injectors this scenario's faults need."""
        return frozenset(fault.domain for step in self.steps for fault in step.faults)


def shipped_dir() -> Path:
    """Where the shipped scenarios live (inside the ``faults`` package)."""
    return Path(str(resources.files("pacnet.faults") / "scenarios"))


def shipped_scenarios() -> list[Path]:
    """The shipped scenario files, by name."""
    return sorted(shipped_dir().glob(f"*{SUFFIX}"), key=lambda path: _natural(path.stem))


def find_scenario(ref: str) -> Path:
    """The file ``ref`` names: a path, or a shipped scenario's name (``step6``).

    Raises:
        ScenarioError: there is no such file and no such shipped scenario.
    """
    path = Path(ref)
    if path.suffix == SUFFIX or len(path.parts) > 1 or path.is_file():
        if not path.is_file():
            raise ScenarioError(f"{ref}: no such scenario file")
        return path
    shipped = shipped_dir() / f"{ref}{SUFFIX}"
    if shipped.is_file():
        return shipped
    names = ", ".join(p.stem for p in shipped_scenarios())
    raise ScenarioError(f"no scenario {ref!r}: not a file, nor one of {names}")


def load_scenario(path: Path) -> Scenario:
    """Read and check one scenario file.

    Raises:
        ScenarioError: the file cannot be read, is not TOML, or is not a valid scenario;
            the message names the file and the entry at fault.
    """
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not a text file (UTF-8)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(f"{path}: {explain(exc, raw)}") from None


def explain(exc: ValidationError, raw: Any = None) -> str:
    """The first problem of ``exc`` in one line, naming the entry (``step 2 (at 30 s), fault
    1: probability: ...``) when ``raw`` is the scenario's data."""
    errors = exc.errors()
    first = errors[0]
    where = _where(list(first["loc"]), raw)
    message = str(first["msg"]).removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {message}{more}" if where else f"{message}{more}"


def _where(loc: list[int | str], raw: Any) -> str:
    """A pydantic error location as a facilitator reads it: ``step 2 (at 30 s), fault 1:
    probability`` (the entry, then the field)."""
    entry: list[str] = []
    steps = raw.get("step") if isinstance(raw, dict) else None
    if len(loc) >= 2 and loc[0] == "step" and isinstance(loc[1], int):
        index = loc[1]
        step = steps[index] if isinstance(steps, list) and index < len(steps) else None
        at = step.get("at") if isinstance(step, dict) else None
        known = isinstance(at, int | float) and not isinstance(at, bool)
        entry.append(f"step {index + 1}" + (f" (at {at:g} s)" if known else ""))
        loc = loc[2:]
        if len(loc) >= 2 and loc[0] == "faults" and isinstance(loc[1], int):
            entry.append(f"fault {loc[1] + 1}")
            loc = loc[2:]
    field = ".".join(str(part) for part in loc)
    return ": ".join(part for part in (", ".join(entry), field) if part)


def _natural(name: str) -> tuple[str, int, str]:
    """Sort ``step2`` before ``step10``."""
    stem = name.rstrip("0123456789")
    digits = name[len(stem) :]
    return (stem, int(digits) if digits else -1, name)


# --- the player --------------------------------------------------------------------------


class Switchboard(Protocol):
    """Where a player switches faults: each fault goes to the injector of its domain.

    Every method raises ``SwitchError`` (one line) when the injector cannot do it.
    """

    async def add(self, fault: Fault) -> Fault:
        """Switch ``fault`` on; returns it with the id the injector gave it."""
        ...

    async def remove(self, fault: Fault) -> bool:
        """Switch ``fault`` (by its id) off; False if it was off already (spent)."""
        ...

    async def clear(self) -> int:
        """Switch every fault off, everywhere; returns how many were on."""
        ...

    async def mark(self, label: str, next_step_in: float | None = None) -> None:
        """A new exercise begins: the room's windows reset their counts; the next step is
        ``next_step_in`` seconds away (None: this is the last)."""
        ...

    async def lobby_check(self, check: LobbyCheck) -> LobbyCheck:
        """Switch what the group's balancer checks before it sends a server lobby requests;
        returns what it checked before."""
        ...


@dataclass(frozen=True, slots=True)
class Waiting:
    """The next step is ``remaining`` (real) seconds away; sent about every ``refresh``."""

    number: int
    step: ScenarioStep
    remaining: float


@dataclass(frozen=True, slots=True)
class StepDone:
    """Step ``number`` (from 1) was applied: ``cleared`` faults off first (None: no clear),
    ``added`` on with their ids, and the ``problems`` that kept some from being switched."""

    number: int
    step: ScenarioStep
    cleared: int | None
    added: tuple[Fault, ...]
    problems: tuple[str, ...]
    lobby_check: LobbyCheck | None = None
    """What the balancer checks from this step on, if the step switched it."""


@dataclass(frozen=True, slots=True)
class CleanedUp:
    """The run is over (``interrupted``: before its last step): ``removed`` are the faults
    it had added that were still on; ``problems`` those it could not switch off."""

    removed: tuple[Fault, ...]
    problems: tuple[str, ...]
    interrupted: bool
    lobby_check: LobbyCheck | None = None
    """What the balancer checks again, if the run had switched it (as it was before)."""


PlayEvent = Waiting | StepDone | CleanedUp
Show = Callable[[PlayEvent], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class PlayReport:
    """How a run went."""

    steps_done: int
    problems: int
    """Faults that could not be switched on, or off at the end."""
    interrupted: bool


class ScenarioPlayer:
    """Plays one scenario through a switchboard.

    Args:
        scenario: the timeline.
        switchboard: where faults are switched.
        time_scale: multiplies every time (each step's ``at`` and each fault's
            ``durationS``): below 1 plays faster (rehearsals, tests).
        refresh: real seconds between ``Waiting`` events (the countdown's refresh).
        clock: monotonic seconds.
    """

    def __init__(
        self,
        scenario: Scenario,
        switchboard: Switchboard,
        *,
        time_scale: float = 1.0,
        refresh: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not time_scale > 0:
            raise ValueError("the time scale must be greater than 0")
        self.scenario = scenario
        self.switchboard = switchboard
        self.time_scale = time_scale
        self.refresh = refresh
        self._clock = clock
        self._on: list[Fault] = []
        """Faults this run added that may still be on."""
        self._lobby_check: LobbyCheck | None = None
        """What the balancer checked before this run first switched it (None: not yet)."""

    async def play(self, show: Show, stop: asyncio.Event | None = None) -> PlayReport:
        """Run every step at its time, then switch off what the run added.

        ``show`` is awaited with every event (a slow view does not delay later steps: they
        keep their deadlines). Setting ``stop`` ends the run early, as Ctrl-C does; the
        faults it added are switched off then too, and so they are if the task is cancelled.
        """
        stop = stop or asyncio.Event()
        start = self._clock()
        done = problems = 0
        interrupted = False
        try:
            for number, step in enumerate(self.scenario.steps, 1):
                deadline = start + step.at * self.time_scale
                if await self._wait_until(deadline, number, step, show, stop):
                    interrupted = True
                    break
                event = await self._apply(number, step)
                done, problems = done + 1, problems + len(event.problems)
                await show(event)
        finally:
            cleaned = await self._clean_up(interrupted or done < len(self.scenario.steps))
            problems += len(cleaned.problems)
            await show(cleaned)
        return PlayReport(done, problems, cleaned.interrupted)

    async def _wait_until(
        self, deadline: float, number: int, step: ScenarioStep, show: Show, stop: asyncio.Event
    ) -> bool:
        """Wait for ``deadline``, showing the countdown; True if ``stop`` was set first."""
        while (remaining := deadline - self._clock()) > 0:
            if stop.is_set():
                return True
            await show(Waiting(number, step, remaining))
            try:
                async with asyncio.timeout(min(self.refresh, max(deadline - self._clock(), 0))):
                    await stop.wait()
            except TimeoutError:
                continue
            return True
        return stop.is_set()

    async def _apply(self, number: int, step: ScenarioStep) -> StepDone:
        cleared: int | None = None
        problems: list[str] = []
        if step.clear:
            try:
                cleared = await self.switchboard.clear()
                self._on.clear()
            except SwitchError as exc:
                problems.append(f"clear: {exc}")
        try:  # after the clear, so the step's own words are what the windows show
            await self.switchboard.mark(f"step {number}: {step.say}"[:200], self._gap(number))
        except SwitchError as exc:
            problems.append(f"mark: {exc}")
        added: list[Fault] = []
        for fault in self._scaled(step.faults):
            try:
                added.append(await self.switchboard.add(fault))
            except SwitchError as exc:
                problems.append(f"{fault.describe()}: {exc}")
        self._on.extend(added)
        switched: LobbyCheck | None = None
        if step.lobby_check is not None:
            try:
                before = await self.switchboard.lobby_check(step.lobby_check)
                switched = step.lobby_check
                if self._lobby_check is None:
                    self._lobby_check = before
            except SwitchError as exc:
                problems.append(f"the lobby's check: {exc}")
        return StepDone(number, step, cleared, tuple(added), tuple(problems), switched)

    def _gap(self, number: int) -> float | None:
        """Real seconds from step ``number``'s time to the next step's, None after the last."""
        steps = self.scenario.steps
        if number >= len(steps):
            return None
        return (steps[number].at - steps[number - 1].at) * self.time_scale

    def _scaled(self, faults: Sequence[Fault]) -> list[Fault]:
        if self.time_scale == 1.0:
            return list(faults)
        return [
            fault
            if fault.duration_s is None
            else fault.model_copy(update={"duration_s": fault.duration_s * self.time_scale})
            for fault in faults
        ]

    async def _clean_up(self, interrupted: bool) -> CleanedUp:
        removed: list[Fault] = []
        problems: list[str] = []
        for fault in reversed(self._on):
            try:
                if await self.switchboard.remove(fault):
                    removed.append(fault)
            except SwitchError as exc:
                problems.append(f"{fault.id}: {exc}")
        self._on.clear()
        restored, self._lobby_check = self._lobby_check, None
        if restored is not None:
            try:
                await self.switchboard.lobby_check(restored)
            except SwitchError as exc:
                problems.append(f"the lobby's check: {exc}")
                restored = None
        return CleanedUp(tuple(reversed(removed)), tuple(problems), interrupted, restored)
