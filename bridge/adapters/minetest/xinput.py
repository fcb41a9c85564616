"""Keyboard and mouse into one X display through XTest (python-xlib); no window manager.

Minetest turns the camera by the pointer's offset from the window centre each frame and then
warps the pointer back, so a camera move of (dx, dy) pixels is one absolute pointer motion
to centre + (dx, dy). Keys and buttons are held between steps: only changes are sent.
"""
from __future__ import annotations

import time

# jaxcraft button -> X key (Minetest's default key map); attack/use are mouse buttons 1/3.
KEYS = {"forward": "w", "back": "s", "left": "a", "right": "d", "jump": "space", "sneak": "Shift_L",
        "sprint": "e"}
MOUSE_BUTTONS = {"attack": 1, "use": 3}


class XInput:
    def __init__(self, display: str, width: int, height: int, timeout_s: float = 30.0):
        from Xlib import XK, X, display as xdisplay
        from Xlib.ext import xtest
        self._X, self._xtest = X, xtest
        self.d = xdisplay.Display(display)
        self.centre = (width // 2, height // 2)
        self.max_offset = min(width, height) // 2 - 1
        self.keycodes = {b: self.d.keysym_to_keycode(XK.string_to_keysym(k)) for b, k in KEYS.items()}
        self.window = self._wait_window(timeout_s)
        self.held: dict[str, bool] = {}

    def _wait_window(self, timeout_s: float):
        deadline = time.monotonic() + timeout_s
        root = self.d.screen().root
        while time.monotonic() < deadline:
            kids = [w for w in root.query_tree().children if w.get_attributes().map_state == self._X.IsViewable]
            if kids:
                return kids[-1]
            time.sleep(0.1)
        raise TimeoutError("the Minetest window did not appear")

    def focus(self) -> None:
        self.d.set_input_focus(self.window, self._X.RevertToParent, self._X.CurrentTime)
        self.d.sync()

    def set_buttons(self, pressed: dict[str, bool]) -> None:
        """Press/release so that exactly the buttons in `pressed` that are True are held."""
        X = self._X
        for name, down in pressed.items():
            if self.held.get(name, False) == down:
                continue
            if name in self.keycodes:
                self._xtest.fake_input(self.d, X.KeyPress if down else X.KeyRelease, self.keycodes[name])
            elif name in MOUSE_BUTTONS:
                self._xtest.fake_input(self.d, X.ButtonPress if down else X.ButtonRelease, MOUSE_BUTTONS[name])
            self.held[name] = down
        self.d.flush()

    def tap(self, keysym: str) -> None:
        """Press and release one key (e.g. F2, Minetest's chat toggle)."""
        from Xlib import XK
        code = self.d.keysym_to_keycode(XK.string_to_keysym(keysym))
        self._xtest.fake_input(self.d, self._X.KeyPress, code)
        self._xtest.fake_input(self.d, self._X.KeyRelease, code)
        self.d.flush()

    def release_all(self) -> None:
        self.set_buttons({k: False for k in self.held})

    def move_pointer(self, dx: int, dy: int) -> None:
        """Pointer to centre + (dx, dy) (clipped to the window)."""
        m = self.max_offset
        dx, dy = max(-m, min(m, int(dx))), max(-m, min(m, int(dy)))
        self._xtest.fake_input(self.d, self._X.MotionNotify, x=self.centre[0] + dx, y=self.centre[1] + dy)
        self.d.flush()

    def close(self) -> None:
        try:
            self.d.close()
        except Exception:
            pass
