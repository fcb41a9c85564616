"""Object ids shared by the renderer, masks and events: one integer per block instance or mob.

0 is the sky, 1 + flat voxel index is a block, 1 + num_voxels + m is mob slot m. Ids are
int32, so a world can hold ~2e9 voxels.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxcraft.world.params import WorldStatic

SKY_ID = 0


def flat_index(static: WorldStatic, xyz: jax.Array) -> jax.Array:
    """int32 flat voxel index of integer coords xyz[..., 3] (no bounds check)."""
    xyz = jnp.asarray(xyz, jnp.int32)
    return (xyz[..., 0] * static.size_y + xyz[..., 1]) * static.size_z + xyz[..., 2]


def unflatten_index(static: WorldStatic, idx: jax.Array) -> jax.Array:
    """int32[..., 3] voxel coords of a flat index."""
    idx = jnp.asarray(idx, jnp.int32)
    z = idx % static.size_z
    y = (idx // static.size_z) % static.size_y
    x = idx // (static.size_z * static.size_y)
    return jnp.stack([x, y, z], -1)


def voxel_id(static: WorldStatic, xyz: jax.Array) -> jax.Array:
    """Object id of the block at integer coords xyz[..., 3]."""
    return flat_index(static, xyz) + 1


def mob_id(static: WorldStatic, m: jax.Array) -> jax.Array:
    """Object id of mob slot m."""
    return jnp.asarray(m, jnp.int32) + 1 + static.num_voxels


def is_voxel_id(static: WorldStatic, oid: jax.Array) -> jax.Array:
    return jnp.logical_and(oid >= 1, oid <= static.num_voxels)


def is_mob_id(static: WorldStatic, oid: jax.Array) -> jax.Array:
    return oid > static.num_voxels


def voxel_of_id(static: WorldStatic, oid: jax.Array) -> jax.Array:
    """Voxel coords of a block id (meaningless for non-block ids)."""
    return unflatten_index(static, oid - 1)


def mob_of_id(static: WorldStatic, oid: jax.Array) -> jax.Array:
    """Mob slot of a mob id (meaningless for non-mob ids)."""
    return oid - 1 - static.num_voxels
