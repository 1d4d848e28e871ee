"""The fault on the command line: one table, ``FAULT_ARGUMENTS``, of every ``Fault`` field.

Each row names a field of ``pacnet.faults.spec.Fault`` once and says how ``pacnet chaos add``
takes it: its flag, how the text is read, and its help. The rest comes from the model: the
field's wire name (for the fault's JSON, and to name the flag in a validation error) and,
for an enum field, its choices. So the ``add`` flags and the fault they build cannot drift
apart, and a field added to ``Fault`` without a row fails the tests.
"""

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import get_args

from pydantic import ValidationError

from pacnet.cmdline.args import Usage, finite_number, whole_number
from pacnet.faults.scenario import client_fault_hint, explain
from pacnet.faults.spec import Domain, Fault, FaultKind


@dataclass(frozen=True, slots=True)
class FaultArgument:
    """How ``add`` takes one field of ``Fault``."""

    field: str
    """The field's name in ``Fault`` (``duration_s``); also where argparse keeps the value."""
    flag: str
    """``--duration``; without dashes (``KIND``), the positional argument."""
    help: str
    """Its line in ``add --help``."""
    metavar: str | None = None
    """How ``--help`` names its value (``N``, ``MS``); None: an enum's choices, as argparse
    lists them."""
    parse: Callable[[str], object] = str
    """The argparse type: how the text becomes the value."""

    @property
    def wire(self) -> str:
        """The field's name in the fault's JSON (``durationS``)."""
        return Fault.model_fields[self.field].alias or self.field

    @property
    def choices(self) -> list[str] | None:
        """The values of an enum field (``Direction | None`` too), as the model takes them."""
        annotation = Fault.model_fields[self.field].annotation
        for candidate in (annotation, *get_args(annotation)):
            if isinstance(candidate, type) and issubclass(candidate, StrEnum):
                return [member.value for member in candidate]
        return None

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        """Give ``parser`` this argument; its value lands in ``args.<field>`` (None: not given)."""
        if self.flag.startswith("-"):
            parser.add_argument(
                self.flag, dest=self.field, type=self.parse, choices=self.choices,
                metavar=self.metavar, help=self.help,
            )  # fmt: skip
        else:  # may be left out: --json can stand in for the whole fault
            parser.add_argument(
                self.field, nargs="?", type=self.parse, choices=self.choices,
                metavar=self.flag, help=self.help,
            )  # fmt: skip


def _kinds_by_domain() -> str:
    """Every kind, grouped by where it is injected (for KIND's help)."""
    groups: dict[Domain, list[str]] = {}
    for kind in FaultKind:
        groups.setdefault(Fault.model_construct(kind=kind).domain, []).append(kind.value)
    where = {Domain.NETWORK: "network (the proxy)", Domain.SERVER: "server",
             Domain.CLIENT: "client (switched in the window, not here)"}  # fmt: skip
    return "; ".join(f"{where[domain]}: {', '.join(kinds)}" for domain, kinds in groups.items())


FAULT_ARGUMENTS = (
    FaultArgument("kind", "KIND", "the fault: " + _kinds_by_domain()),
    FaultArgument("direction", "--direction", "network faults"),
    FaultArgument("probability", "--probability", "chance per match (1)", "P", finite_number),
    FaultArgument("action", "--action", "only requests of this action", "ACTION"),
    FaultArgument("user", "--user", "only requests of this user", "USER_ID"),
    FaultArgument("connection", "--connection", "only this connection", "N", whole_number),
    FaultArgument("room", "--room", "only requests in this room", "ROOM"),
    FaultArgument("skip", "--skip", "let this many matches pass first", "N", whole_number),
    FaultArgument("count", "--count", "fire at most this many times", "N", whole_number),
    FaultArgument("duration_s", "--duration", "switch off after this long", "SECONDS",
                  finite_number),
    FaultArgument("delay_ms", "--delay-ms", "delay: fixed part", "MS", whole_number),
    FaultArgument("jitter_ms", "--jitter-ms", "delay: random extra", "MS", whole_number),
    FaultArgument("corruption", "--corruption", "corrupt: how"),
    FaultArgument("crash", "--crash", "crash: how (exit)"),
    FaultArgument("id", "--id", "the fault's id (else the component numbers it)", "ID"),
)  # fmt: skip
"""Every field of ``Fault``, once, in the order ``add --help`` lists them."""

_BY_WIRE = {argument.wire: argument for argument in FAULT_ARGUMENTS}


def add_fault_arguments(parser: argparse.ArgumentParser) -> None:
    """KIND, a flag for every other field, and ``--json`` for the whole fault."""
    for argument in FAULT_ARGUMENTS:
        argument.add_to(parser)
    parser.add_argument(
        "--json", metavar="FAULT", help="the whole fault as JSON, as the admin endpoint takes it"
    )


def fault_from(args: argparse.Namespace) -> Fault:
    """The fault ``add``'s flags (or ``--json``) describe.

    Raises:
        Usage: no fault, both forms, or a fault that makes no sense.
    """
    given = {
        argument.wire: value
        for argument in FAULT_ARGUMENTS
        if (value := getattr(args, argument.field)) is not None
    }
    if args.json is not None:
        if given:
            raise Usage("--json takes the whole fault: give no KIND or other fault flags with it")
        try:
            fault = Fault.model_validate_json(args.json)
        except ValidationError as exc:
            raise Usage(f"--json: {explain(exc)}") from None
    elif args.kind is None:
        raise Usage("add needs a KIND (or --json FAULT)")
    else:
        try:
            fault = Fault.model_validate(given)
        except ValidationError as exc:
            raise Usage(_flag_problem(exc)) from None
    if fault.domain is Domain.CLIENT:
        raise Usage(client_fault_hint(fault.kind))
    return fault


def _flag_problem(exc: ValidationError) -> str:
    """The first problem of a fault built from flags, naming the flag (``--probability: ...``)."""
    first = exc.errors()[0]
    message = str(first["msg"]).removeprefix("Value error, ")
    loc = first["loc"]
    if not loc:
        return message
    argument = _BY_WIRE.get(str(loc[0]))
    return f"{argument.flag if argument else loc[0]}: {message}"
