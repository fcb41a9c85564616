"""Physics, actions, interactions, batching and auto-reset of JaxCraftEnv on tiny worlds."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcraft.envs import BatchedEnv, MultiDiscrete
from jaxcraft.world import (JaxCraftEnv, WorldStatic, actions as A, empty_world, mob_id, place_agent, place_mob,
                            set_blocks, voxel_id)
from jaxcraft.world.blocks import BLOCKS, block_id

ST = WorldStatic(size_x=16, size_y=16, size_z=16, height=16, width=16, max_mobs=2, num_interactables=2,
                 render_steps=12)
ENV = JaxCraftEnv(ST)
P = ENV.default_params
FLOOR = 4     # solid for y < 4: feet rest at y = 4


@pytest.fixture(scope="module")
def step():
    return jax.jit(ENV.step_env)


def floor_world(extra=(), kind="stone"):
    """Stone floor y < FLOOR, agent at (8.5, FLOOR, 3.5) looking along +z, plus extra blocks."""
    xs, ys, zs = np.meshgrid(np.arange(16), np.arange(FLOOR), np.arange(16), indexing="ij")
    cells = np.stack([xs.ravel(), ys.ravel(), zs.ravel()], -1)
    kinds = np.full(len(cells), block_id("stone"))
    if extra:
        cells = np.concatenate([cells, np.asarray([e[0] for e in extra])])
        kinds = np.concatenate([kinds, [block_id(e[1]) for e in extra]])
    s = set_blocks(empty_world(ST), jnp.asarray(cells), jnp.asarray(kinds))
    return place_agent(s, jnp.asarray([8.5, FLOOR + 0.001, 3.5]), 0.0, 0.0)


def run(step, state, actions):
    out = []
    for i, a in enumerate(actions):
        obs, state, r, term, trunc, info = step(jax.random.key(i), state, a, P)
        out.append((state, r, info))
    return state, out


def np_overlaps_solid(blocks, pos, hw=0.3, h=1.8):
    """NumPy oracle: does the agent box overlap a non-air voxel?"""
    lo = np.asarray(pos) - [hw, 0, hw]
    hi = np.asarray(pos) + [hw, h, hw]
    a = np.floor(lo + 1e-5).astype(int)
    b = np.floor(hi - 1e-5).astype(int)
    for x in range(a[0], b[0] + 1):
        for y in range(a[1], b[1] + 1):
            for z in range(a[2], b[2] + 1):
                if 0 <= x < 16 and 0 <= y < 16 and 0 <= z < 16 and blocks[x, y, z] != 0:
                    return True
    return False


def test_spaces_and_noop():
    space = ENV.action_space(P)
    assert isinstance(space, MultiDiscrete) and space.nvec == (2,) * 9 + (11, 11)
    assert space.names[:2] == ("forward", "back") and space.names[-2:] == ("camera_pitch", "camera_yaw")
    assert ENV.observation_space(P)["rgb"].shape == (16, 16, 3)
    deg = A.camera_bin_degrees()
    assert deg[5] == 0 and deg[10] == pytest.approx(10.0) and deg[0] == pytest.approx(-10.0)
    assert deg[6] == pytest.approx(11 ** 0.2 - 1, rel=1e-5)          # mu-law: ((1+10)^0.2 − 1)/10·10


def test_invalid_action_shape_is_a_clear_error(step):
    s = floor_world()
    with pytest.raises(ValueError, match="action must have shape"):
        ENV.step_env(jax.random.key(0), s, jnp.zeros((9,), jnp.int32), P)
    with pytest.raises(ValueError, match="integer"):
        ENV.step_env(jax.random.key(0), s, jnp.zeros((11,), jnp.float32), P)


def test_falls_to_ground_and_rests(step):
    s = place_agent(floor_world(), jnp.asarray([8.5, 9.0, 8.5]))
    s, out = run(step, s, [A.noop()] * 40)
    assert abs(float(s.agent.pos[1]) - FLOOR) < 0.01 and bool(s.agent.on_ground)
    ys = [float(o[0].agent.pos[1]) for o in out]
    assert all(a >= b - 1e-6 for a, b in zip(ys, ys[1:]))                 # monotone fall


def test_one_block_step_needs_jump_two_blocks_cannot_be_climbed(step):
    wall1 = [((x, FLOOR, 7), "stone") for x in range(16)]
    s, _ = run(step, floor_world(wall1), [A.make_action(forward=1)] * 30)
    assert float(s.agent.pos[2]) < 7 - 0.3 + 1e-3 and float(s.agent.pos[1]) < FLOOR + 0.01
    s, _ = run(step, floor_world(wall1), [A.make_action(forward=1, jump=1)] * 20 + [A.noop()] * 15)
    assert float(s.agent.pos[2]) > 7.3 and abs(float(s.agent.pos[1]) - (FLOOR + 1)) < 0.01
    wall2 = wall1 + [((x, FLOOR + 1, 7), "stone") for x in range(16)]
    s, _ = run(step, floor_world(wall2), [A.make_action(forward=1, jump=1)] * 40)
    assert float(s.agent.pos[2]) < 7 - 0.3 + 1e-3


def test_never_inside_solid_under_random_actions(step):
    from jaxcraft.world import default_params, generate
    s = jax.jit(lambda k: generate(ST, default_params(), k))(jax.random.key(5))
    space = ENV.action_space(P)
    key = jax.random.key(11)
    for t in range(60):
        key, ka = jax.random.split(key)
        a = space.sample(ka).at[0].set(1)                                # mostly walk forward
        _, s, *_ = step(jax.random.key(t), s, a, P)
        assert not np_overlaps_solid(np.asarray(s.blocks), np.asarray(s.agent.pos)), t


def test_breaking_takes_exactly_hardness_ticks(step):
    target = (8, FLOOR, 5)
    params = P.replace(hardness=P.hardness.at[block_id("oak_log")].set(5))
    s = place_agent(floor_world([(target, "oak_log")]), jnp.asarray([8.5, FLOOR + 0.001, 3.5]), 0.0,
                    -math.atan2(1.62 - 0.5, 1.5))                       # look at the log's centre
    flat = int(voxel_id(ST, jnp.asarray(target))) - 1
    events = []
    for i in range(6):
        _, s, r, _, _, info = ENV.step_env(jax.random.key(i), s, A.make_action(attack=1), params)
        events.append((int(info["broken_voxel"]), float(r)))
    assert [e[0] for e in events[:4]] == [-1] * 4 and events[4][0] == flat
    assert events[4][1] == pytest.approx(BLOCKS[block_id("oak_log")].reward)
    assert int(s.blocks[target]) == 0
    # Releasing attack restarts the count.
    s2 = place_agent(floor_world([(target, "dirt")]), jnp.asarray([8.5, FLOOR + 0.001, 3.5]), 0.0,
                     -math.atan2(1.62 - 0.5, 1.5))
    acts = [A.make_action(attack=1)] * 2 + [A.noop()] + [A.make_action(attack=1)] * 2
    s2, out = run(step, s2, acts)
    assert all(int(o[2]["broken_voxel"]) == -1 for o in out)          # dirt hardness 3: 2 + 2 < 3 each
    s2, out = run(step, s2, [A.make_action(attack=1)])
    assert int(out[0][2]["broken_voxel"]) >= 0


def test_use_toggles_interactable_on_press(step):
    target = (8, FLOOR, 5)
    s = place_agent(floor_world([(target, "lever_off")]), jnp.asarray([8.5, FLOOR + 0.001, 3.5]), 0.0,
                    -math.atan2(1.62 - 0.5, 1.5))
    acts = [A.make_action(use=1)] * 3 + [A.noop(), A.make_action(use=1)]
    s, out = run(step, s, acts)
    kinds = [int(o[0].blocks[target]) for o in out]
    on, off = block_id("lever_on"), block_id("lever_off")
    assert kinds == [on, on, on, on, off]
    assert int(out[0][2]["used_voxel"]) == int(voxel_id(ST, jnp.asarray(target))) - 1
    assert int(out[1][2]["used_voxel"]) == -1


def test_attack_damages_and_kills_mob(step):
    s = floor_world()
    s = place_mob(s, 1, 1, jnp.asarray([8.5, FLOOR + 0.001, 5.5]), health=3.0)   # a cow 2 blocks ahead
    s = place_agent(s, jnp.asarray([8.5, FLOOR + 0.001, 3.5]), 0.0, -0.35)
    s, out = run(step, s, [A.make_action(attack=1)] * 3)
    assert [int(o[2]["hit_mob"]) for o in out] == [1, 1, 1]
    assert [int(o[2]["killed_mob"]) for o in out] == [-1, -1, 1]
    assert int(out[0][2]["target_id"]) == int(mob_id(ST, 1))
    assert float(out[2][1]) == pytest.approx(float(P.kill_reward)) and not bool(s.mobs.alive[1])


def test_vmap_matches_single_env_steps(step):
    from jaxcraft.world import default_params, generate
    states = jax.jit(jax.vmap(lambda k: generate(ST, default_params(), k)))(jax.random.split(jax.random.key(2), 3))
    acts = jnp.asarray([A.make_action(forward=1, attack=1), A.make_action(jump=1, camera_yaw_bin=8),
                        A.make_action(back=1, camera_pitch_bin=1)])
    keys = jax.random.split(jax.random.key(9), 3)
    vstep = jax.jit(jax.vmap(ENV.step_env, in_axes=(0, 0, 0, None)))
    vs, batched = states, []
    for t in range(3):
        vo, vs, vr, *_ = vstep(keys, vs, acts, P)
    for i in range(3):
        s = jax.tree.map(lambda x: x[i], states)
        for t in range(3):
            o, s, r, *_ = step(keys[i], s, acts[i], P)
        np.testing.assert_array_equal(np.asarray(o["rgb"]), np.asarray(vo["rgb"][i]))
        np.testing.assert_allclose(np.asarray(s.agent.pos), np.asarray(vs.agent.pos[i]), atol=1e-5)


def test_batched_env_auto_reset_from_pool():
    params = P.replace(max_steps_in_episode=jnp.asarray(2, jnp.int32))
    be = BatchedEnv(ENV, params, pool_size=2, refresh_per_step=1)
    st = jax.jit(be.reset)(jax.random.split(jax.random.key(0), 2), jax.random.key(1))
    bstep = jax.jit(be.step)
    acts = jnp.stack([A.noop(), A.make_action(forward=1)])
    dones = []
    for t in range(3):
        pool_obs = st.pool_obs["rgb"]
        st, out = bstep(st, acts, jax.random.split(jax.random.key(10 + t), 2))
        dones.append(np.asarray(out.info["done"]))
        if t == 1:                                       # time limit 2: both envs restart from the pool
            assert np.asarray(out.truncated).all() and not np.asarray(out.terminated).any()
            np.testing.assert_array_equal(np.asarray(st.obs["rgb"]), np.asarray(pool_obs))
            assert (np.asarray(st.env_state.time) == 0).all()
    assert [d.tolist() for d in dones] == [[False, False], [True, True], [False, False]]


def test_pool_refresh_equals_the_batched_reset_of_its_keys():
    """A refreshed pool world (generated one reset after another, `lax.map`) equals, bit for bit,
    the vmapped reset of the same keys — the program the initial reset of envs and pool runs."""
    params = P.replace(max_steps_in_episode=jnp.asarray(1, jnp.int32))
    be = BatchedEnv(ENV, params, pool_size=3, refresh_per_step=2)
    st = jax.jit(be.reset)(jax.random.split(jax.random.key(0), 2), jax.random.key(1))
    sub = jax.random.split(st.pool_key[0])[1]
    st2, out = jax.jit(be.step)(st, jnp.stack([A.noop(), A.noop()]), jax.random.split(jax.random.key(5), 2))
    assert np.asarray(out.info["done"]).all()                 # both envs finish: cursor 0 -> 2
    ref_obs, ref_state = jax.jit(jax.vmap(ENV.reset_env, in_axes=(0, None)))(jax.random.split(sub, 2), params)
    for got, want in zip(jax.tree.leaves((st2.pool_obs, st2.pool_state)), jax.tree.leaves((ref_obs, ref_state))):
        np.testing.assert_array_equal(np.asarray(got)[:2], np.asarray(want))    # slots 0, 1 = cursor - 2 …
    for got, old in zip(jax.tree.leaves(st2.pool_state), jax.tree.leaves(st.pool_state)):
        np.testing.assert_array_equal(np.asarray(got)[2], np.asarray(old)[2])    # slot 2 untouched
