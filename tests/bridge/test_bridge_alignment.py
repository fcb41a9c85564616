"""The pool must reproduce the same simulators stepped directly in this process."""
import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from bridge import BridgeVectorEnv, Pool, PoolConfig
from bridge.adapters.gymnasium_env import GymnasiumFactory
from bridge.adapters.load_sim import LoadSimConfig, LoadSimEnv, LoadSimFactory

N, W, SEED, STEPS = 5, 2, 11, 40
CFG = LoadSimConfig(frame_shape=(6, 5, 3), num_actions=4, episode_length=9, terminate_prob=0.08)


def reference_rollout(make_env, actions, seed):
    """In-process oracle with same-step auto-reset: (obs, reward, term, trunc, final, ret, len)."""
    envs = [make_env() for _ in range(N)]
    obs = [e.reset(seed=seed + i)[0] for i, e in enumerate(envs)]
    ret, length = np.zeros(N), np.zeros(N, int)
    trace = [dict(obs=[o for o in obs])]
    for a in actions:
        step = dict(obs=[], reward=[], term=[], trunc=[], final={}, ret=[], len=[])
        for i, e in enumerate(envs):
            o, r, te, tr, _ = e.step(a[i])
            ret[i] += r
            length[i] += 1
            step["ret"].append(ret[i]); step["len"].append(length[i])
            if te or tr:
                step["final"][i] = o
                o, _ = e.reset()
                ret[i], length[i] = 0.0, 0
            step["obs"].append(o); step["reward"].append(r)
            step["term"].append(te); step["trunc"].append(tr)
        trace.append(step)
    return trace


def as_dict(o):
    return o if isinstance(o, dict) else {"obs": o}


def check_batch(batch, ref):
    assert batch.env_ids.tolist() == list(range(N))
    for i in range(N):
        for k, v in as_dict(ref["obs"][i]).items():
            np.testing.assert_array_equal(batch.obs[k][i], v)


def test_load_sim_pool_matches_in_process_envs():
    rng = np.random.default_rng(0)
    actions = rng.integers(0, CFG.num_actions, (STEPS, N))
    ref = reference_rollout(lambda: LoadSimEnv(CFG), actions, SEED)
    ended = 0
    with Pool(LoadSimFactory(CFG), PoolConfig(num_envs=N, num_workers=W, seed=SEED)) as pool:
        check_batch(pool.reset(), ref[0])
        for t, a in enumerate(actions):
            b, r = pool.step(a), ref[t + 1]
            check_batch(b, r)
            np.testing.assert_array_equal(b.reward, r["reward"])
            np.testing.assert_array_equal(b.terminated, r["term"])
            np.testing.assert_array_equal(b.truncated, r["trunc"])
            np.testing.assert_array_equal(b.episode_length, r["len"])
            np.testing.assert_allclose(b.episode_return, r["ret"], rtol=0, atol=1e-12)
            assert not b.crashed.any()
            for i in range(N):
                if i in r["final"]:
                    ended += 1
                    for k, v in r["final"][i].items():
                        np.testing.assert_array_equal(b.final_obs[k][i], v)
                else:
                    assert not b.final_obs["pov"][i].any()
    assert ended >= 5  # the rollout really crossed episode boundaries (both kinds)
    assert any(any(s["term"]) for s in ref[1:]) and any(any(s["trunc"]) for s in ref[1:])


def test_async_pool_matches_in_process_envs_in_any_order():
    """Stepping env by env through send/recv gives each env the same trajectory."""
    rng = np.random.default_rng(1)
    actions = rng.integers(0, CFG.num_actions, (12, N))
    ref = reference_rollout(lambda: LoadSimEnv(CFG), actions, SEED)
    cursor = np.zeros(N, int)
    with Pool(LoadSimFactory(CFG), PoolConfig(num_envs=N, num_workers=W, seed=SEED,
                                              batch_size=2)) as pool:
        pool.async_reset()
        outstanding = N  # envs sent (or reset) and not yet received
        while outstanding:
            b = pool.recv(min(2, outstanding))
            outstanding -= len(b)
            for j, e in enumerate(b.env_ids.tolist()):
                t = cursor[e]
                exp = as_dict(ref[t]["obs"][e])
                np.testing.assert_array_equal(b.obs["pov"][j], exp["pov"])
                if t:
                    assert b.reward[j] == ref[t]["reward"][e]
            live = b.env_ids[cursor[b.env_ids] < 12]
            acts = actions[cursor[live], live]
            cursor[live] += 1
            if len(live):
                pool.send(acts, live)
                outstanding += len(live)
    assert (cursor == 12).all()


def test_gymnasium_cartpole_via_pool_and_facade_matches_sync_vector_env():
    rng = np.random.default_rng(2)
    actions = rng.integers(0, 2, (60, N))
    ref_env = SyncVectorEnv([lambda: gym.make("CartPole-v1")] * N,
                            autoreset_mode=AutoresetMode.SAME_STEP)
    env = BridgeVectorEnv(GymnasiumFactory("CartPole-v1"), num_envs=N, num_workers=W)
    try:
        assert env.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
        assert env.single_observation_space == ref_env.single_observation_space
        assert env.action_space == ref_env.action_space
        o1, _ = env.reset(seed=SEED)
        o2, _ = ref_env.reset(seed=SEED)
        np.testing.assert_array_equal(o1, o2)
        finished = 0
        for a in actions:
            o1, r1, te1, tr1, i1 = env.step(a)
            o2, r2, te2, tr2, i2 = ref_env.step(a)
            np.testing.assert_array_equal(o1, o2)
            np.testing.assert_array_equal(r1, r2)
            np.testing.assert_array_equal(te1, te2)
            np.testing.assert_array_equal(tr1, tr2)
            if te2.any() or tr2.any():
                finished += int((te2 | tr2).sum())
                np.testing.assert_array_equal(i1["_final_obs"], i2["_final_obs"])
                for i in np.flatnonzero(i2["_final_obs"]):
                    np.testing.assert_array_equal(i1["final_obs"][i], i2["final_obs"][i])
                assert (i1["episode"]["l"][te2 | tr2] > 0).all()
            else:
                assert i1 == {}
        assert finished > 0
    finally:
        env.close()
        ref_env.close()


def test_crafter_pool_matches_in_process_crafter():
    pytest.importorskip("crafter")
    from bridge.adapters.crafter_env import CrafterEnv, CrafterFactory
    rng = np.random.default_rng(3)
    actions = rng.integers(0, 17, (15, 2))
    ref = [CrafterEnv(length=10) for _ in range(2)]
    obs = [e.reset(seed=SEED + i)[0] for i, e in enumerate(ref)]
    with Pool(CrafterFactory(length=10), PoolConfig(num_envs=2, num_workers=2, seed=SEED)) as pool:
        b = pool.reset()
        for i in range(2):
            np.testing.assert_array_equal(b.obs["obs"][i], obs[i])
        for a in actions:
            b = pool.step(a)
            for i, e in enumerate(ref):
                o, r, te, tr, _ = e.step(a[i])
                assert (b.reward[i], b.terminated[i], b.truncated[i]) == (r, te, tr)
                if te or tr:
                    np.testing.assert_array_equal(b.final_obs["obs"][i], o)
                    o, _ = e.reset()
                np.testing.assert_array_equal(b.obs["obs"][i], o)
        assert b.episode_length.tolist() == [5, 5]  # length 10 truncation passed once
