"""The fused rollout keeps a recurrent net's carry only at PPO chunk starts, and nothing else changes.

Oracle: the same rollout built with `carry_every=1` (the carry before every step, the layout the
update sliced with `[::L]` before). Same params, keys and env: every trajectory field is equal,
the kept carry is the per-step carry at steps 0, L, 2L, …, and one PPO update from either
trajectory gives the same params. Run on bsuite's MemoryChain (4-step episodes end inside the
chunks, so resets fall mid-chunk) with a Transformer-XL core, whose carry is the one that is
large (layers × memory × width per env), and with the GRU.
"""
import dataclasses

import jax
import numpy as np
import pytest

from jaxcraft.build import make_trainer
from jaxcraft.config import load_experiment
from jaxcraft.train.fused.rollout import make_rollout

T, L, B = 16, 4, 4


def host(x):
    return np.asarray(jax.random.key_data(x) if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key) else x)


def tiny(core):
    c = load_experiment("experiments/memory_chain.py")
    net = dict(core_size=8, core="gru") if core == "gru" else dict(core_size=8, core="trxl", core_memory=4,
                                                                   core_layers=1, core_heads=2)
    return dataclasses.replace(
        c, env=dataclasses.replace(c.env, num_envs=B, rollout_len=T, env_params=("memory_length=3",)),
        net=dataclasses.replace(c.net, hidden=(8,), **net),
        ppo=dataclasses.replace(c.ppo, chunk_len=L, num_minibatches=2, num_epochs=1),
        run=dataclasses.replace(c.run, total_env_steps=2 * B * T, updates_per_call=1, checkpoint_every=2,
                                progress=False))


@pytest.mark.parametrize("core", ["trxl", "gru"])
def test_carry_kept_at_chunk_starts_equals_the_per_step_carry_there(core):
    trainer = make_trainer(tiny(core))
    assert trainer.learner.chunk_len == L
    per_step = make_rollout(trainer.env, trainer.acting, T, carry_every=1)
    state = trainer.init(jax.random.key(0))
    ppo = state.ppo
    run = lambda fn: jax.jit(fn)(ppo.params, ppo.ref_params, ppo.value_norm, state.actor)  # noqa: E731
    (actor_a, a), (actor_b, b) = run(trainer.rollout), run(per_step)

    assert np.asarray(a.reset[1:]).any()                     # episodes start inside the rollout
    for x, y in zip(jax.tree.leaves(a.carry), jax.tree.leaves(b.carry)):
        assert x.shape == (T // L,) + y.shape[1:] and y.shape[0] == T
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y)[::L])
    for name in a._fields:
        if name != "carry":
            for x, y in zip(jax.tree.leaves(getattr(a, name)), jax.tree.leaves(getattr(b, name))):
                np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=name)
    for x, y in zip(jax.tree.leaves(actor_a), jax.tree.leaves(actor_b)):
        np.testing.assert_array_equal(host(x), host(y))

    learn = jax.jit(trainer.learner.learn)
    (ppo_a, _, _), (ppo_b, _, _) = learn(ppo, a, actor_a.keys), learn(ppo, b, actor_b.keys)
    for x, y in zip(jax.tree.leaves(ppo_a.params), jax.tree.leaves(ppo_b.params)):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-6, atol=1e-7)
    assert not all(np.allclose(x, y) for x, y in zip(jax.tree.leaves(ppo_a.params), jax.tree.leaves(ppo.params)))
