"""The bridged JaxCraft world (`jaxcraft.world.bridge_sim`) steps exactly like the in-process world.

Reference: `JaxCraftEnv.reset_env` / `step_env` called directly (own jit, own key schedule
written out here), compared with the adapter stepped in-process and through a 1-worker
`bridge.Pool` (spawn-context worker, auto-reset on the time limit), on a tiny world.
"""
import jax
import numpy as np
import pytest
from _codegen import in_default_codegen, rerun_under_default_codegen

from bridge import InvalidActionError, Pool, PoolConfig
from jaxcraft.config import EnvConfig, ExperimentConfig
from jaxcraft.config import BridgeConfig
from jaxcraft.world import JaxCraftEnv, WorldStatic, actions, default_params
from jaxcraft.world.bridge_sim import WorldSimFactory

pytestmark = pytest.mark.slow

TINY = WorldStatic(size_x=16, size_z=16, size_y=16, height=16, width=16)
MAX_STEPS = 25       # short episodes: the sequences below cross two time limits (auto-resets)
NUM_STEPS = 60
SEED = 110           # world SEED with _actions(SEED) breaks a rewarding block at step 57 (3rd episode)


def _actions(seed: int, n: int = NUM_STEPS) -> np.ndarray:
    """Random valid actions: attack held 90 % of the time, small camera turns (to earn rewards)."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, actions.NVEC, (n, len(actions.NVEC))).astype(np.int32)
    a[:, actions.BUTTONS.index("attack")] = rng.random(n) < 0.9
    a[:, actions.BUTTONS.index("use")] = rng.random(n) < 0.3
    a[:, len(actions.BUTTONS):] = rng.integers(3, 8, (n, 2))
    return a


class Reference:
    """One world driven by direct reset_env/step_env calls with the documented key schedule."""

    env = JaxCraftEnv(TINY)
    params = default_params().replace(max_steps_in_episode=np.int32(MAX_STEPS))
    _reset = staticmethod(jax.jit(env.reset_env))
    _step = staticmethod(jax.jit(env.step_env))

    def __init__(self, seed: int):
        self.key = jax.random.key(seed)

    def reset(self):
        self.key, sub = jax.random.split(self.key)
        obs, self.state = self._reset(sub, self.params)
        return np.asarray(obs["rgb"])

    def step(self, action):
        self.key, sub = jax.random.split(self.key)
        obs, self.state, r, term, trunc, _ = self._step(sub, self.state, action, self.params)
        return np.asarray(obs["rgb"]), float(r), bool(term), bool(trunc)


@pytest.fixture(scope="module")
def factory():
    return WorldSimFactory(static=TINY, max_steps=MAX_STEPS)


@pytest.fixture(scope="module")
def pool(factory):
    with Pool(factory, PoolConfig(num_envs=2, num_workers=1, seed=SEED), spec=factory.spec()) as p:
        yield p


def test_spec_and_registration_match_the_fused_world(factory, pool):  # `pool`: its worker compiles meanwhile
    sim, spec = factory(0), factory.spec()
    assert (sim.spec.observation, sim.spec.max_episode_steps) == (spec.observation, spec.max_episode_steps)
    assert spec.observation["rgb"].shape == (16, 16, 3) and spec.observation["rgb"].dtype == np.uint8
    assert WorldSimFactory().spec().max_episode_steps == int(default_params().max_steps_in_episode) == 600
    assert spec.max_episode_steps == MAX_STEPS
    field = factory.spec().action["action"]
    assert field.dtype == np.int32 and field.shape == (11,)
    np.testing.assert_array_equal(field.high, np.asarray(actions.NVEC) - 1)

    from jaxcraft.build import make_bridged_env
    config = ExperimentConfig(env=EnvConfig(name="bridge:jaxcraft-world", num_envs=2, max_episode_steps=7),
                              bridge=BridgeConfig(frame_size=16))
    bridged = make_bridged_env(config)
    world = JaxCraftEnv(WorldStatic(height=16, width=16))
    assert bridged.observation_space == world.observation_space()
    assert bridged.action_space == world.action_space()
    assert bridged.action_space.names == actions.NAMES
    assert bridged.factory.max_steps == 7 and bridged.spec.max_episode_steps == 7
    assert bridged.policy_obs({"rgb": 1}) == {"rgb": 1}
    assert bridged.to_bridge_action(np.ones((2, 11), np.int64)).dtype == np.int32


def test_adapter_in_process_equals_direct_world_calls(factory):
    sim, ref = factory(0), Reference(seed=SEED)
    np.testing.assert_array_equal(sim.reset(seed=SEED)["rgb"], ref.reset())
    total, truncations = 0.0, 0
    for t, a in enumerate(_actions(SEED)):
        obs, r, term, trunc = sim.step({"action": a})
        obs_ref, r_ref, term_ref, trunc_ref = ref.step(a)
        np.testing.assert_array_equal(obs["rgb"], obs_ref, err_msg=f"step {t}")
        assert obs["rgb"].dtype == np.uint8 and obs["rgb"].shape == (16, 16, 3)
        assert (r, term, trunc) == (r_ref, term_ref, trunc_ref), t
        assert term is False and trunc == ((t + 1) % MAX_STEPS == 0)
        total += r
        truncations += trunc
        if trunc:  # what the bridge worker does: auto-reset continuing the simulator's key
            np.testing.assert_array_equal(sim.reset(None)["rgb"], ref.reset())
    assert truncations == NUM_STEPS // MAX_STEPS
    assert total > 0, "no reward earned, so rewards were not compared: pick a SEED whose sequence earns one"


def test_pool_worker_equals_direct_world_calls(request):
    """Bit for bit across two separately compiled programs (the worker's and the reference's):
    under XLA's default CPU code generation, in a child interpreter (tests/_codegen.py)."""
    if not in_default_codegen():
        return rerun_under_default_codegen(request.node.nodeid)
    pool = request.getfixturevalue("pool")
    refs = [Reference(seed=SEED + i) for i in range(2)]  # env i is seeded config.seed + i
    batch = pool.reset()
    for i, ref in enumerate(refs):
        np.testing.assert_array_equal(batch.obs["rgb"][i], ref.reset())
    acts = np.stack([_actions(SEED), _actions(SEED + 1)], axis=1)  # [T, env, 11]
    rewards = np.zeros(2)
    for t in range(NUM_STEPS):
        batch = pool.step(acts[t])
        for i, ref in enumerate(refs):
            obs_ref, r_ref, term_ref, trunc_ref = ref.step(acts[t, i])
            assert (batch.reward[i], bool(batch.terminated[i]), bool(batch.truncated[i])) == (r_ref, term_ref, trunc_ref)
            assert not batch.crashed[i]
            rewards[i] += batch.reward[i]
            if trunc_ref:  # same-step auto-reset: final_obs = last frame, obs = the next episode's first
                np.testing.assert_array_equal(batch.final_obs["rgb"][i], obs_ref, err_msg=f"env {i} step {t}")
                np.testing.assert_array_equal(batch.obs["rgb"][i], ref.reset(), err_msg=f"env {i} step {t}")
                assert batch.episode_length[i] == MAX_STEPS
            else:
                np.testing.assert_array_equal(batch.obs["rgb"][i], obs_ref, err_msg=f"env {i} step {t}")
    assert rewards[0] > 0, rewards


def test_invalid_actions_are_rejected_naming_the_field(factory, pool):
    sim = factory(0)
    sim.reset(seed=0)
    good = np.asarray(actions.noop())
    with pytest.raises(InvalidActionError, match=r"field 'action' has shape \(10,\), expected \(11,\)"):
        sim.step({"action": good[:10]})
    bad = good.copy()
    bad[actions.NAMES.index("camera_pitch")] = 11
    with pytest.raises(InvalidActionError, match=r"field 'action' index 9 \(camera_pitch\) is 11, outside \[0, 10\]"):
        sim.step({"action": bad})
    bad = good.copy()
    bad[actions.NAMES.index("jump")] = -1
    with pytest.raises(InvalidActionError, match=r"index 4 \(jump\) is -1"):
        sim.step({"action": bad})
    with pytest.raises(InvalidActionError, match=r"dtype float32"):
        sim.step({"action": good.astype(np.float32)})

    # Through the pool: rejected in the parent before anything reaches the worker.
    pool.reset()
    with pytest.raises(InvalidActionError, match=r"action field 'action' has shape \(2, 10\), expected \(2, 11\)"):
        pool.step(np.zeros((2, 10), np.int32))
    batched = np.stack([good, bad])
    batched[1, actions.NAMES.index("jump")] = 0
    batched[1, actions.NAMES.index("camera_yaw")] = 11
    with pytest.raises(InvalidActionError, match=r"env 1: action field 'action' value 11 is above the bound 10 at index \(10,\)"):
        pool.step(batched)
    assert pool.step(np.stack([good, good])).obs["rgb"].shape == (2, 16, 16, 3)  # still usable
