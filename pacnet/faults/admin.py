"""Live control of an injector's faults, on the same port as the game.

    path       who                  what
    --------   ------------------   ----------------------------------------------------
    /admin     the facilitator      a WebSocket of commands (list, add, remove, clear);
               (admin token)        the handshake is refused with HTTP 401 without
                                    ``Authorization: Bearer <token>``
    /faults    anyone (the window)  a WebSocket that sends the active faults on connect
                                    and again whenever they change; read only

Every other path is the game's (or, on the proxy, relayed). One port per component keeps a
workshop's addresses simple; the token keeps players out of the controls
(docs/failure-modes.md says why, and how the proxy adds the server's faults to its feed).

Commands and replies are JSON objects, one per text frame::

    {"op": "add", "fault": {"kind": "drop", "direction": "reply", "probability": 0.2}}
    {"ok": true, "domain": "network", "seed": 7, "faults": [<FaultStatus>, ...]}
    {"ok": false, "error": "a drop fault needs a direction (request or reply)"}
"""

import asyncio
import hmac
import json
import math
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import structlog
from pydantic import Field, TypeAdapter, ValidationError
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from pacnet.cmdline.defaults import new_token
from pacnet.faults.engine import FaultSet
from pacnet.faults.feed import FEED_PATH, Exercise, FaultFeed
from pacnet.faults.spec import Fault, FaultStatus
from pacnet.feeds.addresses import endpoint_url, peer
from pacnet.feeds.serve import serve_feed
from pacnet.protocol.models import Identifier, WireModel

ADMIN_PATH = "/admin"

log = structlog.get_logger("pacnet.faults")


class ListCommand(WireModel):
    op: Literal["list"]


class AddCommand(WireModel):
    op: Literal["add"]
    fault: Fault


class RemoveCommand(WireModel):
    op: Literal["remove"]
    id: Identifier


class ClearCommand(WireModel):
    op: Literal["clear"]


class MarkCommand(WireModel):
    """A new exercise begins (a scenario's step): windows reset their counts."""

    op: Literal["mark"]
    label: str = Field(default="", max_length=200)
    next_step_in_s: float | None = Field(
        default=None, ge=0, allow_inf_nan=False,
        description="Seconds until the scenario's next step, if one is due.",
    )  # fmt: skip


Command = Annotated[
    ListCommand | AddCommand | RemoveCommand | ClearCommand | MarkCommand,
    Field(discriminator="op"),
]
_COMMAND: TypeAdapter[Command] = TypeAdapter(Command)


class AdminReply(WireModel):
    """The answer to every command: the faults on after it, or why it was refused."""

    ok: bool
    domain: str
    seed: int
    faults: list[FaultStatus] = Field(default_factory=list)
    error: str | None = None
    exercise: Exercise = Field(default_factory=Exercise)


class AdminEndpoint:
    """Serves ``/admin`` and ``/faults`` for one fault set.

    Args:
        faults: the injector's faults.
        token: the admin token; None generates one (read it from ``token``).
        extra_faults: more faults to show on the feed (the proxy adds the server's).
        upstream_exercise: the exercise to show instead of this endpoint's own (the proxy
            shows its server's: the room has one exercise at a time, the server's).
        clock: monotonic seconds (the fault set's ``now``).
    """

    def __init__(
        self,
        faults: FaultSet,
        token: str | None = None,
        *,
        extra_faults: Callable[[], list[FaultStatus]] | None = None,
        upstream_exercise: Callable[[], Exercise | None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.faults = faults
        self.generated_token = token is None
        self.token = token if token is not None else new_token()
        self.exercise = Exercise()
        """The exercise this endpoint counts: up at every clear and mark."""
        self._next_step_at: float | None = None
        """When the scenario's next step is due (on ``clock``), if a mark said."""
        self._extra = extra_faults
        self._upstream_exercise = upstream_exercise
        self._clock = clock

    @staticmethod
    def owns(path: str) -> bool:
        """Whether a request for ``path`` is for this endpoint, not the game."""
        return urlsplit(path).path in (ADMIN_PATH, FEED_PATH)

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """websockets' ``process_request``: refuse ``/admin`` without the right token."""
        if urlsplit(request.path).path != ADMIN_PATH:
            return None
        given = request.headers.get("Authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), self.token.encode()
        ):
            log.warning(
                "admin_refused", domain=self.faults.domain.value, peer=peer(connection),
                hadToken=bool(token),
            )  # fmt: skip
            return connection.respond(
                HTTPStatus.UNAUTHORIZED, "the admin endpoint needs: Authorization: Bearer TOKEN\n"
            )
        return None

    async def serve(self, websocket: ServerConnection) -> None:
        """Serve one connection to ``/admin`` or ``/faults``."""
        if urlsplit(websocket.request.path if websocket.request else "").path == ADMIN_PATH:
            await self._serve_admin(websocket)
        else:
            await self._serve_feed(websocket)

    def statuses(self) -> list[FaultStatus]:
        """This set's faults, then the extra ones."""
        own = self.faults.status(self._clock())
        return own + (self._extra() if self._extra is not None else [])

    def execute(self, raw: str | bytes) -> AdminReply:
        """Run one command; never raises for a bad one (the reply says what was wrong)."""
        faults, now = self.faults, self._clock()
        try:
            command = _COMMAND.validate_json(raw)
            match command:
                case AddCommand(fault=fault):
                    fault = faults.add(fault, now)
                    log.info(
                        "fault_added",
                        domain=faults.domain.value,
                        id=fault.id,
                        fault=fault.describe(),
                    )
                case RemoveCommand(id=fault_id):
                    if not faults.remove(fault_id):
                        raise ValueError(f"no fault with id {fault_id!r}")
                    log.info("fault_removed", id=fault_id)
                case ClearCommand():
                    log.info("faults_cleared", domain=faults.domain.value, count=faults.clear())
                    self._next_exercise("faults cleared")
                case MarkCommand(label=label, next_step_in_s=next_step_in):
                    self._next_exercise(label, next_step_in)
                case ListCommand():
                    pass
        except ValidationError as exc:
            return self._reply(error=_explain(exc))
        except ValueError as exc:
            return self._reply(error=str(exc))
        return self._reply()

    def _next_exercise(self, label: str, next_step_in: float | None = None) -> None:
        self.exercise = Exercise(number=self.exercise.number + 1, label=label)
        self._next_step_at = None if next_step_in is None else self._clock() + next_step_in
        log.info("exercise_began", number=self.exercise.number, label=label)

    def shown_exercise(self) -> Exercise:
        """The exercise the feed shows: the upstream's, when there is one and it is known,
        with the whole seconds left until the scenario's next step (so the feed changes once a
        second while a countdown runs, not at every look)."""
        upstream = self._upstream_exercise() if self._upstream_exercise is not None else None
        if upstream is not None:
            return upstream
        if self._next_step_at is None:
            return self.exercise
        left = math.ceil(max(0.0, self._next_step_at - self._clock()))
        return self.exercise.model_copy(update={"next_step_in_s": left})

    def _reply(self, error: str | None = None) -> AdminReply:
        return AdminReply(
            ok=error is None,
            domain=self.faults.domain.value,
            seed=self.faults.seed,
            faults=self.faults.status(self._clock()),
            error=error,
            exercise=self.exercise,
        )

    async def _serve_admin(self, websocket: ServerConnection) -> None:
        try:
            async for raw in websocket:
                await websocket.send(self.execute(raw).model_dump_json(), text=True)
        except ConnectionClosed:
            pass

    async def _serve_feed(self, websocket: ServerConnection) -> None:
        await serve_feed(
            websocket,
            lambda: FaultFeed(
                faults=self.statuses(), exercise=self.shown_exercise()
            ).model_dump_json(),
        )


class AdminClient:
    """Sends admin commands to a server or proxy (what ``pacnet chaos`` uses).

    Raises (from ``__aenter__`` and ``send``):
        OSError, websockets' InvalidStatus (401: wrong token), ConnectionClosed.
    """

    def __init__(self, url: str, token: str, *, timeout: float = 5.0) -> None:
        self.url = endpoint_url(url, ADMIN_PATH)
        self._token = token
        self._timeout = timeout
        self._connect: Any = None
        self._ws: Any = None

    async def __aenter__(self) -> "AdminClient":
        self._connect = connect(
            self.url,
            additional_headers=Headers(Authorization=f"Bearer {self._token}"),
            open_timeout=self._timeout,
            proxy=None,  # pacnet talks to its own components, never through an HTTP proxy
        )
        self._ws = await self._connect.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._connect.__aexit__(*exc)

    async def send(self, command: dict[str, Any]) -> AdminReply:
        async with asyncio.timeout(self._timeout):
            await self._ws.send(json.dumps(command))
            return AdminReply.model_validate_json(await self._ws.recv())

    async def list(self) -> AdminReply:
        return await self.send({"op": "list"})

    async def add(self, fault: dict[str, Any] | Fault) -> AdminReply:
        if isinstance(fault, Fault):
            fault = fault.model_dump(mode="json", exclude_none=True)
        return await self.send({"op": "add", "fault": fault})

    async def remove(self, fault_id: str) -> AdminReply:
        return await self.send({"op": "remove", "id": fault_id})

    async def clear(self) -> AdminReply:
        return await self.send({"op": "clear"})

    async def mark(self, label: str, next_step_in: float | None = None) -> AdminReply:
        command: dict[str, Any] = {"op": "mark", "label": label}
        if next_step_in is not None:
            command["nextStepInS"] = next_step_in
        return await self.send(command)


def _explain(exc: ValidationError) -> str:
    """The first problem, e.g. ``fault.probability: Input should be less than or equal to 1``."""
    first = exc.errors()[0]
    location = list(first["loc"])
    if location and location[0] in ("list", "add", "remove", "clear"):
        location = location[1:]  # the union's tag: the op the command named
    where = ".".join(str(part) for part in location)
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message
