"""VPT/MineRL-like factored actions: 9 binary buttons + mu-law-binned camera pitch/yaw.

An action is int32[11]: forward, back, left, right, jump, sneak, sprint, attack, use
(0 = released, 1 = pressed), then camera_pitch and camera_yaw bins in [0, 11). Bins follow
VPT's camera quantiser (max 10°, bin size 2 in mu-law space, mu = 10): bin b decodes to
x = (2b − 10)/10, degrees = sign(x)·((1+mu)^|x| − 1)/mu·10, so the middle bin 5 is no move
and the all-zeros button vector is the no-op. Positive pitch looks up, positive yaw turns right.

Out-of-range values: an action given as a concrete array (eager `env.step`, outside `jit`)
is checked and a bad factor raises `ValueError` naming it. Inside `jit`/`vmap` values cannot
be inspected without a host round trip, so they are clipped (buttons to {0, 1}, bins to
[0, 10]); the trainer's action distribution (`ppo.multi_discrete(NVEC)`) only samples valid ones.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

# The layout and the camera-bin table are JAX-free data shared with the simulator adapters.
from bridge.crossview import BUTTONS, CAMERA_BINS, CAMERA_MAX_DEG, CAMERA_MU, NVEC, camera_bin_degrees  # noqa: F401

NAMES = BUTTONS + ("camera_pitch", "camera_yaw")
NUM_FACTORS = len(NVEC)
NOOP_CAMERA_BIN = CAMERA_BINS // 2


class Controls(NamedTuple):
    forward: jax.Array
    back: jax.Array
    left: jax.Array
    right: jax.Array
    jump: jax.Array
    sneak: jax.Array
    sprint: jax.Array
    attack: jax.Array
    use: jax.Array
    d_pitch: jax.Array  # radians
    d_yaw: jax.Array    # radians


def noop() -> jax.Array:
    """int32[11] action that does nothing."""
    return jnp.asarray((0,) * len(BUTTONS) + (NOOP_CAMERA_BIN, NOOP_CAMERA_BIN), jnp.int32)


def make_action(*, camera_pitch_bin: int = NOOP_CAMERA_BIN, camera_yaw_bin: int = NOOP_CAMERA_BIN, **buttons) -> jax.Array:
    """Build an action vector by button name, e.g. make_action(forward=1, jump=1)."""
    for name in buttons:
        if name not in BUTTONS:
            raise ValueError(f"unknown button {name!r}; buttons are {BUTTONS}")
    vals = [int(bool(buttons.get(b, 0))) for b in BUTTONS] + [camera_pitch_bin, camera_yaw_bin]
    return jnp.asarray(vals, jnp.int32)


def check_action(action) -> jax.Array:
    """Validate the shape/dtype of one action and, when it is concrete, its values; raise a clear error otherwise."""
    action = jnp.asarray(action)
    if action.shape != (NUM_FACTORS,):
        raise ValueError(
            f"jaxcraft world action must have shape ({NUM_FACTORS},) = {NAMES}, got shape {action.shape}"
            " (batch envs with jax.vmap or BatchedEnv, not by passing a batched action)")
    if not (jnp.issubdtype(action.dtype, jnp.integer) or jnp.issubdtype(action.dtype, jnp.bool_)):
        raise ValueError(f"jaxcraft world action must be integer-valued, got dtype {action.dtype}")
    if not isinstance(action, jax.core.Tracer):   # concrete (outside jit): check the values too
        values = np.asarray(action).astype(np.int64)
        bad = np.flatnonzero((values < 0) | (values >= np.asarray(NVEC)))
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"jaxcraft world action {NAMES[i]}={values[i]} is out of range [0, {NVEC[i]}) "
                             f"(action {values.tolist()}; factors {NAMES})")
    return action.astype(jnp.int32)


def decode(action: jax.Array) -> Controls:
    """int32[11] → Controls. Concrete out-of-range actions raise; traced ones are clipped (buttons
    to {0,1}, bins to [0,10]) — see the module docstring."""
    action = check_action(action)
    pressed = jnp.clip(action[: len(BUTTONS)], 0, 1).astype(bool)
    table = jnp.asarray(np.radians(camera_bin_degrees()), jnp.float32)
    bins = jnp.clip(action[len(BUTTONS):], 0, CAMERA_BINS - 1)
    return Controls(*[pressed[i] for i in range(len(BUTTONS))], table[bins[0]], table[bins[1]])


MAX_PITCH = math.radians(89.0)
