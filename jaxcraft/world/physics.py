"""Box-vs-voxel physics: gravity, jumping and axis-separated collision (agent and mobs).

A body is an axis-aligned box centred on its feet: [x±hw] × [y, y+height] × [z±hw].
Moves are resolved one axis at a time (y, then x, then z); a move that would overlap a
solid voxel snaps the box against that voxel's face. Requires |move| < 1 block per axis
per tick (velocities are clipped) and hw <= 0.5, height <= 2, so a box overlaps at most
2×3×2 voxels and only the leading voxel layer can be newly hit.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxcraft.world.params import WorldStatic
from jaxcraft.world.voxels import solid_at

SKIN = 1e-3      # gap kept between a body and the face it rests against
OVERLAP = 1e-4   # boxes closer than this to a face do not count as overlapping it
MAX_MOVE = 0.95  # blocks per tick per axis
AGENT_HALF_WIDTH = 0.3
AGENT_HEIGHT = 1.8
EYE_HEIGHT = 1.62


def box_cells(pos: jax.Array, hw: jax.Array, height: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Integer cells [12, 3] a body box may overlap and a bool[12] of those it does."""
    lo = pos - jnp.stack([hw, 0.0 * hw, hw])
    hi = pos + jnp.stack([hw, height, hw])
    first = jnp.floor(lo + OVERLAP).astype(jnp.int32)
    last = jnp.floor(hi - OVERLAP).astype(jnp.int32)
    ox, oy, oz = jnp.meshgrid(jnp.arange(2), jnp.arange(3), jnp.arange(2), indexing="ij")
    off = jnp.stack([ox.ravel(), oy.ravel(), oz.ravel()], -1)
    cells = first + off
    return cells, jnp.all(cells <= last, -1)


def overlaps_solid(static: WorldStatic, blocks: jax.Array, pos, hw, height) -> jax.Array:
    """bool: the body box overlaps a solid voxel."""
    cells, valid = box_cells(pos, hw, height)
    return jnp.any(solid_at(static, blocks, cells) & valid)


def _move_axis(static, blocks, pos, vel, axis: int, hw, height):
    delta = jnp.clip(vel[axis], -MAX_MOVE, MAX_MOVE)
    new = pos.at[axis].add(delta)
    hit = overlaps_solid(static, blocks, new, hw, height)
    ext_lo = hw if axis != 1 else 0.0 * hw
    ext_hi = hw if axis != 1 else height
    lead_hi = new[axis] + ext_hi
    lead_lo = new[axis] - ext_lo
    snapped = jnp.where(delta > 0,
                        jnp.floor(lead_hi - OVERLAP) - ext_hi - SKIN,
                        jnp.floor(lead_lo + OVERLAP) + 1.0 + ext_lo + SKIN)
    new = new.at[axis].set(jnp.where(hit, snapped, new[axis]))
    vel = vel.at[axis].set(jnp.where(hit, 0.0, vel[axis]))
    return new, vel, hit


def move_body(static: WorldStatic, blocks: jax.Array, pos: jax.Array, vel: jax.Array,
              hw, height, gravity, drag):
    """One tick: move by `vel` with collisions, then apply gravity and drag to vel[1].

    Returns (pos, vel, on_ground, hit_wall): on_ground when a downward move was stopped,
    hit_wall when a horizontal move was.
    """
    hw = jnp.asarray(hw, jnp.float32)
    height = jnp.asarray(height, jnp.float32)
    falling = vel[1] < 0
    pos, vel, hit_y = _move_axis(static, blocks, pos, vel, 1, hw, height)
    pos, vel, hit_x = _move_axis(static, blocks, pos, vel, 0, hw, height)
    pos, vel, hit_z = _move_axis(static, blocks, pos, vel, 2, hw, height)
    # Stay inside the world's horizontal extent (its edge is an invisible wall).
    lo = hw + SKIN
    pos = pos.at[0].set(jnp.clip(pos[0], lo, static.size_x - lo))
    pos = pos.at[2].set(jnp.clip(pos[2], lo, static.size_z - lo))
    vel = vel.at[1].set((vel[1] - gravity) * drag)
    return pos, vel, hit_y & falling, hit_x | hit_z


def horizontal_heading(yaw: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(forward, right) horizontal unit vectors [3] for a yaw (camera.basis convention)."""
    cy, sy = jnp.cos(yaw), jnp.sin(yaw)
    zero = jnp.zeros_like(cy)
    return jnp.stack([-sy, zero, cy]), jnp.stack([-cy, zero, -sy])
