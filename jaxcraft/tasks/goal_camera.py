"""Goal cameras: a free camera that sees the target unoccluded (its image and exact mask are rendered
by synthesis).

Candidates sit 2.5–5 blocks from the target centre, 0.5–3 blocks above it, looking at it
with a small random yaw/pitch jitter. Each candidate casts one ray at the target centre; the
first whose ray hits the target's object id (and whose eye is in open air) wins. If none
does (dense forest, a cliff), the voxels on the winning candidate's line of sight are
carved to air, so every task has an unoccluded goal view; `camera_clear` records which.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from jaxcraft.world import blocks as B
from jaxcraft.world import rng
from jaxcraft.world.camera import Camera
from jaxcraft.world.params import WorldStatic
from jaxcraft.world.render import Frame, cast, render
from jaxcraft.world.state import WorldState
from jaxcraft.world.voxels import solid_at

JITTER = math.radians(8.0)   # the target is near, not always at, the goal image centre
CARVE_POINTS = 48


def look_at(eye: jax.Array, point: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(yaw, pitch) of a camera at `eye` looking at `point` (camera.basis convention)."""
    d = point - eye
    yaw = jnp.arctan2(-d[0], d[2])
    pitch = jnp.arctan2(d[1], jnp.sqrt(d[0] ** 2 + d[2] ** 2))
    return yaw, pitch


def first_hit(static: WorldStatic, state: WorldState, eye: jax.Array, point: jax.Array) -> jax.Array:
    """Object id first hit by the ray from `eye` towards `point` (0: nothing)."""
    d = point - eye
    d = d / jnp.linalg.norm(d)
    _, oid, _ = cast(static, state, eye, tuple(d[a][None] for a in range(3)))
    return oid[0]


def candidates(seed: jax.Array, centre: jax.Array, n: int) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(eye [n, 3], yaw [n], pitch [n]) of candidate goal cameras around `centre`."""
    u = rng.uniform(seed, (n, 5))
    r = 2.5 + 2.5 * u[:, 0]
    phi = 2.0 * jnp.pi * u[:, 1]
    eye = centre + jnp.stack([r * jnp.sin(phi), 0.5 + 2.5 * u[:, 2], r * jnp.cos(phi)], -1)
    yaw, pitch = jax.vmap(look_at, in_axes=(0, None))(eye, centre)
    return eye, yaw + JITTER * (2 * u[:, 3] - 1), pitch + JITTER * (2 * u[:, 4] - 1)


def carve_line(state: WorldState, eye: jax.Array, point: jax.Array, keep_flat: jax.Array,
               do: jax.Array) -> WorldState:
    """Turn the voxels on the segment eye→point into air (except voxel `keep_flat`) when `do`.
    Only removes blocks, so the skip field stays a valid lower bound (as in `remove_block`)."""
    s = jnp.linspace(0.0, 1.0, CARVE_POINTS)[:, None]
    vox = jnp.floor(eye + s * (point - eye)).astype(jnp.int32)        # [P, 3]
    X, Y, Z = state.blocks.shape
    inb = jnp.all((vox >= 0) & (vox < jnp.asarray([X, Y, Z])), -1)
    flat = (vox[:, 0] * Y + vox[:, 1]) * Z + vox[:, 2]
    ok = do & inb & (flat != keep_flat)
    idx = jnp.where(ok, flat, state.blocks.size)
    blocks = state.blocks.reshape(-1).at[idx].set(jnp.uint8(B.AIR), mode="drop").reshape(state.blocks.shape)
    skip = state.skip.reshape(-1).at[idx].set(jnp.uint8(1 | (1 << 4)), mode="drop").reshape(state.skip.shape)
    return state.replace(blocks=blocks, skip=skip)


def goal_camera(static: WorldStatic, state: WorldState, seed: jax.Array, centre: jax.Array, target_id: jax.Array,
                target_flat: jax.Array, n: int) -> tuple[WorldState, Camera, jax.Array]:
    """Pick (or clear) a goal camera.

    Returns (state, camera, clear); `state` differs from the input only where a line of sight had
    to be carved. The caller renders the goal image from `camera` (synthesis renders it in one
    batched cast with the agent's first frame).
    """
    eye, yaw, pitch = candidates(seed, centre, n)
    in_air = ~jax.vmap(lambda e: solid_at(static, state.blocks, jnp.floor(e).astype(jnp.int32)))(eye)
    in_world = eye[:, 1] < static.size_y - 0.5
    sees = jax.vmap(lambda e: first_hit(static, state, e, centre))(eye) == target_id
    ok = in_air & in_world & sees
    best = jnp.argmax(ok)
    clear = ok[best]
    cam = Camera(eye[best], yaw[best], pitch[best])
    return carve_line(state, cam.pos, centre, target_flat, ~clear), cam, clear


def render_views(static: WorldStatic, state: WorldState, cameras: list[Camera]) -> list[Frame]:
    """Frames of `state` from several cameras, rendered by one batched call.

    One copy of the ray caster in the compiled program instead of one per camera: a task reset
    renders the goal view and the agent's first frame, and each copy of the caster costs about a
    third of the reset's compile time on CPU (measured). Each frame equals `render` of its camera.
    """
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *cameras)
    frames = jax.vmap(lambda cam: render(static, state, cam))(stacked)
    return [jax.tree.map(lambda x, i=i: x[i], frames) for i in range(len(cameras))]
