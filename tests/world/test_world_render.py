"""Renderer, camera and masks on hand-built scenes, checked against independent maths."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcraft.world import (Camera, WorldStatic, default_params, empty_world, generate, mob_id, object_mask, place_mob,
                            project, render, set_blocks, voxel_id)
from jaxcraft.world.blocks import block_id

ST = WorldStatic(size_x=16, size_y=16, size_z=16, height=16, width=16, max_mobs=2, num_interactables=2,
                 render_steps=24, view_distance=30.0)
STONE = block_id("stone")


@pytest.fixture(scope="module")
def rend():
    return jax.jit(lambda s, c: render(ST, s, c))


def cam(pos, yaw=0.0, pitch=0.0):
    return Camera(jnp.asarray(pos, jnp.float32), jnp.float32(yaw), jnp.float32(pitch))


def one_block(xyz):
    return set_blocks(empty_world(ST), jnp.asarray([xyz]), STONE)


def ref_rays(yaw, pitch, h, w, fov_deg):
    """Plain NumPy pinhole rays, written from the digest's formulas (yaw 0 → +z, right → −x)."""
    fwd = np.array([-math.sin(yaw) * math.cos(pitch), math.sin(pitch), math.cos(yaw) * math.cos(pitch)])
    right = np.array([-math.cos(yaw), 0.0, -math.sin(yaw)])
    up = np.cross(right, fwd)
    ty = math.tan(math.radians(fov_deg) / 2)
    tx = math.tan(2 * math.atan(ty * w / h) / 2)
    jj, ii = np.meshgrid(np.arange(w), np.arange(h))
    nx = (2 * (jj + 0.5) / w - 1) * tx
    ny = (1 - 2 * (ii + 0.5) / h) * ty
    return fwd + nx[..., None] * right + ny[..., None] * up      # [h, w, 3]


def test_single_block_ahead_covers_centre_not_corners_with_hand_depth(rend):
    state = one_block((8, 8, 8))
    f = rend(state, cam((8.5, 8.5, 2.0)))                   # looking along +z at the block's face z = 8
    ids = np.asarray(f.obj_id)
    target = int(voxel_id(ST, jnp.asarray([8, 8, 8])))
    assert ids[8, 8] == target and ids[7, 7] == target
    for i, j in [(0, 0), (0, 15), (15, 0), (15, 15)]:
        assert ids[i, j] == 0 and np.isinf(np.asarray(f.depth)[i, j])
    # Planar depth of the face: 8 − 2 = 6 blocks.
    np.testing.assert_allclose(np.asarray(f.depth)[ids == target], 6.0, atol=1e-4)


def test_mask_equals_ray_plane_oracle(rend):
    state = one_block((8, 8, 8))
    f = rend(state, cam((8.2, 8.7, 3.0)))
    mask = np.asarray(object_mask(f, voxel_id(ST, jnp.asarray([8, 8, 8]))))
    np.testing.assert_array_equal(mask, np.asarray(f.obj_id) == int(voxel_id(ST, jnp.asarray([8, 8, 8]))))
    # Independent oracle: the visible silhouette is the front face z = 8, x, y in [8, 9].
    d = ref_rays(0.0, 0.0, 16, 16, 70.0)
    t = (8.0 - 3.0) / d[..., 2]
    x, y = 8.2 + t * d[..., 0], 8.7 + t * d[..., 1]
    expect = (x >= 8) & (x <= 9) & (y >= 8) & (y <= 9)
    margin = np.minimum.reduce([np.abs(x - 8), np.abs(x - 9), np.abs(y - 8), np.abs(y - 9)]) < 1e-3
    assert expect.sum() > 4
    np.testing.assert_array_equal(mask[~margin], expect[~margin])


def test_projected_voxel_centre_lands_in_its_mask(rend):
    state = one_block((11, 6, 12))
    c = cam((6.3, 9.1, 4.2), yaw=-0.5, pitch=-0.3)
    f = rend(state, c)
    target = voxel_id(ST, jnp.asarray([11, 6, 12]))
    mask = np.asarray(object_mask(f, target))
    u, v, depth = project(c, jnp.asarray([11.5, 6.5, 12.5]), 16, 16, ST.fov_y_deg)
    assert float(depth) > 0 and mask.any()
    assert mask[int(v), int(u)]
    # The mask lies around the projected centre (within the cube's projected size).
    rows, cols = np.nonzero(mask)
    assert abs(rows.mean() - float(v)) < 3 and abs(cols.mean() - float(u)) < 3


def test_projection_matches_ray_generation():
    c = cam((3.0, 4.0, 5.0), yaw=0.7, pitch=0.2)
    d = ref_rays(0.7, 0.2, 16, 24, 70.0)
    pts = np.asarray([3.0, 4.0, 5.0]) + 2.5 * d[[0, 5, 15], [0, 11, 23]]
    u, v, _ = project(c, jnp.asarray(pts), 16, 24, 70.0)
    np.testing.assert_allclose(np.asarray(u), [0.5, 11.5, 23.5], atol=1e-3)
    np.testing.assert_allclose(np.asarray(v), [0.5, 5.5, 15.5], atol=1e-3)


def test_mob_is_drawn_with_its_id_and_occludes_blocks(rend):
    state = one_block((8, 8, 12))
    state = place_mob(state, 1, 0, jnp.asarray([8.5, 7.9, 6.0]))     # a pig between camera and block
    f = rend(state, cam((8.5, 8.5, 2.0)))
    assert int(f.obj_id[8, 8]) == int(mob_id(ST, 1))
    # Pig box front face at z = 6 − 0.45 → planar depth 3.55.
    np.testing.assert_allclose(float(f.depth[8, 8]), 3.55, atol=1e-4)


def test_free_camera_outside_world_looks_down(rend):
    state = one_block((8, 10, 8))
    c = cam((8.3, 20.0, 8.6), pitch=-math.radians(89.0))     # 4 blocks above the world's top
    f = rend(state, c)
    u, v, depth = project(c, jnp.asarray([8.5, 11.0, 8.5]), 16, 16, ST.fov_y_deg)   # top-face centre
    assert int(f.obj_id[int(v), int(u)]) == int(voxel_id(ST, jnp.asarray([8, 10, 8])))
    np.testing.assert_allclose(float(f.depth[int(v), int(u)]), float(depth), atol=0.05)


def test_same_key_same_world_and_frames(rend):
    p = default_params()
    gen = jax.jit(lambda k: generate(ST, p, k))
    a, b, c = gen(jax.random.key(7)), gen(jax.random.key(7)), gen(jax.random.key(8))
    np.testing.assert_array_equal(np.asarray(a.blocks), np.asarray(b.blocks))
    assert not np.array_equal(np.asarray(a.blocks), np.asarray(c.blocks))
    ca = cam(a.agent.pos + jnp.asarray([0, 1.62, 0]), a.agent.yaw, -0.2)
    fa, fb = rend(a, ca), rend(b, ca)
    np.testing.assert_array_equal(np.asarray(fa.rgb), np.asarray(fb.rgb))
    assert np.asarray(fa.rgb).std() > 5        # not a blank image


def test_generated_world_is_sane():
    p = default_params()
    s = jax.jit(lambda k: generate(ST, p, k))(jax.random.key(3))
    blocks = np.asarray(s.blocks)
    assert (blocks[:, 0, :] == block_id("bedrock")).all()
    # Agent spawns standing on a solid block in free space.
    x, y, z = np.asarray(s.agent.pos)
    assert blocks[int(x), int(y) - 1, int(z)] != 0 and blocks[int(x), int(y), int(z)] == 0
    from jaxcraft.world.voxels import compute_skip
    np.testing.assert_array_equal(np.asarray(s.skip), np.asarray(compute_skip(s.blocks)))


def test_skip_field_matches_bruteforce():
    rng = np.random.default_rng(0)
    blocks = (rng.random((9, 8, 10)) < 0.03).astype(np.uint8) * STONE
    from jaxcraft.world.voxels import compute_skip
    skip = np.asarray(compute_skip(jnp.asarray(blocks)))
    solid = np.argwhere(blocks > 0)
    for v in [(0, 0, 0), (4, 3, 5), (8, 7, 9), (2, 6, 1)]:
        v = np.asarray(v)
        cheb = np.abs(solid - v).max(1)
        iso = min(cheb.min() if len(cheb) else 15, 15)
        same_layer = solid[solid[:, 1] == v[1]]
        flat = min(np.abs(same_layer[:, [0, 2]] - v[[0, 2]]).max(1).min() if len(same_layer) else 15, 15)
        assert skip[tuple(v)] & 15 == iso and skip[tuple(v)] >> 4 == flat


def test_skip_field_matches_bruteforce_everywhere():
    """The bit-packed skip field against brute force at every voxel: z spans of one word, several
    words and a partial last word, empty, sparse, dense and full grids."""
    from jaxcraft.world.voxels import compute_skip
    rng = np.random.default_rng(1)
    for shape, p in [((5, 4, 40), 0.01), ((6, 5, 33), 0.1), ((4, 3, 64), 0.005), ((7, 6, 9), 0.0),
                     ((3, 4, 70), 1.0), ((5, 5, 32), 0.5)]:
        blocks = (rng.random(shape) < p).astype(np.uint8) * STONE
        skip = np.asarray(compute_skip(jnp.asarray(blocks)))
        solid = np.argwhere(blocks > 0)
        vox = np.indices(shape).reshape(3, -1).T                               # [V, 3]
        if len(solid):
            diff = np.abs(vox[:, None, :] - solid[None, :, :])                 # [V, S, 3]
            iso = np.minimum(diff.max(-1).min(1), 15)
            flat_d = np.where(diff[..., 1] == 0, diff[..., [0, 2]].max(-1), 99)
            flat = np.minimum(flat_d.min(1), 15)
        else:
            iso = flat = np.full(len(vox), 15)
        np.testing.assert_array_equal(skip.reshape(-1) & 15, iso, err_msg=str(shape))
        np.testing.assert_array_equal(skip.reshape(-1) >> 4, flat, err_msg=str(shape))


# -- issue 34: the faster march and mob pass compute what the straightforward versions did --

def _reference_march(static, skip, origin, dirs, steps):
    """The march as it was before issue 34: every per-ray constant computed once, outside the
    loop (so XLA streams it from memory in every step)."""
    from jaxcraft.world.render import NUDGE, _safe_inv, _world_span
    size = static.shape
    inv = [_safe_inv(d) for d in dirs]
    absinv = [jnp.abs(i) for i in inv]
    start = [origin[a] + jnp.where(dirs[a] > 0, NUDGE, -NUDGE) for a in range(3)]
    offset = [jnp.where(dirs[a] > 0, 1.0, 0.0) * inv[a] - origin[a] * inv[a] for a in range(3)]
    t_in, t_out = _world_span(static, origin, dirs, inv)
    flat_skip = skip.reshape(-1)
    last = float(static.num_voxels - 1)

    def body(_, t):
        v = [jnp.floor(start[a] + t * dirs[a]) for a in range(3)]
        idx = jnp.clip((v[0] * size[1] + v[1]) * size[2] + v[2], 0.0, last).astype(jnp.int32)
        s = flat_skip.at[idx].get(mode="promise_in_bounds").astype(jnp.int32)
        h_iso = (s & 15).astype(jnp.float32) - 1.0
        h_flat = (s >> 4).astype(jnp.float32) - 1.0
        b = [v[a] * inv[a] + offset[a] for a in range(3)]
        t_iso = jnp.minimum(jnp.minimum(b[0] + h_iso * absinv[0], b[1] + h_iso * absinv[1]), b[2] + h_iso * absinv[2])
        t_flat = jnp.minimum(jnp.minimum(b[0] + h_flat * absinv[0], b[1]), b[2] + h_flat * absinv[2])
        return jnp.where(h_iso < 0, t, jnp.maximum(t_iso, t_flat))

    return jax.lax.fori_loop(0, steps, body, t_in), t_out


def _worlds_and_cameras(n):
    p = default_params()
    states = jax.jit(jax.vmap(lambda k: generate(ST, p, k)))(jax.random.split(jax.random.key(11), n))
    k1, k2, k3 = jax.random.split(jax.random.key(12), 3)
    size = jnp.asarray(ST.shape, jnp.float32)
    cams = Camera(jax.random.uniform(k1, (n, 3), minval=-0.3, maxval=1.3) * size,     # inside, above, outside
                  jax.random.uniform(k2, (n,), minval=-math.pi, maxval=math.pi),
                  jax.random.uniform(k3, (n,), minval=-1.5, maxval=1.5))
    return states, cams


def test_march_equals_the_hoisted_march_bit_for_bit_when_batched():
    """The march recomputes 1/d, |1/d| and the nudged origin in every step (issue 34); batched, as the
    env and the task resets run it, it returns exactly the t of the version that precomputed them."""
    from jaxcraft.world.camera import ray_directions
    from jaxcraft.world.render import march
    states, cams = _worlds_and_cameras(8)

    def both(state, cam):
        dirs = ray_directions(cam, 16, 16, ST.fov_y_deg)
        return march(ST, state.skip, cam.pos, dirs, ST.render_steps), \
            _reference_march(ST, state.skip, cam.pos, dirs, ST.render_steps)
    (t, t_out), (t_ref, t_out_ref) = jax.jit(jax.vmap(both))(states, cams)
    np.testing.assert_array_equal(np.asarray(t), np.asarray(t_ref))
    np.testing.assert_array_equal(np.asarray(t_out), np.asarray(t_out_ref))
    assert (np.asarray(t) < np.asarray(t_out)).mean() > 0.1      # the rays do hit things


def test_march_single_camera_hits_the_same_voxels_as_the_hoisted_march():
    """Compiled for one camera, XLA's kernels may round a few t differently (by an ulp; the hoisted
    march itself differs that much between its batched and single compilations), never the voxel hit."""
    from jaxcraft.world.camera import ray_directions
    from jaxcraft.world.render import march
    states, cams = _worlds_and_cameras(4)
    for i in range(4):
        state, cam = jax.tree.map(lambda x: x[i], states), jax.tree.map(lambda x: x[i], cams)
        dirs = ray_directions(cam, 16, 16, ST.fov_y_deg)
        t, _ = jax.jit(lambda s, c, d: march(ST, s.skip, c.pos, d, ST.render_steps))(state, cam, dirs)
        t_ref, _ = jax.jit(lambda s, c, d: _reference_march(ST, s.skip, c.pos, d, ST.render_steps))(state, cam, dirs)
        np.testing.assert_allclose(np.asarray(t), np.asarray(t_ref), rtol=1e-5)
        voxel = lambda t: np.floor(np.asarray(cam.pos)[:, None] + np.asarray(t)[None] * np.stack(dirs) + 1e-3 * np.sign(np.stack(dirs)))  # noqa: E731
        np.testing.assert_array_equal(voxel(t), voxel(t_ref))


def test_nearest_mob_ties_go_to_the_lower_slot():
    """The nearest mob is one reduction over the slots (issue 34): equally near mobs show the lower
    slot, as the old running best did, whatever order the slots were filled in."""
    st = WorldStatic(size_x=16, size_y=16, size_z=16, height=16, width=16, max_mobs=3, num_interactables=2,
                     render_steps=24, view_distance=30.0)
    rend = jax.jit(lambda s, c: render(st, s, c))
    state = set_blocks(empty_world(st), jnp.asarray([[8, 8, 12]]), STONE)
    pos = jnp.asarray([8.5, 7.9, 6.0])
    state = place_mob(place_mob(state, 2, 0, pos), 1, 0, pos)          # slots 1 and 2: the same pig box
    f = rend(state, cam((8.5, 8.5, 2.0)))
    assert int(f.obj_id[8, 8]) == int(mob_id(st, 1))
    np.testing.assert_allclose(float(f.depth[8, 8]), 3.55, atol=1e-4)
    state = place_mob(state, 0, 1, pos + jnp.asarray([0.0, 0.0, 1.0]))  # a cow behind them changes nothing
    assert int(rend(state, cam((8.5, 8.5, 2.0))).obj_id[8, 8]) == int(mob_id(st, 1))
