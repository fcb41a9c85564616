"""A privileged servo teacher for Minetest tasks, reading the mod's state (`info` field).

Like jaxcraft/tasks/servo.py, but its inputs are what the Lua mod reports each server step:
the eye position and look, the target node, whether the ray from the eye to the target is
free (`los`) and whether the crosshair's node within reach is the target (`pointed`).

    target seen (los and inside the FOV): turn the camera towards the target centre (nearest
        camera bin), walk forward jumping; when pointed at it, stand and attack (break) or
        press `use` on alternate steps (interact); approach succeeds by pointing.
    not seen: walk forward jumping while turning right by bin 9 (+5.8°/step), pitch to level.
"""
from __future__ import annotations

import math

import numpy as np

from bridge.adapters.minetest.scene import FAMILIES
from bridge.adapters.minetest_env import FOV_Y_DEG, INFO, camera_bin_degrees

SEARCH_YAW_BIN = 9


def _nearest_bin(deg: float) -> int:
    return int(np.argmin(np.abs(camera_bin_degrees() - deg)))


def teacher_action(info: np.ndarray, t: int = 0) -> np.ndarray:
    """int32[11] action for one env's `info` vector (see `minetest_env.INFO_FIELDS`)."""
    eye = info[[INFO["eye_x"], INFO["eye_y"], INFO["eye_z"]]]
    target = info[[INFO["target_x"], INFO["target_y"], INFO["target_z"]]]
    yaw, pitch = info[INFO["yaw"]], info[INFO["pitch"]]          # Minetest: + left, + down
    family = FAMILIES[int(info[INFO["family"]])]
    d = target - eye
    want_yaw = math.atan2(-d[0], d[2])
    want_pitch = -math.atan2(d[1], math.hypot(d[0], d[2]))
    e_yaw = (want_yaw - yaw + math.pi) % (2 * math.pi) - math.pi
    e_pitch = want_pitch - pitch
    half = math.radians(FOV_Y_DEG) / 2
    seen = bool(info[INFO["los"]]) and abs(e_yaw) < half and abs(e_pitch) < half
    pointed = bool(info[INFO["pointed"]])
    a = np.zeros(11, np.int32)
    if seen:   # jaxcraft: + yaw turns right (Minetest yaw decreases), + pitch looks up
        a[10], a[9] = _nearest_bin(-math.degrees(e_yaw)), _nearest_bin(-math.degrees(e_pitch))
    else:
        a[10], a[9] = SEARCH_YAW_BIN, _nearest_bin(math.degrees(pitch))
    walk = not pointed
    a[0] = a[4] = int(walk)                       # forward, jump
    a[7] = int(pointed and family == "break")     # attack
    a[8] = int(pointed and family == "interact" and t % 2 == 0)
    return a


def teacher_actions(info: np.ndarray, t: int = 0) -> np.ndarray:
    """int32[B, 11] for a batch of `info` rows."""
    return np.stack([teacher_action(row, t) for row in np.asarray(info)])
