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


_WORD = 32   # voxels of one z-row packed per uint32 word (bit b of word w is z = 32·w + b)


def _pack_z(mask: jax.Array) -> jax.Array:
    """bool[X, Y, Z] -> uint32[X, Y, ceil(Z / 32)], z packed into bits; the padding bits are 0."""
    X, Y, Z = mask.shape
    nw = -(-Z // _WORD)
    m = jnp.pad(mask, ((0, 0), (0, 0), (0, nw * _WORD - Z))).reshape(X, Y, nw, _WORD).astype(jnp.uint32)
    return jnp.sum(m << jnp.arange(_WORD, dtype=jnp.uint32), axis=-1, dtype=jnp.uint32)


def _unpack_z(words: jax.Array, z: int) -> jax.Array:
    """uint32[X, Y, W] -> uint8[X, Y, z] of the bits (inverse of `_pack_z`)."""
    X, Y, nw = words.shape
    bits = (words[..., None] >> jnp.arange(_WORD, dtype=jnp.uint32)) & 1
    return bits.reshape(X, Y, nw * _WORD)[..., :z].astype(jnp.uint8)


def _dilate_packed(m: jax.Array, axes: tuple[int, ...]) -> jax.Array:
    """Chebyshev dilation by one voxel along `axes` of a z-packed mask (outside the grid is empty;
    zero padding bits may become set, which is harmless: no solid lies there, and a straight path
    between two grid voxels never leaves their bounding box, so they cannot shorten a distance)."""
    for ax in axes:
        if ax == 2:
            zero = jnp.zeros_like(m[:, :, :1])
            below = jnp.concatenate([zero, m[:, :, :-1]], 2)   # the word holding z - 32 … z - 1
            above = jnp.concatenate([m[:, :, 1:], zero], 2)
            m = m | (m << 1) | (below >> (_WORD - 1)) | (m >> 1) | (above << (_WORD - 1))
        else:
            n = m.shape[ax]
            p = jnp.pad(m, [(1, 1) if i == ax else (0, 0) for i in range(3)])
            sl = lambda a, b: tuple(slice(a, b) if i == ax else slice(None) for i in range(3))   # noqa: E731
            m = p[sl(0, n)] | p[sl(1, n + 1)] | p[sl(2, n + 2)]
    return m


def _distance(solid: jax.Array, axes: tuple[int, ...]) -> jax.Array:
    """uint8 capped Chebyshev distance (over `axes`) to the nearest solid voxel; 0 on solids.

    Grow the solid set by one voxel SKIP_CAP - 1 times; a voxel's distance is the first growth
    step k that covers it (SKIP_CAP if none). The sets are nested, so that k is SKIP_CAP minus the
    number of steps covering the voxel: the steps only count, in a 4-bit counter held in bit planes.
    Why packed bits: 32 voxels per word make each growth step and count a few word operations on
    1/32 of the grid; the same loop on one bool per voxel was most of a world generation (and so of
    a task reset, which `BatchedEnv` pays for a pool refresh)."""
    z = solid.shape[2]
    cov = _pack_z(solid)
    zero = jnp.zeros_like(cov)

    def body(_, carry):
        cov, planes = carry
        cov = _dilate_packed(cov, axes)
        out, add = [], cov
        for plane in planes:                     # ripple-carry add of one bit per voxel
            out.append(plane ^ add)
            add = plane & add
        return cov, tuple(out)

    _, planes = jax.lax.fori_loop(1, SKIP_CAP, body, (cov, (zero,) * 4))
    count = sum(_unpack_z(p, z) << i for i, p in enumerate(planes))
    return jnp.where(solid, 0, SKIP_CAP - count).astype(jnp.uint8)


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
