"""What ``GET /lobby`` answers: the rooms there are (``pacnet.protocol.rooms`` says where
each answers), as wire models, with their JSON Schema in ``docs/schema/LobbyView.json``."""

from collections.abc import Iterable
from typing import Annotated

from pydantic import Field, StringConstraints

from pacnet.protocol.models import WireModel
from pacnet.protocol.rooms import ROOM_NAME

RoomName = Annotated[str, StringConstraints(pattern=f"^{ROOM_NAME.pattern}$")]
"""A room's name, as a field of a wire model checks it."""


LEADERS = 3
"""Players the lobby names for each room: its best scores."""


class Leader(WireModel):
    """One of a room's best players."""

    name: str = Field(description="Their pac-man's name.")
    score: int = Field(ge=0, description="Their score.")


def leaders_of(players: Iterable[tuple[str, int]]) -> list[Leader]:
    """The ``LEADERS`` best of ``players`` (pac-man name, score): highest score first, then
    by name."""
    best = sorted(players, key=lambda player: (-player[1], player[0]))[:LEADERS]
    return [Leader(name=name, score=score) for name, score in best]


class LobbyRoom(WireModel):
    """One room a server holds."""

    name: RoomName = Field(description="The room's name: play in it at /rooms/NAME.")
    players: int = Field(ge=0, description="Users on its board (connected or not).")
    connected: int = Field(ge=0, description="Of them, acting through an open connection.")
    capacity: int = Field(ge=1, description="Users its board holds (--max-users).")
    clock: int = Field(ge=0, description="Its board's clock, in ticks.")
    level: int = Field(ge=1, description="The level its board is on.")
    server: str = Field(description="The server that holds it.")
    leaders: list[Leader] = Field(
        default_factory=list, max_length=LEADERS,
        description="Its best players, highest score first, as its last saved game has them "
        "in a group (a server alone reads its own board).",
    )  # fmt: skip


class LobbyView(WireModel):
    """What ``GET /lobby`` answers: the rooms there are, so a client can find one with
    space (or open a new one, up to ``maxRooms``)."""

    server: str = Field(description="The server that answered.")
    max_rooms: int = Field(ge=1, description="Rooms the answering server holds at most.")
    rooms: list[LobbyRoom] = Field(description="Every room open, by name.")
