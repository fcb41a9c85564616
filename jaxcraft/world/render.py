"""Ray-cast renderer: RGB, planar depth and per-pixel object ids from any camera.

Rays march through the voxel grid with a fixed number of steps (`WorldStatic.render_steps`,
a fori_loop, branchless). Each step reads one uint8 of the skip field (voxels.py) and jumps
to the exit of the larger of two boxes known to be empty around the current voxel: a cube
(open space, sky) or a one-block-thick horizontal square (rays grazing flat ground). A ray
that reaches a solid voxel stops there; one that leaves the world shows the sky; one that
runs out of steps or passes the view distance shows fog (sky colour), id 0.
Mobs are boxes intersected analytically and depth-tested against the voxel hit.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxcraft.world import blocks as B
from jaxcraft.world import mobs as mobs_lib
from jaxcraft.world.camera import Camera, ray_directions
from jaxcraft.world.ids import mob_id
from jaxcraft.world.params import WorldStatic
from jaxcraft.world.state import WorldState

FAR = 1e9            # "no hit" ray parameter
NUDGE = 2e-4         # spatial step across a face before reading the next voxel
SKY_ZENITH = (0.47, 0.65, 0.98)
SKY_HORIZON = (0.75, 0.85, 1.0)
FOG_START = 0.6      # fraction of the view distance where fog begins
# Face brightness: top, bottom, ±x sides, ±z sides (Minecraft-like directional shading).
SHADE_TOP, SHADE_BOTTOM, SHADE_X, SHADE_Z = 1.0, 0.5, 0.8, 0.65


class Frame(NamedTuple):
    rgb: jax.Array     # uint8[H, W, 3]
    depth: jax.Array   # float32[H, W], planar depth of the visible surface; inf for sky/fog
    obj_id: jax.Array  # int32[H, W], ids.py encoding; 0 for sky/fog


def _tie(x: jax.Array, i: jax.Array) -> jax.Array:
    """x, unchanged bit for bit, made to depend on the loop counter i (0 <= i < 2**30)."""
    if x.dtype.itemsize != 4:
        return x
    zero = (i >> 30).astype(jnp.uint32)
    return jax.lax.bitcast_convert_type(jax.lax.bitcast_convert_type(x, jnp.uint32) ^ zero, x.dtype)


def _safe_inv(d):
    return 1.0 / jnp.where(jnp.abs(d) < 1e-8, jnp.where(d < 0, -1e-8, 1e-8), d)


def _world_span(static: WorldStatic, origin, dirs, inv):
    """(t_in, t_out): where each ray enters and leaves the world box (t_in >= 0)."""
    size = static.shape
    t_lo, t_hi = jnp.zeros_like(dirs[0]), jnp.full_like(dirs[0], FAR)
    for a in range(3):
        t1, t2 = (0.0 - origin[a]) * inv[a], (size[a] - origin[a]) * inv[a]
        t_lo = jnp.maximum(t_lo, jnp.minimum(t1, t2))
        t_hi = jnp.minimum(t_hi, jnp.maximum(t1, t2))
    return t_lo, jnp.where(t_hi > t_lo, t_hi, 0.0)


def march(static: WorldStatic, skip: jax.Array, origin: jax.Array, dirs, steps: int):
    """Ray parameters t[N] where each ray enters its first solid voxel, and t_out[N] where it
    leaves the world (t >= t_out: no hit). A ray out of steps stops at an air voxel.
    dirs: three float32[N] arrays.

    The loop body is kept to ~30 flops and one uint8 gather per ray: exits of both empty
    boxes share the per-axis term (v + [d > 0])/d − o/d and differ by h·|1/d|.

    Memory, not arithmetic, bounds this loop on CPU at N·H·W rays far beyond the caches. The
    per-ray constants that are exact functions of d (the nudged origin, 1/d, |1/d|: 9 arrays)
    are therefore recomputed in every step from d instead of being computed once and streamed
    from memory 14 times: ~28 instead of ~64 bytes read per ray and step, for 3 divisions
    more (issue 34, docs/world.md). Three details keep this bit-exact:
      * XLA's loop-invariant code motion hoists anything computed from loop-invariant
        values, so d enters each step through `_tie` (an xor with i >> 30, i.e. with 0);
      * XLA:CPU lets LLVM contract a*b + c into one FMA inside a fused kernel, so a value
        computed inside the step's kernel can round differently downstream than the stored
        one did. Each recomputed constant passes through the same zero xor: it is then an
        opaque float32, as when it was loaded from memory;
      * the exit offset (v + [d > 0])/d − o/d's o-part is a difference of products whose own
        rounding depends on how LLVM contracts it, so it stays hoisted (computed as before).
    Tested against the hoisted march on generated worlds, batched and not
    (tests/world/test_world_render.py).
    """
    size = static.shape

    inv0 = [_safe_inv(d) for d in dirs]
    # The exit offset is a difference of products: how LLVM contracts it into FMAs depends on
    # the kernel around it, so it stays computed once outside the loop, as it always was.
    offset = [jnp.where(dirs[a] > 0, 1.0, 0.0) * inv0[a] - origin[a] * inv0[a] for a in range(3)]

    def ray_constants(i):
        d = [_tie(x, i) for x in dirs]
        inv = [_safe_inv(x) for x in d]
        start = [origin[a] + jnp.where(d[a] > 0, NUDGE, -NUDGE) for a in range(3)]
        return jax.tree.map(lambda x: _tie(x, i), (d, inv, [jnp.abs(v) for v in inv], start)) + (offset,)

    t_in, t_out = _world_span(static, origin, dirs, inv0)
    flat_skip = skip.reshape(-1)
    last = float(static.num_voxels - 1)

    def body(i, t):
        d, inv, absinv, start, offset = ray_constants(i)
        v = [jnp.floor(start[a] + t * d[a]) for a in range(3)]
        idx = jnp.clip((v[0] * size[1] + v[1]) * size[2] + v[2], 0.0, last).astype(jnp.int32)
        s = flat_skip.at[idx].get(mode="promise_in_bounds").astype(jnp.int32)
        h_iso = (s & 15).astype(jnp.float32) - 1.0
        h_flat = (s >> 4).astype(jnp.float32) - 1.0
        bx = v[0] * inv[0] + offset[0]
        by = v[1] * inv[1] + offset[1]
        bz = v[2] * inv[2] + offset[2]
        t_iso = jnp.minimum(jnp.minimum(bx + h_iso * absinv[0], by + h_iso * absinv[1]), bz + h_iso * absinv[2])
        t_flat = jnp.minimum(jnp.minimum(bx + h_flat * absinv[0], by), bz + h_flat * absinv[2])
        return jnp.where(h_iso < 0, t, jnp.maximum(t_iso, t_flat))

    # A ray past the world exit reads clamped garbage but its t only grows; callers
    # treat t >= t_out as "left the world".
    return jax.lax.fori_loop(0, steps, body, t_in), t_out


def _hash01(*ints) -> jax.Array:
    """Cheap integer hash of int32 arrays → float32 in [0, 1)."""
    h = jnp.uint32(2166136261)
    for i in ints:
        h = (h ^ i.astype(jnp.uint32)) * jnp.uint32(16777619)
    h = h ^ (h >> 13)
    return (h & jnp.uint32(1023)).astype(jnp.float32) / 1024.0


def _pack_rgb(rgb01: np.ndarray) -> np.ndarray:
    c = np.clip(np.round(np.asarray(rgb01) * 255.0), 0, 255).astype(np.int32)
    return (c[..., 0] << 16) | (c[..., 1] << 8) | c[..., 2]


# Face colours of every block kind, packed 0xRRGGBB: [side colours, top colours].
_FACE_RGB = np.concatenate([_pack_rgb(B.SIDE_RGB), _pack_rgb(B.TOP_RGB)])
_MOB_RGB = _pack_rgb(mobs_lib.COLOUR)


def _unpack(packed: jax.Array):
    return [((packed >> s) & 255).astype(jnp.float32) * (1.0 / 255.0) for s in (16, 8, 0)]


def cast(static: WorldStatic, state: WorldState, origin: jax.Array, dirs, steps: int | None = None):
    """Cast rays from `origin` along dirs (three float32[N]).

    Returns (t, obj_id, rgb): t[N] the ray parameter of the visible surface (FAR for none),
    obj_id[N] its id, rgb a list of three float32[N] shaded colour channels in [0, 1].
    """
    steps = static.render_steps if steps is None else steps
    t, t_out = march(static, state.skip, origin, dirs, steps)
    size = static.shape
    # Voxel at the end of the march (same nudge as the marcher) and what it holds.
    v = [jnp.floor(origin[a] + t * dirs[a] + jnp.where(dirs[a] > 0, NUDGE, -NUDGE)) for a in range(3)]
    flat = jnp.clip((v[0] * size[1] + v[1]) * size[2] + v[2], 0.0, float(static.num_voxels - 1)).astype(jnp.int32)
    kind = state.blocks.reshape(-1).at[flat].get(mode="promise_in_bounds").astype(jnp.int32)
    # A ray leaving the world can be nudged one voxel outside it, where the flat index wraps.
    inb = (v[0] >= 0) & (v[0] < size[0]) & (v[1] >= 0) & (v[1] < size[1]) & (v[2] >= 0) & (v[2] < size[2])
    hit = (t < t_out) & (kind != B.AIR) & inb
    t_vox = jnp.where(hit, t, FAR)

    # Face entered: the axis along which the entry point sits on the voxel's face.
    p = [origin[a] + t * dirs[a] for a in range(3)]
    gap = [jnp.where(dirs[a] > 0, p[a] - v[a], v[a] + 1.0 - p[a]) for a in range(3)]
    face_y = (gap[1] <= gap[0]) & (gap[1] <= gap[2])
    face_x = ~face_y & (gap[0] <= gap[2])
    top = face_y & (dirs[1] < 0)
    shade = jnp.where(face_y, jnp.where(top, SHADE_TOP, SHADE_BOTTOM), jnp.where(face_x, SHADE_X, SHADE_Z))
    packed = jnp.asarray(_FACE_RGB)[kind + jnp.where(top, B.NUM_BLOCKS, 0)]
    # 8×8 texels per face with a per-block speckle, for a Minecraft-ish texture.
    tu = jnp.floor(jnp.where(face_x, p[2], p[0]) * 8.0).astype(jnp.int32)
    tv = jnp.floor(jnp.where(face_y, p[2], p[1]) * 8.0).astype(jnp.int32)
    vi = v[0].astype(jnp.int32) + 7 * v[1].astype(jnp.int32) + 13 * v[2].astype(jnp.int32)
    bright = shade * (0.88 + 0.24 * _hash01(tu, tv, vi))

    # Mobs: slab test per slot. The nearest mob is found by one variadic reduction over the M
    # slots (key t, ties to the lower slot): a reduction's result is materialised once, while
    # the running-best chain it replaces was fused by XLA:CPU into each of the three outputs
    # (RGB, depth, ids) and computed three times. Same result: the minimum t over valid mobs,
    # ties to the lowest slot, and the voxel wins ties with a mob (strict < below), as before.
    lo, hi = mobs_lib.mob_boxes(state.mobs)               # [M, 3]
    inv = [_safe_inv(d) for d in dirs]
    best_t = t_vox
    best_m = jnp.full_like(kind, -1)
    num_mobs = lo.shape[0]
    if num_mobs:
        keys = []
        for m in range(num_mobs):
            tn, tf = jnp.zeros_like(t), jnp.full_like(t, FAR)
            for a in range(3):
                t1 = (lo[m, a] - origin[a]) * inv[a]
                t2 = (hi[m, a] - origin[a]) * inv[a]
                tn = jnp.maximum(tn, jnp.minimum(t1, t2))
                tf = jnp.minimum(tf, jnp.maximum(t1, t2))
            keys.append(jnp.where((tn <= tf) & state.mobs.alive[m], tn, jnp.inf))
        keys = jnp.stack(keys)                                        # [M, N]
        slots = jax.lax.broadcasted_iota(jnp.int32, keys.shape, 0)

        def nearer(a, b):
            a_wins = (a[0] < b[0]) | ((a[0] == b[0]) & (a[1] < b[1]))
            return jnp.where(a_wins, a[0], b[0]), jnp.where(a_wins, a[1], b[1])

        mob_t, mob_m = jax.lax.reduce((keys, slots), (jnp.float32(jnp.inf), jnp.int32(num_mobs)), nearer, (0,))
        better = mob_t < t_vox
        best_t = jnp.where(better, mob_t, t_vox)
        best_m = jnp.where(better, mob_m, -1)
    use_mob = best_m >= 0
    # Shade the mob face the same way as voxel faces: the axis whose slab the entry point is on.
    if num_mobs:
        # The hit mob's box and colour by a select per slot: a per-pixel gather by best_m costs
        # ~10x more on XLA:CPU under vmap (measured).
        mob_rgb = jnp.asarray(_MOB_RGB)[state.mobs.kind]   # [M]
        zero = jnp.zeros_like(t)
        mlo, mhi = [zero] * 3, [zero] * 3
        mob_packed = jnp.zeros_like(packed)
        for m in range(num_mobs):
            sel = best_m == m
            mlo = [jnp.where(sel, lo[m, a], mlo[a]) for a in range(3)]
            mhi = [jnp.where(sel, hi[m, a], mhi[a]) for a in range(3)]
            mob_packed = jnp.where(sel, mob_rgb[m], mob_packed)
        q = [origin[a] + best_t * dirs[a] for a in range(3)]
        mgap = [jnp.abs(jnp.where(dirs[a] > 0, q[a] - mlo[a], mhi[a] - q[a])) for a in range(3)]
        my = (mgap[1] <= mgap[0]) & (mgap[1] <= mgap[2])
        mx = ~my & (mgap[0] <= mgap[2])
        m_shade = jnp.where(my, jnp.where(dirs[1] < 0, SHADE_TOP, SHADE_BOTTOM), jnp.where(mx, SHADE_X, SHADE_Z))
    else:
        mob_packed, m_shade = packed, bright
    packed = jnp.where(use_mob, mob_packed, packed)
    bright = jnp.where(use_mob, m_shade, bright)
    rgb = [c * bright for c in _unpack(packed)]
    oid = jnp.where(use_mob, mob_id(static, best_m), jnp.where(hit, flat + 1, 0))
    return best_t, oid, rgb


def render(static: WorldStatic, state: WorldState, cam: Camera, height: int | None = None,
           width: int | None = None, steps: int | None = None) -> Frame:
    """Render `state` from a free camera. height/width default to the agent frame size."""
    h = static.height if height is None else int(height)
    w = static.width if width is None else int(width)
    dirs = ray_directions(cam, h, w, static.fov_y_deg)
    t, oid, rgb = cast(static, state, cam.pos, dirs, steps)
    # Fog by Euclidean distance; anything past the view distance is sky (and id 0).
    dist = t * jnp.sqrt(dirs[0] ** 2 + dirs[1] ** 2 + dirs[2] ** 2)
    visible = dist < static.view_distance
    fog = jnp.clip((dist - FOG_START * static.view_distance) / ((1.0 - FOG_START) * static.view_distance), 0.0, 1.0)
    up = jnp.clip(dirs[1] / jnp.sqrt(dirs[0] ** 2 + dirs[1] ** 2 + dirs[2] ** 2), 0.0, 1.0)
    fog = jnp.where(visible, fog, 1.0)
    chans = []
    for c in range(3):
        sky = SKY_HORIZON[c] + (SKY_ZENITH[c] - SKY_HORIZON[c]) * up
        chans.append(jnp.clip((rgb[c] * (1.0 - fog) + sky * fog) * 255.0 + 0.5, 0, 255).astype(jnp.uint32))
    # Pack then bitcast to bytes: stacking channels directly makes XLA:CPU recompute the
    # whole cast per output byte (measured 15x slower).
    packed = jax.lax.optimization_barrier(chans[0] | (chans[1] << 8) | (chans[2] << 16))
    rgb8 = jax.lax.bitcast_convert_type(packed, jnp.uint8)[:, :3].reshape(h, w, 3)
    depth = jnp.where(visible, t, jnp.inf).reshape(h, w)
    oid = jnp.where(visible, oid, 0).reshape(h, w)
    return Frame(rgb8, depth, oid)


def object_mask(frame_or_ids, target_id: jax.Array) -> jax.Array:
    """bool[H, W]: exactly the pixels whose object id is `target_id`."""
    ids = frame_or_ids.obj_id if isinstance(frame_or_ids, Frame) else frame_or_ids
    return ids == jnp.asarray(target_id, jnp.int32)


def render_mask(static: WorldStatic, state: WorldState, cam: Camera, target_id: jax.Array,
                height: int | None = None, width: int | None = None) -> tuple[Frame, jax.Array]:
    """Render from `cam` and return (frame, exact mask of `target_id`)."""
    frame = render(static, state, cam, height, width)
    return frame, object_mask(frame, target_id)
