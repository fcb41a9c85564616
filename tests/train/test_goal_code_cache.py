"""Encoding each episode's goal once in acting equals encoding it on every step.

Oracle: the same rollout (same params, keys and env) with `Acting(goal_code_fn=None)`, which runs
the goal torso on every step. Compared on a task env whose 3-step episodes end several times
within the rollout (so a code that were not refreshed at an episode start would be the old
goal's): actions bit for bit, log-probs, values and the KL reference's logits (with reference
params that differ from the policy's, so the reference must carry its own code) to float
tolerance; for a feed-forward net, and for a recurrent one with a separate critic (whose own goal
torso must not see the policy's code). The evaluation policy (carry = (hidden, code)) against
the same uncached step.
"""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcraft.build import make_trainer
from jaxcraft.config import EnvConfig, ExperimentConfig, GoalNetConfig, NetConfig, RunConfig
from jaxcraft.eval.policies import NetworkPolicy
from jaxcraft.ppo import PPOConfig
from jaxcraft.tasks import TaskConfig
from jaxcraft.ppo.acting import Acting
from jaxcraft.train.fused.rollout import make_rollout

T = 10


def config(core_size, separate_critic):
    return ExperimentConfig(
        name="goal_code", env=EnvConfig(name="jaxcraft:tasks", num_envs=4, rollout_len=T, reset_pool_size=4,
                                         pool_refresh_per_step=0),
        task=TaskConfig(families=("approach",), distances=(20,), frame_size=16, max_steps=3),
        net=NetConfig(kind="goal_cnn", channels=(4, 8), hidden=(16,), core_size=core_size, activation="relu",
                      separate_critic=separate_critic, goal=GoalNetConfig(fusion="conv")),
        ppo=PPOConfig(num_minibatches=1, num_epochs=1, kl_coef=0.2), run=RunConfig(total_env_steps=4 * T, progress=False))


@pytest.mark.parametrize("core_size,separate_critic", [(0, False), (8, True)])
def test_cached_goal_code_rollout_equals_uncached(core_size, separate_critic):
    trainer = make_trainer(config(core_size, separate_critic))
    assert trainer.acting.goal_code_fn is not None        # the goal net is cached by default
    uncached = make_rollout(trainer.env, dataclasses.replace(trainer.acting, goal_code_fn=None), T)
    ref_params = trainer.init_params(jax.random.key(7))
    state = trainer.init(jax.random.key(0), None, ref_params)
    ppo = state.ppo
    assert not all(np.allclose(x, y) for x, y in zip(jax.tree.leaves(ppo.params), jax.tree.leaves(ppo.ref_params)))

    run = lambda fn: jax.jit(fn)(ppo.params, ppo.ref_params, ppo.value_norm, state.actor)  # noqa: E731
    (actor_a, a), (actor_b, b) = run(trainer.rollout), run(uncached)
    assert np.asarray(a.reset[1:]).sum() >= 4                # episodes start inside the rollout
    np.testing.assert_array_equal(a.action, b.action)
    for x, y in [(a.log_prob, b.log_prob), (a.value, b.value), (a.ref_logits, b.ref_logits),
                 (a.bootstrap_value, b.bootstrap_value), (a.v_final, b.v_final)]:
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-5)
    for x, y in zip(jax.tree.leaves(actor_a.carry), jax.tree.leaves(actor_b.carry)):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-5)


def test_eval_policy_encodes_the_goal_once_and_acts_as_uncached():
    trainer = make_trainer(config(0, False))
    params = trainer.init_params(jax.random.key(3))
    policy = NetworkPolicy(trainer.network, params, trainer.dist)
    n = 4
    obs, _ = jax.jit(jax.vmap(lambda k: trainer.env.env.reset_env(k, trainer.env.params)))(
        jax.random.split(jax.random.key(1), n))
    uncached = Acting(trainer.network.apply, trainer.dist)
    act, uncached_step = jax.jit(policy.act), jax.jit(uncached.step)   # one compile each, not op by op
    carry = policy.init(n)
    hidden = trainer.network.initial_carry(n)
    for t in range(3):   # the same goal, new frames: the code from t = 0 is reused
        keys = jax.random.split(jax.random.key(10 + t), n)
        reset = jnp.full((n,), t == 0)
        frame_obs = {**obs, "rgb": jnp.roll(obs["rgb"], 3 * t, axis=2)}
        carry, action = act(carry, frame_obs, None, reset, keys)
        hidden, out = uncached_step(params, None, hidden, frame_obs, reset, keys)
        np.testing.assert_array_equal(action, out.action)
    code = trainer.network.apply(params, obs, method="goal_code")
    np.testing.assert_allclose(np.asarray(carry[1]), np.asarray(code), rtol=1e-6, atol=1e-6)
