"""Crashed simulators during bridged training: truncation (not termination), bootstrapped GAE,
training continues, lost episodes counted, no hang."""
import dataclasses
import os
import signal
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcraft.config import BridgeLoadConfig, load_experiment
from jaxcraft.ppo import generalized_advantage_estimation
from jaxcraft.build import make_trainer
from jaxcraft.train.trajectory import stack_fragments

pytestmark = pytest.mark.slow

TINY = __import__("pathlib").Path(__file__).parent / "_bridged_tiny_experiment.py"


def numpy_gae(r, v, boot, term, trunc, v_final, gamma, lam):
    """Independent loop oracle: a crashed (truncated) step bootstraps from v_final, no carry-over."""
    T, B = r.shape
    adv = np.zeros((T, B))
    for b in range(B):
        a_next = 0.0
        for t in reversed(range(T)):
            v_next = boot[b] if t == T - 1 else v[t + 1, b]
            if term[t, b]:
                v_next, cont = 0.0, 0.0
            elif trunc[t, b]:
                v_next, cont = v_final[t, b], 0.0
            else:
                cont = 1.0
            a_next = r[t, b] + gamma * v_next - v[t, b] + gamma * lam * cont * a_next
            adv[t, b] = a_next
    return adv


@pytest.fixture(scope="module")
def trainer():
    cfg = load_experiment(TINY)
    # Slow steps so that a kill lands mid-step; no natural episode ends (truncation or termination)
    # to confuse the count: an env whose episode had just ended when its worker died lost nothing.
    cfg = dataclasses.replace(cfg, env=dataclasses.replace(cfg.env, max_episode_steps=1000),
                              bridge=dataclasses.replace(cfg.bridge, load=BridgeLoadConfig(latency_s=0.01, terminate_prob=0.0),
                                                         max_policy_lag=100))
    with make_trainer(cfg) as t:
        yield t


def test_killed_worker_is_a_bootstrapped_truncation_and_training_continues(trainer):
    state = trainer.init(jax.random.key(0))
    state, m0 = trainer.run(state, 1)
    victim = trainer.pool.worker_pids()[0]
    os.kill(victim, signal.SIGKILL)
    # Training goes on with the other worker's envs while the victim restarts (no hang, no
    # error); the restarted worker's envs report their lost episodes once it is up again, and
    # its two envs may report in different batches (the pool returns whichever envs are ready).
    rows = []
    for _ in range(40):
        state, m = trainer.run(state, 1)
        rows.append(m)
        if m["lost_episodes"][-1] >= 2:
            break
    m1 = {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}
    assert m1["update"].tolist() == list(range(2, 2 + len(rows)))
    assert np.isfinite(m1["loss"]).all()
    assert m1["worker_restarts"][-1] >= 1 and victim not in trainer.pool.worker_pids()
    assert m1["lost_episodes"][-1] == 2               # worker 0 hosted 2 envs: their episodes were lost
    assert m0["crashed_episodes"].sum() == 0

    # The crash shows up in the trained data as truncated, never terminated, then a reset.
    frags = trainer.collect(state, 8) if m1["crashed_episodes"].sum() == 0 else []
    params = state.ppo.params
    seen = m1["crashed_episodes"].sum()
    for f in frags:
        seen += f.crashed.sum()
        for t in np.flatnonzero(f.crashed):
            assert f.truncated[t] and not f.terminated[t]
            if t + 1 < len(f.reset):
                assert f.reset[t + 1]
            assert f.v_final[t] != 0.0
    assert seen >= 1


def test_crash_flags_flow_into_bootstrapped_gae(trainer):
    state = trainer.init(jax.random.key(3))
    trainer.collect(state, 1)                        # simulators running
    os.kill(trainer.pool.worker_pids()[1], signal.SIGKILL)
    crashed = []
    for _ in range(30):   # the victim's envs report once their restarted worker is up
        crashed += [f for f in trainer.collect(state, 4) if f.crashed.any()]
        if len(crashed) >= 2:
            break
    assert crashed, "the killed worker's envs must report a crash"
    for f in crashed:
        t = int(np.flatnonzero(f.crashed)[0])
        assert f.truncated[t] and not f.terminated[t]
        if f.reward[t] == 0.0 and t + 1 < len(f.reset):
            # killed mid-step: final_obs is o_t, valued with the carry after o_t (feed-forward: v(o_t))
            np.testing.assert_allclose(f.v_final[t], f.value[t], atol=1e-5)
    batch = stack_fragments(crashed)
    cfg = trainer.config.ppo
    adv, _ = generalized_advantage_estimation(
        jnp.asarray(batch.reward), jnp.asarray(batch.value), jnp.asarray(batch.bootstrap_value),
        jnp.asarray(batch.terminated), jnp.asarray(batch.truncated), jnp.asarray(batch.v_final),
        cfg.gamma, cfg.gae_lambda)
    ref = numpy_gae(batch.reward, batch.value, batch.bootstrap_value, batch.terminated, batch.truncated,
                    batch.v_final, cfg.gamma, cfg.gae_lambda)
    np.testing.assert_allclose(np.asarray(adv), ref, rtol=1e-4, atol=1e-4)
    # ... and differs from treating the crash as a termination (v_final would be ignored)
    as_term = numpy_gae(batch.reward, batch.value, batch.bootstrap_value, batch.terminated | batch.crashed,
                        np.zeros_like(batch.truncated), batch.v_final, cfg.gamma, cfg.gae_lambda)
    assert not np.allclose(ref, as_term)
