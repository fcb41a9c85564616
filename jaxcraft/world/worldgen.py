"""World generation from a key: biomes, noise terrain, ores, trees, crops, interactables,
mobs and the agent's spawn. Branchless and jittable; called once per reset.

Steps: (1) Voronoi biomes over warped column coordinates, drawn from the enabled biomes;
(2) height = biome-blended base + amplitude × fractal value noise; (3) fill columns
(bedrock, stone with ores, subsurface, surface); (4) one tree per 3×3 cell of columns
with the biome's probability (trunk + leaf crown); (5) crops and interactables on free
surface columns; (6) spawn the agent near the centre and mobs on free columns.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxcraft.world import biomes as BI
from jaxcraft.world import blocks as B
from jaxcraft.world import mobs as mobs_lib
from jaxcraft.world import rng
from jaxcraft.world.physics import SKIN
from jaxcraft.world.params import WorldParams, WorldStatic
from jaxcraft.world.state import Agent, Mobs, WorldState
from jaxcraft.world.voxels import compute_skip

NUM_BIOME_CENTRES = 6
TREE_CELL = 3
INTERACTABLES = jnp.asarray([B.block_id("lever_off"), B.block_id("chest_closed"), B.block_id("lamp_off")])
ORES = ((B.block_id("coal_ore"), 0.015, 1.0), (B.block_id("iron_ore"), 0.008, 0.7),
        (B.block_id("gold_ore"), 0.004, 0.45), (B.block_id("diamond_ore"), 0.003, 0.3))  # kind, rate, max y/h


def _interp_matrix(n: int, cell: int) -> np.ndarray:
    """float32[n, n // cell + 2]: smoothstep interpolation weights from lattice to columns."""
    g = n // cell + 2
    x = np.arange(n, dtype=np.float64) / cell
    x0 = np.floor(x).astype(int)
    f = x - x0
    s = f * f * (3 - 2 * f)
    m = np.zeros((n, g), np.float32)
    m[np.arange(n), x0] = 1 - s
    m[np.arange(n), x0 + 1] = s
    return m


def value_noise(seed: jax.Array, nx: int, nz: int, cell: int) -> jax.Array:
    """float32[nx, nz] smooth noise in [-1, 1] from a random lattice every `cell` columns.

    Interpolation is two small matmuls with constant weights (cheap to compile and run).
    """
    wx, wz = _interp_matrix(nx, cell), _interp_matrix(nz, cell)
    lattice = rng.uniform(seed, (wx.shape[1], wz.shape[1]), -1.0, 1.0)
    return jnp.asarray(wx) @ lattice @ jnp.asarray(wz).T


def fractal_noise(seed, nx, nz, cells=(16, 8, 4)) -> jax.Array:
    keys = seed * jnp.uint32(len(cells)) + jnp.arange(len(cells), dtype=jnp.uint32)
    amps = [0.5 ** i for i in range(len(cells))]
    total = sum(a * value_noise(k, nx, nz, c) for k, a, c in zip(keys, amps, cells))
    return total / sum(amps)


def _shift2d(a: jax.Array, dx: int, dz: int, fill) -> jax.Array:
    """out[x, z] = a[x - dx, z - dz] (fill outside)."""
    nx, nz = a.shape
    p = jnp.pad(a, ((abs(dx), abs(dx)), (abs(dz), abs(dz))), constant_values=fill)
    return p[abs(dx) - dx: abs(dx) - dx + nx, abs(dz) - dz: abs(dz) - dz + nz]


def _pick_columns(key, free: jax.Array, n: int) -> jax.Array:
    """n distinct random columns int32[n, 2], free ones (bool[X, Z]) first."""
    nx, nz = free.shape
    score = rng.uniform(key, (nx * nz,)) + free.reshape(-1)
    _, idx = jax.lax.top_k(score, n)
    return jnp.stack([idx // nz, idx % nz], -1).astype(jnp.int32)


def _max_filter(a: jax.Array, rx: int, rz: int) -> jax.Array:
    """max of a[x+dx, z+dz] over |dx| <= rx, |dz| <= rz (outside counts as -inf)."""
    out = a
    for dx in range(-rx, rx + 1):
        out = jnp.maximum(out, _shift2d(a, dx, 0, -100))
    a = out
    for dz in range(-rz, rz + 1):
        out = jnp.maximum(out, _shift2d(a, 0, dz, -100))
    return out


def biome_map(static: WorldStatic, params: WorldParams, seed: jax.Array):
    """key: a uint32 seed (rng.py)."""
    """(biome id int32[X, Z], blending weights float32[X, Z, C], centre biomes int32[C])."""
    X, Z = static.size_x, static.size_z
    k_c, k_b, k_wx, k_wz = [seed * jnp.uint32(4) + jnp.uint32(i) for i in range(4)]
    centres = rng.uniform(k_c, (NUM_BIOME_CENTRES, 2)) * jnp.asarray([X, Z], jnp.float32)
    # Uniform over the enabled biomes: the argmax of random scores restricted to them.
    score = rng.uniform(k_b, (NUM_BIOME_CENTRES, BI.NUM_BIOMES)) + params.biome_enabled
    kinds = jnp.argmax(score, -1)
    warp = 0.12 * min(X, Z)
    gx = jnp.arange(X, dtype=jnp.float32)[:, None] + warp * fractal_noise(k_wx, X, Z)
    gz = jnp.arange(Z, dtype=jnp.float32)[None, :] + warp * fractal_noise(k_wz, X, Z)
    d2 = (gx[..., None] - centres[:, 0]) ** 2 + (gz[..., None] - centres[:, 1]) ** 2   # [X, Z, C]
    biome = kinds[jnp.argmin(d2, -1)]
    sigma2 = (0.15 * min(X, Z)) ** 2
    w = jax.nn.softmax(-(d2 - d2.min(-1, keepdims=True)) / sigma2, -1)
    return biome.astype(jnp.int32), w, kinds


def generate(static: WorldStatic, params: WorldParams, key: jax.Array) -> WorldState:
    """A fresh world and agent from a key."""
    X, Y, Z, M = static.size_x, static.size_y, static.size_z, static.max_mobs
    keys = rng.seeds(key, 12)
    biome, w, kinds = biome_map(static, params, keys[0])

    # Terrain height (number of solid blocks in the column).
    base = (w * jnp.asarray(BI.BASE_HEIGHT)[kinds]).sum(-1)
    amp = (w * jnp.asarray(BI.AMPLITUDE)[kinds]).sum(-1)
    h = jnp.floor(Y * (base + amp * fractal_noise(keys[1], X, Z))).astype(jnp.int32)
    h = jnp.clip(h, 3, Y - 9)
    y = jnp.arange(Y)[None, :, None]
    hh = h[:, None, :]
    surface = jnp.asarray(BI.SURFACE)[biome][:, None, :]
    sub = jnp.asarray(BI.SUBSURFACE)[biome][:, None, :]
    vox = jnp.where(y < hh - 4, B.block_id("stone"), jnp.where(y < hh - 1, sub, surface))
    vox = jnp.where(y < hh, vox, B.AIR)
    # Ores replace stone (including stone that forms the surface of stony biomes).
    u = rng.uniform(keys[2], (X, Y, Z))
    acc = 0.0
    for kind, rate, max_frac in ORES:
        sel = (u >= acc) & (u < acc + rate) & (y < max_frac * hh) & (vox == B.block_id("stone"))
        vox = jnp.where(sel, kind, vox)
        acc += rate
    vox = jnp.where(y == 0, B.block_id("bedrock"), vox)

    # Agent spawn: a column in the central half; keep its 3×3 neighbourhood free of plants.
    spawn = (rng.uniform(keys[3], (2,)) * jnp.asarray([X / 2, Z / 2]) + jnp.asarray([X / 4, Z / 4])).astype(jnp.int32)
    cx = jnp.arange(X)[:, None]
    cz = jnp.arange(Z)[None, :]
    near_spawn = (jnp.abs(cx - spawn[0]) <= 1) & (jnp.abs(cz - spawn[1]) <= 1)

    # Trees: at most one per TREE_CELL×TREE_CELL cell, at a random column of the cell.
    ncx, ncz = -(-X // TREE_CELL), -(-Z // TREE_CELL)
    kt = [keys[4] * jnp.uint32(3) + jnp.uint32(i) for i in range(3)]
    off = rng.randint(kt[0], (ncx, ncz, 2), 0, TREE_CELL)
    is_pick = ((cx % TREE_CELL) == off[cx // TREE_CELL, cz // TREE_CELL, 0]) & \
              ((cz % TREE_CELL) == off[cx // TREE_CELL, cz // TREE_CELL, 1])
    grow = rng.uniform(kt[1], (X, Z)) < jnp.asarray(BI.TREE_DENSITY)[biome]
    interior = (cx >= 2) & (cx < X - 2) & (cz >= 2) & (cz < Z - 2)
    tree = is_pick & grow & interior & ~near_spawn
    trunk_h = jnp.asarray(BI.TRUNK_HEIGHT)[biome] + rng.randint(kt[2], (X, Z), 0, 2)
    top = jnp.where(tree, jnp.minimum(h + trunk_h, Y - 2), -100)       # first air above the trunk
    leaves_kind = jnp.asarray(BI.LEAVES)[biome][:, None, :]
    # Crown: 5×5 (no corners) over the two layers below the trunk top, 3×3 cap on it; where
    # crowns of different heights overlap the tallest wins.
    wide = jnp.maximum(_max_filter(top, 2, 1), _max_filter(top, 1, 2))[:, None, :]
    cap = _max_filter(top, 1, 1)[:, None, :]
    leafy = ((y >= wide - 2) & (y < wide)) | (y == cap)
    vox = jnp.where(leafy & (vox == B.AIR), leaves_kind, vox)
    trunk = tree[:, None, :] & (y >= hh) & (y < top[:, None, :])
    vox = jnp.where(trunk, jnp.asarray(BI.LOG)[biome][:, None, :], vox)

    # Free surface columns: nothing above the terrain (no trunk/leaves) and not the spawn.
    above = jnp.any((vox != B.AIR) & (y >= hh), axis=1)
    free = ~above & ~near_spawn
    # Crops on free columns with the biome's rate.
    crop = free & (rng.uniform(keys[5], (X, Z)) < jnp.asarray(BI.CROP_DENSITY)[biome])
    at_h = y == hh
    vox = jnp.where(crop[:, None, :] & at_h, jnp.asarray(BI.CROP)[biome][:, None, :], vox)
    free = free & ~crop
    # Interactables: a fixed number of levers / chests / lamps on free columns.
    if static.num_interactables:
        cols = _pick_columns(keys[6], free, static.num_interactables)
        kinds_i = INTERACTABLES[rng.randint(keys[7], (static.num_interactables,), 0, 3)]
        vox = vox.at[cols[:, 0], h[cols[:, 0], cols[:, 1]], cols[:, 1]].set(kinds_i)
        free = free.at[cols[:, 0], cols[:, 1]].set(False)
    vox = vox.astype(jnp.uint8)

    # Mobs on free columns.
    mcols = _pick_columns(keys[8], free, M)
    mkind = rng.randint(keys[9], (M,), 0, mobs_lib.NUM_MOB_KINDS)
    mpos = jnp.stack([mcols[:, 0] + 0.5, h[mcols[:, 0], mcols[:, 1]] + SKIN, mcols[:, 1] + 0.5], -1).astype(jnp.float32)
    mobs = Mobs(pos=mpos, vel_y=jnp.zeros((M,), jnp.float32),
                heading=rng.uniform(keys[10], (M,), -jnp.pi, jnp.pi),
                walking=jnp.zeros((M,), bool), health=jnp.full((M,), params.mob_health, jnp.float32),
                alive=jnp.ones((M,), bool), kind=mkind.astype(jnp.int32))

    agent = Agent(pos=jnp.stack([spawn[0] + 0.5, h[spawn[0], spawn[1]] + SKIN, spawn[1] + 0.5]).astype(jnp.float32),
                  vel=jnp.zeros((3,), jnp.float32),
                  yaw=rng.uniform(keys[11], (), -jnp.pi, jnp.pi),
                  pitch=jnp.zeros((), jnp.float32), on_ground=jnp.ones((), bool), prev_use=jnp.zeros((), bool))
    return WorldState(blocks=vox, skip=compute_skip(vox), biome=biome.astype(jnp.uint8), agent=agent, mobs=mobs,
                      mining_voxel=jnp.asarray(-1, jnp.int32), mining_progress=jnp.zeros((), jnp.int32),
                      time=jnp.zeros((), jnp.int32))
