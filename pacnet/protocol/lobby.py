"""What ``GET /lobby`` answers: the rooms there are (``pacnet.protocol.rooms`` says where
each answers), as wire models, with their JSON Schema in ``docs/schema/LobbyView.json``."""

from typing import Annotated

from pydantic import Field, StringConstraints

from pacnet.protocol.models import WireModel
from pacnet.protocol.rooms import ROOM_NAME

RoomName = Annotated[str, StringConstraints(pattern=f"^{ROOM_NAME.pattern}$")]
"""A room's name, as a field of a wire model checks it."""


class LobbyRoom(WireModel):
    """One room a server holds."""

    name: RoomName = Field(description="The room's name: play in it at /rooms/NAME.")
    players: int = Field(ge=0, description="Users on its board (connected or not).")
    connected: int = Field(ge=0, description="Of them, acting through an open connection.")
    capacity: int = Field(ge=1, description="Users its board holds (--max-users).")
    clock: int = Field(ge=0, description="Its board's clock, in ticks.")
    level: int = Field(ge=1, description="The level its board is on.")
    server: str = Field(description="The server that holds it.")


class LobbyView(WireModel):
    """What ``GET /lobby`` answers: the rooms there are, so a client can find one with
    space (or open a new one, up to ``maxRooms``)."""

    server: str = Field(description="The server that answered.")
    max_rooms: int = Field(ge=1, description="Rooms the answering server holds at most.")
    rooms: list[LobbyRoom] = Field(description="Every room open, by name.")
