"""A gamepad for tests: SDL's own virtual joystick, attached through the SDL library that
pygame-ce loaded. No device is plugged into this machine; SDL then treats the virtual pad as
any other, so the window's real event and polling path (JOYDEVICEADDED, get_hat, get_axis)
is what the tests exercise. pygame-ce does not wrap this SDL call, hence ctypes."""

import ctypes
import glob
import os
from typing import Literal

import pygame

SDL_JOYSTICK_TYPE_GAMECONTROLLER = 1
HAT = {"centred": 0x00, "up": 0x01, "right": 0x02, "down": 0x04, "left": 0x08}
AXIS_MAX = 32767


def _sdl() -> ctypes.CDLL:
    here = os.path.dirname(pygame.__file__)
    found = glob.glob(os.path.join(here, "..", "pygame_ce.libs", "libSDL2-2*"))
    sdl = ctypes.CDLL(found[0] if found else "libSDL2-2.0.so.0")
    sdl.SDL_JoystickAttachVirtual.argtypes = [ctypes.c_int] * 4
    sdl.SDL_JoystickFromInstanceID.restype = ctypes.c_void_p
    sdl.SDL_JoystickFromInstanceID.argtypes = [ctypes.c_int32]
    sdl.SDL_JoystickSetVirtualHat.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint8]
    sdl.SDL_JoystickSetVirtualAxis.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int16]
    sdl.SDL_JoystickDetachVirtual.argtypes = [ctypes.c_int]
    return sdl


class VirtualGamepad:
    """Two axes (the left stick), one hat (the d-pad), four buttons."""

    def __init__(self) -> None:
        pygame.joystick.init()  # as the window does; a second init is a no-op
        self._sdl = _sdl()
        self.index = self._sdl.SDL_JoystickAttachVirtual(SDL_JOYSTICK_TYPE_GAMECONTROLLER, 2, 4, 1)
        if self.index < 0:
            raise RuntimeError("SDL refused to attach a virtual joystick")
        # SDL feeds a virtual pad only while it is open; pygame's own handle keeps it open.
        self._pad = pygame.joystick.Joystick(self.index)
        self._raw = self._sdl.SDL_JoystickFromInstanceID(self._pad.get_instance_id())

    def hat(self, direction: Literal["centred", "up", "right", "down", "left"]) -> None:
        self._sdl.SDL_JoystickSetVirtualHat(self._raw, 0, HAT[direction])

    def stick(self, x: float, y: float) -> None:
        """Lean the stick: -1.0 (left, up) to 1.0 (right, down)."""
        self._sdl.SDL_JoystickSetVirtualAxis(self._raw, 0, round(x * AXIS_MAX))
        self._sdl.SDL_JoystickSetVirtualAxis(self._raw, 1, round(y * AXIS_MAX))
