"""The player's controls: arrows or WASD (or a gamepad) steer; H and I open the HUD's panels;
F7 and F8 switch the client's own faults; Enter plays again after a game over; C starts the
counts afresh; P pauses the request inspector and U unpins its failures; Esc quits."""

import pygame

from pacnet.client.remote import RemoteBoard
from pacnet.client.view import View
from pacnet.faults.spec import Fault, FaultKind
from pacnet.protocol.models import Direction
from pacnet.window.hud import Hud

KEYS: dict[int, Direction] = {
    pygame.K_UP: "up", pygame.K_w: "up", pygame.K_DOWN: "down", pygame.K_s: "down",
    pygame.K_LEFT: "left", pygame.K_a: "left", pygame.K_RIGHT: "right", pygame.K_d: "right",
}  # fmt: skip
STICK_DEAD_ZONE = 0.5
"""How far a stick must lean (of 1.0) to steer: a resting stick drifts a little."""


class Joystick:
    """The direction the player holds: the last key pressed, or a gamepad's hat or stick.

    Gamepads come and go while the window is open: SDL announces every pad, including those
    plugged in before the start, with a ``JOYDEVICEADDED`` event.
    """

    def __init__(self) -> None:
        self.direction: Direction | None = None
        self._pads: dict[int, pygame.joystick.JoystickType] = {}

    def handle(self, event: pygame.event.Event) -> None:
        if event.type == pygame.KEYDOWN and event.key in KEYS:
            self.direction = KEYS[event.key]
        elif event.type == pygame.JOYDEVICEADDED:
            pad = pygame.joystick.Joystick(event.device_index)
            self._pads[pad.get_instance_id()] = pad
        elif event.type == pygame.JOYDEVICEREMOVED:
            self._pads.pop(event.instance_id, None)

    def read(self) -> Direction | None:
        for pad in self._pads.values():
            if pad.get_numhats():
                hx, hy = pad.get_hat(0)
                if hx or hy:
                    return ("right" if hx > 0 else "left") if hx else ("up" if hy > 0 else "down")
            if pad.get_numaxes() >= 2:
                ax, ay = pad.get_axis(0), pad.get_axis(1)
                if max(abs(ax), abs(ay)) > STICK_DEAD_ZONE:
                    if abs(ax) > abs(ay):
                        return "right" if ax > 0 else "left"
                    return "down" if ay > 0 else "up"
        return self.direction


def closes(event: pygame.event.Event) -> bool:
    """The player closed the window, or pressed Esc."""
    return event.type == pygame.QUIT or (
        event.type == pygame.KEYDOWN and event.key == pygame.K_ESCAPE
    )


CLIENT_FAULT_KEYS: dict[int, FaultKind] = {
    pygame.K_F7: FaultKind.OFFLINE,  # step 1: the client's network is down
    pygame.K_F8: FaultKind.APPLY_FAILS,  # step 8: replies arrive and are not applied
}
"""Keys that switch the client's own faults on and off (the other domains' are switched with
``pacnet chaos``)."""


def press(key: int, board: RemoteBoard, hud: Hud, view: View, now: float) -> None:
    """Do what ``key`` does besides steering: open or close a panel, switch a client fault,
    ask to play again once the game is over, start the counts afresh (C), pause the inspector
    (P) or unpin its failures (U)."""
    if key in (pygame.K_h, pygame.K_TAB):
        hud.shown = not hud.shown
    if key == pygame.K_i:
        hud.inspecting = not hud.inspecting
    if key in CLIENT_FAULT_KEYS:
        toggle_client_fault(board, CLIENT_FAULT_KEYS[key], now)
    if key == pygame.K_RETURN and (view.game_over or view.missing(now)):
        view.rejoin = True
    if key == pygame.K_c:
        hud.reset_counts()
    if key == pygame.K_p:
        hud.pause()
    if key == pygame.K_u:
        hud.dismiss()


def toggle_client_fault(board: RemoteBoard, kind: FaultKind, now: float) -> bool:
    """Switch the client fault ``kind`` on if it is off, else off; True if now on."""
    key = f"key-{kind.value}"
    if board.faults.remove(key):
        return False
    board.faults.add(Fault(kind=kind, id=key), now)
    return True
