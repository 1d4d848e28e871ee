"""The switchboard: ``pacnet chaos`` talking to the ``/admin`` of a server and of a proxy.

Each fault goes to the component of its domain: network faults to the proxy, server faults
to the server. What the libraries raise on the way (``OSError``, websockets' exceptions,
``pydantic.ValidationError``) becomes one line here, in ``Target.send``, and nowhere else::

    SwitchError              an injector could not switch a fault (pacnet.faults.scenario)
     +-- NotRunning          nothing listens at the address (the connection was refused)
    Usage                    the command line asks for something that makes no sense
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from websockets.exceptions import InvalidStatus, WebSocketException

from pacnet.cmdline.args import Usage
from pacnet.cmdline.defaults import TOKEN_ENV
from pacnet.faults.admin import AdminClient, AdminReply
from pacnet.faults.scenario import LobbyCheck, Scenario, SwitchError, client_fault_hint
from pacnet.faults.spec import Domain, Fault

ADMIN_TIMEOUT = 5.0
"""Seconds to reach an ``/admin`` and hear back: it answers in milliseconds when it is up."""


class NotRunning(SwitchError):
    """Nothing listens at the target's address (the connection was refused)."""


@dataclass(frozen=True, slots=True)
class Target:
    """One component's ``/admin``: the server's (server faults) or the proxy's (network)."""

    name: str
    """``server`` or ``proxy``, as the messages say it."""
    url: str
    token: str
    token_flag: str
    """The flag that gives this target's token (for the message when it is refused)."""

    async def send(self, command: Callable[[AdminClient], Awaitable[AdminReply]]) -> AdminReply:
        """Connect, run one admin command, disconnect.

        Raises:
            NotRunning: nothing listens at ``url``.
            SwitchError: anything else kept the command from being heard (one line).
        """
        try:
            async with AdminClient(self.url, self.token, timeout=ADMIN_TIMEOUT) as admin:
                return await command(admin)
        except (OSError, WebSocketException, ValidationError) as exc:
            raise self._explain(exc) from None

    def _explain(self, exc: OSError | WebSocketException | ValidationError) -> SwitchError:
        """What the libraries raised, as one line for the facilitator (the most specific
        first: TimeoutError and ConnectionRefusedError are OSErrors)."""
        where = f"the {self.name} at {self.url}"
        match exc:
            case ConnectionRefusedError():
                return NotRunning(f"{where} is not running (connection refused)")
            case InvalidStatus() if exc.response.status_code == 401:
                if not self.token:
                    return SwitchError(
                        f"{where} needs its admin token: give {self.token_flag} or set "
                        f"{TOKEN_ENV} (it printed its token on its terminal when it started)"
                    )
                return SwitchError(
                    f"{where} refused the admin token: it is wrong (use the token it printed "
                    f"when it started, or the --admin-token it was started with)"
                )
            case InvalidStatus():
                return SwitchError(
                    f"{where} answered HTTP {exc.response.status_code}: is it a pacnet {self.name}?"
                )
            case TimeoutError():
                return SwitchError(f"{where} did not answer within {ADMIN_TIMEOUT:g} s")
            case OSError():
                return SwitchError(f"cannot reach {where}: {exc.strerror or exc}")
        return SwitchError(f"{where} does not speak pacnet's admin protocol: {exc}")


class AdminSwitchboard:
    """Sends each fault to the ``/admin`` of its domain: network -> proxy, server -> server.

    Implements ``pacnet.faults.scenario.Switchboard`` for the scenario player.
    """

    def __init__(self, server: Target, proxy: Target, cluster: Path | None = None) -> None:
        self.server = server
        self.proxy = proxy
        self.cluster = cluster
        """The folder of the cluster (``pacnet cluster up --dir``) whose balancer a scenario's
        ``lobby_check`` switches; None: there is none."""

    def target_for(self, fault: Fault) -> Target:
        """Where ``fault`` is injected.

        Raises:
            Usage: a client fault, which no remote component injects.
        """
        match fault.domain:
            case Domain.NETWORK:
                return self.proxy
            case Domain.SERVER:
                return self.server
        raise Usage(client_fault_hint(fault.kind))

    def targets_for(self, scenario: Scenario) -> list[Target]:
        """The targets ``scenario`` cannot run without (see ``components``)."""
        by_name = {"server": self.server, "proxy": self.proxy}
        return [by_name[name] for name in components(scenario) if name in by_name]

    async def add(self, fault: Fault) -> Fault:
        target = self.target_for(fault)
        reply = await target.send(lambda admin: admin.add(fault))
        if not reply.ok:
            raise SwitchError(f"the {target.name} refused the fault: {reply.error}")
        mine = [s.fault for s in reply.faults if fault.id is None or s.fault.id == fault.id]
        return mine[-1]  # the injector lists its faults in the order they were added

    async def remove(self, fault: Fault) -> bool:
        assert fault.id is not None, "a fault that is on has an id"
        reply = await self.target_for(fault).send(lambda admin: admin.remove(str(fault.id)))
        return reply.ok

    async def mark(self, label: str, next_step_in: float | None = None) -> None:
        """A new exercise: the server counts it, and its ``/faults`` feed (the proxy's too,
        which shows the server's) tells every window to reset its counts, and the projector
        how long until ``next_step_in`` (seconds) brings the next one, if it will."""
        reply = await self.server.send(lambda admin: admin.mark(label, next_step_in))
        if not reply.ok:
            raise SwitchError(f"the server refused the mark: {reply.error}")

    async def lobby_check(self, check: LobbyCheck | None = None) -> LobbyCheck:
        """Switch what the cluster's HAProxy checks before it sends a server lobby requests
        to ``check`` (its runtime API, ``pacnet cluster lobby-check``); returns what it
        checked before. None: only say what it checks."""
        if self.cluster is None:
            raise SwitchError("this scenario switches a group's balancer: no cluster is given")
        from pacnet.cluster.stack import ClusterError, Stack

        def switch(directory: Path) -> LobbyCheck:
            stack = Stack.load(directory)
            before = stack.lobby_check()
            if check is not None:
                stack.set_lobby_check(check)
            return "live" if before == "live" else "store"

        try:
            return await asyncio.to_thread(switch, self.cluster)
        except ClusterError as exc:
            raise SwitchError(f"{exc}: this scenario needs a group of servers") from None
        except OSError as exc:
            raise SwitchError(f"HAProxy's runtime API did not answer: {exc}") from None

    async def clear(self) -> int:
        """Clear the server and, if it is running, the proxy (both, even if one fails)."""
        server, proxy = await asyncio.gather(clear(self.server), clear(self.proxy))
        if found := problems(server, proxy):
            raise found[0]
        return sum(result for result in (server, proxy) if isinstance(result, int))


async def clear(target: Target) -> int | SwitchError:
    """Switch every fault off on ``target``; how many were on, or why it could not."""
    try:
        before = await target.send(lambda admin: admin.list())
        await target.send(lambda admin: admin.clear())
    except SwitchError as exc:
        return exc
    return len(before.faults)


async def listing(target: Target) -> AdminReply | SwitchError:
    """The faults on at ``target``, or why it could not say."""
    try:
        return await target.send(lambda admin: admin.list())
    except SwitchError as exc:
        return exc


def problems(server: object, proxy: object) -> list[SwitchError]:
    """What went wrong addressing both, if it matters: the server must answer; a proxy
    that is not running is normal (not every workshop uses one)."""
    return [
        result
        for result in (server, proxy)
        if isinstance(result, SwitchError)
        and not (result is proxy and isinstance(result, NotRunning))
    ]


def components(scenario: Scenario) -> list[str]:
    """The components a scenario cannot run without: the server for its faults and for any
    clear; the proxy for its network faults; a cluster (its HAProxy) for a lobby check."""
    needed = []
    if Domain.SERVER in scenario.domains or any(step.clear for step in scenario.steps):
        needed.append("server")
    if Domain.NETWORK in scenario.domains:
        needed.append("proxy")
    if any(step.lobby_check is not None for step in scenario.steps):
        needed.append("cluster")
    return needed
