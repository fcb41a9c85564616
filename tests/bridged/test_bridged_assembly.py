"""Trajectory assembly under out-of-order async returns vs stepping each env on its own."""
import numpy as np
import pytest

from bridge import Pool, PoolConfig
from bridge.adapters.load_sim import LoadSimConfig, LoadSimFactory
from jaxcraft.train.trajectory import stack_fragments
from jaxcraft.train.bridged.trajectory_assembly import StepResult, StepStart, TrajectoryAssembler

pytestmark = pytest.mark.slow

T = 5
SIM = LoadSimConfig(frame_shape=(2, 2, 3), num_actions=3, episode_length=7, terminate_prob=0.1,
                    latency_median_s=0.001, latency_sigma=1.0)


def policy(state):
    """Deterministic 'policy' on the sim's debug state [t, h]: action, log-prob, value."""
    t, h = state[..., 0], state[..., 1]
    action = (h + 7 * t) % SIM.num_actions
    return action, -(action + 1.0) / 10, (h % 97 + t).astype(np.float32)


def reference_fragments(env_id, seed, num_fragments):
    """Step env `env_id` alone (as a worker would: auto-reset with seed None), cut into fragments."""
    sim = LoadSimFactory(SIM)(env_id)
    obs, reset = sim.reset(seed + env_id), True
    ret, length = 0.0, 0
    steps = []
    for _ in range(num_fragments * T + 1):
        a, lp, v = policy(obs["state"])
        steps.append(dict(state=obs["state"].copy(), pov=obs["pov"].copy(), reset=reset, action=a, log_prob=lp,
                          value=v))
        nxt, r, term, trunc = sim.step({"action": np.asarray(a)})
        ret, length = ret + r, length + 1
        done = term or trunc
        steps[-1].update(reward=r, terminated=term, truncated=trunc, episode_return=ret, episode_length=length,
                         v_final=policy(nxt["state"])[2] if trunc else 0.0)
        if done:
            nxt, ret, length = sim.reset(None), 0.0, 0
        obs, reset = nxt, done
    return [(steps[k * T:(k + 1) * T], steps[(k + 1) * T]["value"]) for k in range(num_fragments)]


def collect(pool, assembler, num_fragments, batches_seen):
    out = {}
    pool.async_reset()
    while min((len(v) for v in out.values()), default=0) < num_fragments or len(out) < pool.num_envs:
        b = pool.recv()
        batches_seen.append(tuple(b.env_ids.tolist()))
        done = b.terminated | b.truncated
        reset = assembler.reset_flags(b.env_ids, done)
        a, lp, v = policy(b.obs["state"])
        pool.send(a, b.env_ids)
        v_final = policy(b.final_obs["state"])[2]
        assembler.add_results(b.env_ids, StepResult(b.reward, b.terminated, b.truncated, b.crashed, v_final,
                                                    b.episode_return, b.episode_length))
        for f in assembler.add_starts(b.env_ids, StepStart(obs=dict(b.obs), reset=reset, carry=(), action=a,
                                                           log_prob=lp, value=v)):
            out.setdefault(f.env_ids, []).append(f)
    return out


def check_against_reference(fragments, seed, num_fragments):
    for e, frags in fragments.items():
        for f, (ref, boot) in zip(frags[:num_fragments], reference_fragments(e, seed, num_fragments)):
            np.testing.assert_array_equal(f.obs["state"], [s["state"] for s in ref], err_msg=f"env {e}")
            np.testing.assert_array_equal(f.obs["pov"], [s["pov"] for s in ref])
            for key in ("reset", "action", "terminated", "truncated", "episode_length"):
                np.testing.assert_array_equal(getattr(f, key), [s[key] for s in ref], err_msg=f"env {e} {key}")
            for key in ("log_prob", "value", "reward", "episode_return", "v_final"):
                np.testing.assert_allclose(getattr(f, key), [s[key] for s in ref], rtol=1e-6, err_msg=key)
            assert f.bootstrap_value == pytest.approx(boot)
            assert not f.crashed.any()


def test_async_pool_fragments_match_one_by_one_reference():
    n, seed, k = 6, 3, 3
    with Pool(LoadSimFactory(SIM), PoolConfig(num_envs=n, num_workers=2, batch_size=3, seed=seed)) as pool:
        batches = []
        frags = collect(pool, TrajectoryAssembler(n, T), k, batches)
    assert len(set(batches)) > 1, "recv always returned the same envs: nothing was out of order"
    assert sorted(frags) == list(range(n))
    check_against_reference(frags, seed, k)
    batch = stack_fragments([frags[e][0] for e in range(n)])
    assert batch.reward.shape == (T, n) and batch.obs["pov"].shape == (T, n, 2, 2, 3)
    assert batch.env_ids.tolist() == list(range(n)) and batch.carry == ()


def test_assembler_with_random_arrival_order_in_process():
    """Deterministic variant: envs stepped in-process, a random subset each 'recv'."""
    n, seed, k = 5, 11, 4
    rng = np.random.default_rng(0)
    sims = [LoadSimFactory(SIM)(e) for e in range(n)]
    obs = [s.reset(seed + e) for e, s in enumerate(sims)]
    last = [dict(reward=0.0, terminated=False, truncated=False, ret=0.0, len=0, final=None) for _ in range(n)]
    asm, frags = TrajectoryAssembler(n, T), {}
    for _ in range(400):
        ids = np.sort(rng.choice(n, size=rng.integers(1, n + 1), replace=False))[::-1]  # descending too
        st = np.stack([obs[e]["state"] for e in ids])
        done = np.array([last[e]["terminated"] or last[e]["truncated"] for e in ids])
        reset = asm.reset_flags(ids, done)
        a, lp, v = policy(st)
        fin = np.stack([last[e]["final"] if last[e]["final"] is not None else np.zeros(2, np.int64) for e in ids])
        asm.add_results(ids, StepResult(np.array([last[e]["reward"] for e in ids]), np.array([last[e]["terminated"] for e in ids]),
                                        np.array([last[e]["truncated"] for e in ids]), np.zeros(len(ids), bool),
                                        policy(fin)[2], np.array([last[e]["ret"] for e in ids]),
                                        np.array([last[e]["len"] for e in ids])))
        start = StepStart(obs={"state": st, "pov": np.stack([obs[e]["pov"] for e in ids])}, reset=reset, carry=(),
                          action=a, log_prob=lp, value=v)
        for f in asm.add_starts(ids, start):
            frags.setdefault(f.env_ids, []).append(f)
        for j, e in enumerate(ids):
            nxt, r, term, trunc = sims[e].step({"action": np.asarray(a[j])})
            ret, ln = (0.0 if last[e]["terminated"] or last[e]["truncated"] else last[e]["ret"]) + r, \
                      (0 if last[e]["terminated"] or last[e]["truncated"] else last[e]["len"]) + 1
            last[e] = dict(reward=r, terminated=term, truncated=trunc, ret=ret, len=ln,
                           final=nxt["state"] if (term or trunc) else None)
            obs[e] = sims[e].reset(None) if (term or trunc) else nxt
    assert all(len(frags.get(e, [])) >= k for e in range(n))
    check_against_reference(frags, seed, k)


def test_opening_a_step_twice_is_an_error():
    asm = TrajectoryAssembler(2, 3)
    z = np.zeros(1)
    start = StepStart(obs=np.zeros((1, 2)), reset=np.ones(1, bool), carry=(), action=z, log_prob=z, value=z)
    asm.add_starts(np.array([1]), start)
    with pytest.raises(RuntimeError, match=r"envs \[1\]"):
        asm.add_starts(np.array([1]), start)


def test_carry_is_kept_at_chunk_starts_only():
    """Envs arrive in random subsets; each env's carry is its own step count. A fragment of T = 6 with
    chunks of 3 must hold the carries of its steps 0 and 3 (hand-derived: 6k and 6k + 3)."""
    n, chunk, k = 3, 3, 4
    rng = np.random.default_rng(1)
    asm, frags, steps = TrajectoryAssembler(n, 6, carry_every=chunk), {}, np.zeros(n, np.int64)
    while min((len(frags.get(e, [])) for e in range(n))) < k:
        ids = rng.choice(n, size=rng.integers(1, n + 1), replace=False)
        z = np.zeros(len(ids))
        asm.add_results(ids, StepResult(z, z.astype(bool), z.astype(bool), z.astype(bool), z, z, z))
        start = StepStart(obs=z, reset=steps[ids] == 0, carry={"h": np.stack([steps[ids], ids], -1)},
                          action=z, log_prob=z, value=z)
        for f in asm.add_starts(ids, start):
            frags.setdefault(f.env_ids, []).append(f)
        steps[ids] += 1
    for e, fs in frags.items():
        for j, f in enumerate(fs):
            np.testing.assert_array_equal(f.carry["h"], [[6 * j, e], [6 * j + 3, e]], err_msg=f"env {e} fragment {j}")
    batch = stack_fragments([frags[e][0] for e in range(n)])
    assert batch.carry["h"].shape == (2, n, 2) and batch.reward.shape == (6, n)


def test_carry_every_must_divide_the_rollout():
    with pytest.raises(ValueError, match="carry_every=4 must be >= 1 and divide rollout_len=6"):
        TrajectoryAssembler(2, 6, carry_every=4)
