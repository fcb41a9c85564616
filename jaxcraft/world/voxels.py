"""The voxel grid as a data structure: solidity queries, edits, and the empty-space
distance field ("skip") the ray marcher uses to jump over air.

skip[x, y, z] packs two distances in one uint8 (one gather per ray step):
  low nibble  d: 0 for a solid voxel, else every voxel within Chebyshev distance d-1 is air
              (the cube of half-width d-1 around the voxel is empty);
  high nibble r: 0 for solid, else the horizontal square of half-width r-1 *in this layer
              only* is empty — lets rays grazing flat ground jump far in one step.
Both are capped at 15. Removing a block keeps every stored distance a valid lower bound,
so breaking only writes d = r = 1 at the broken voxel; adding blocks needs `refresh_skip`.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxcraft.world import blocks as B
from jaxcraft.world.ids import flat_index
from jaxcraft.world.params import WorldStatic
from jaxcraft.world.state import WorldState

SKIP_CAP = 15
SOLID_TABLE = jnp.asarray(B.SOLID)


def _dilate(mask: jax.Array, axes: tuple[int, ...]) -> jax.Array:
    """Chebyshev dilation by one voxel along `axes` (outside the grid counts as empty)."""
    for ax in axes:
        n = mask.shape[ax]
        pad = [(0, 0)] * mask.ndim
        pad[ax] = (1, 1)
        p = jnp.pad(mask, pad)
        sl = lambda a, b: tuple(slice(a, b) if i == ax else slice(None) for i in range(mask.ndim))
        mask = p[sl(0, n)] | p[sl(1, n + 1)] | p[sl(2, n + 2)]
    return mask


def _distance(solid: jax.Array, axes: tuple[int, ...]) -> jax.Array:
    """Capped Chebyshev distance (over `axes`) to the nearest solid voxel; 0 on solids."""
    dist = jnp.where(solid, 0, SKIP_CAP).astype(jnp.uint8)

    def body(k, carry):
        cov, dist = carry
        cov = _dilate(cov, axes)
        return cov, jnp.where(cov & (dist > k), k, dist).astype(jnp.uint8)

    _, dist = jax.lax.fori_loop(1, SKIP_CAP, body, (solid, dist))
    return dist


def compute_skip(blocks: jax.Array) -> jax.Array:
    """uint8[X, Y, Z] packed skip field of a block grid (see module doc)."""
    solid = SOLID_TABLE[blocks]
    iso = _distance(solid, (0, 1, 2))
    flat = _distance(solid, (0, 2))
    return (iso | (flat << 4)).astype(jnp.uint8)


def refresh_skip(state: WorldState) -> WorldState:
    """Recompute the skip field after arbitrary edits of `state.blocks`."""
    return state.replace(skip=compute_skip(state.blocks))


def set_blocks(state: WorldState, xyz: jax.Array, kind: jax.Array, where: jax.Array | None = None) -> WorldState:
    """Place block kinds at integer coords xyz[n, 3] (where[n] selects which apply) and
    refresh the skip field. For building task scenes at reset time, not per step."""
    xyz = jnp.atleast_2d(jnp.asarray(xyz, jnp.int32))
    kind = jnp.broadcast_to(jnp.asarray(kind, jnp.uint8), xyz.shape[:1])
    size = jnp.asarray(state.blocks.shape)
    ok = jnp.all((xyz >= 0) & (xyz < size), -1)
    if where is not None:
        ok = ok & jnp.asarray(where, bool)
    # Out-of-range or deselected writes are sent past the end and dropped.
    flat = jnp.where(ok, (xyz[:, 0] * size[1] + xyz[:, 1]) * size[2] + xyz[:, 2], state.blocks.size)
    new = state.blocks.reshape(-1).at[flat].set(kind, mode="drop").reshape(state.blocks.shape)
    return refresh_skip(state.replace(blocks=new))


def remove_block(state: WorldState, flat: jax.Array, do: jax.Array) -> WorldState:
    """Turn voxel `flat` into air when `do`; O(1), keeps the skip field valid."""
    n = state.blocks.size
    idx = jnp.where(do, flat, n)
    blocks = state.blocks.reshape(-1).at[idx].set(jnp.uint8(B.AIR), mode="drop").reshape(state.blocks.shape)
    skip = state.skip.reshape(-1).at[idx].set(jnp.uint8(1 | (1 << 4)), mode="drop").reshape(state.skip.shape)
    return state.replace(blocks=blocks, skip=skip)


def block_at(static: WorldStatic, blocks: jax.Array, xyz: jax.Array) -> jax.Array:
    """Block id at integer coords xyz[..., 3]; below the world is bedrock, elsewhere outside is air."""
    xyz = jnp.asarray(xyz, jnp.int32)
    size = jnp.asarray(static.shape)
    inb = jnp.all((xyz >= 0) & (xyz < size), -1)
    below = xyz[..., 1] < 0
    v = blocks.reshape(-1)[flat_index(static, jnp.clip(xyz, 0, size - 1))]
    return jnp.where(inb, v, jnp.where(below, B.BLOCK_ID["bedrock"], B.AIR)).astype(jnp.int32)


def solid_at(static: WorldStatic, blocks: jax.Array, xyz: jax.Array) -> jax.Array:
    """bool: the voxel at integer coords xyz[..., 3] blocks movement."""
    return SOLID_TABLE[block_at(static, blocks, xyz)]
