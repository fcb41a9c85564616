"""Per-env recurrent state through out-of-order batches, reset exactly at episode starts.

Oracle: with fixed params, re-running the network over each collected fragment *sequentially*
(its own env's steps only, from the fragment's first stored carry) must reproduce every value,
log-prob and stored carry that the actor computed batch by batch with envs in any order. The
carry is stored only before each PPO chunk (`ppo.chunk_len` = 2 of the 8 steps here: 4 kept).
"""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcraft.config import load_experiment
from jaxcraft.build import make_trainer
from jaxcraft.train.trajectory import stack_fragments

pytestmark = pytest.mark.slow

CHUNK = 2
TINY = __import__("pathlib").Path(__file__).parent / "_bridged_tiny_experiment.py"


@pytest.fixture(scope="module")
def collected():
    cfg = load_experiment(TINY)
    cfg = dataclasses.replace(cfg, net=dataclasses.replace(cfg.net, core_size=8),
                              ppo=dataclasses.replace(cfg.ppo, num_minibatches=1, chunk_len=CHUNK),
                              env=dataclasses.replace(cfg.env, max_episode_steps=5),
                              bridge=dataclasses.replace(cfg.bridge, recv_batch_size=2, num_workers=2))
    with make_trainer(cfg) as trainer:
        state = trainer.init(jax.random.key(1))
        frags = trainer.collect(state, 12)
        yield trainer, state, frags


def test_reset_flags_are_exactly_the_episode_starts(collected):
    _, _, frags = collected
    by_env = {}
    for f in frags:
        by_env.setdefault(f.env_ids, []).append(f)
    assert len(by_env) >= 2
    for e, fs in by_env.items():
        assert fs[0].reset[0], "the first observation after a reset starts an episode"
        for a, b in zip(fs, fs[1:]):
            assert b.reset[0] == a.done[-1]
        for f in fs:
            np.testing.assert_array_equal(f.reset[1:], f.done[:-1])
            # episode_length restarts at 1 after each reset
            np.testing.assert_array_equal(f.episode_length[f.reset], 1)
    assert sum(f.reset[1:].sum() for f in frags) >= 3, "episodes of ≤5 steps must restart inside fragments"


def test_sequential_replay_reproduces_actor_values_and_carries(collected):
    trainer, state, frags = collected
    params, net = state.ppo.params, trainer.network
    step = jax.jit(lambda c, o, r: net.apply(params, c, o[None], r[None]))
    for f in frags:
        assert f.carry.shape[0] == len(f.reset) // CHUNK, "one carry per chunk, not per step"
        carry = jnp.asarray(f.carry[0])[None]
        for t in range(len(f.reset)):
            if t % CHUNK == 0:
                np.testing.assert_allclose(f.carry[t // CHUNK], carry[0], atol=1e-5, err_msg=f"env {f.env_ids} t={t}")
            carry, logits, v = step(carry, jnp.asarray(f.obs[t])[None], jnp.asarray([f.reset[t]]))
            np.testing.assert_allclose(f.value[t], v[0, 0], atol=1e-5)
            lp = trainer.dist.log_prob(logits[0], jnp.asarray(f.action[t])[None])
            np.testing.assert_allclose(f.log_prob[t], lp[0], atol=1e-5)
            if f.reset[t]:  # the state was wiped: same output as from a zero carry
                _, _, v0 = step(jnp.zeros_like(carry), jnp.asarray(f.obs[t])[None], jnp.asarray([False]))
                np.testing.assert_allclose(f.value[t], v0[0, 0], atol=1e-5)


def test_update_reads_the_chunk_carries_as_it_would_per_step_ones(collected):
    """The same update from the fragments as collected (a carry per chunk) and from the same fragments
    with the carry replayed at every step (the layout kept before): the same params."""
    trainer, state, frags = collected
    params, net = state.ppo.params, trainer.network
    step = jax.jit(lambda c, o, r: net.apply(params, c, o[None], r[None])[0])
    per_step = []
    for f in frags[:4]:
        carry, carries = jnp.asarray(f.carry[0])[None], []
        for t in range(len(f.reset)):
            carries.append(np.asarray(carry[0]))
            carry = step(carry, jnp.asarray(f.obs[t])[None], jnp.asarray([f.reset[t]]))
        per_step.append(f._replace(carry=np.stack(carries)))
    keys, on_device = state.keys[:4], lambda fs: jax.tree.map(jnp.asarray, stack_fragments(fs))
    chunked, _, _ = trainer.learner.learn(state.ppo, on_device(frags[:4]), keys)
    stepped, _, _ = trainer.learner.learn(state.ppo, on_device(per_step), keys)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-6), chunked.params, stepped.params)
    assert not all(np.allclose(a, b) for a, b in zip(jax.tree.leaves(chunked.params), jax.tree.leaves(params)))
