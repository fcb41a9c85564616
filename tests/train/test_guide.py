"""The teacher-guided curriculum (`run.guide`, jaxcraft.train.fused.guide).

Oracles: the H schedule by hand; a student whose policy presses `attack` on every step (its
policy bias set so) and the servo teacher, which never attacks on approach tasks, so the recorded
attack bit tells who acted — it must be exactly "not guided", guided steps must be a prefix of each
episode no longer than H, and episodes must both start guided and not; a PPO update on a batch
that is all guided must leave the policy's params bit-identical (a separate critic still learns).
"""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcraft.build import make_trainer
from jaxcraft.config import ConfigError, EnvConfig, ExperimentConfig, GuideConfig, NetConfig, RunConfig, validate
from jaxcraft.ppo import PPOConfig
from jaxcraft.tasks import TaskConfig
from jaxcraft.train.fused.guide import guide_horizon
from jaxcraft.world import actions as A

T, H = 24, 6
ATTACK = A.BUTTONS.index("attack")


def config(**guide):
    return ExperimentConfig(
        name="guide", env=EnvConfig(name="jaxcraft:tasks", num_envs=4, rollout_len=T, reset_pool_size=4,
                                     pool_refresh_per_step=0),
        task=TaskConfig(families=("approach",), distances=(20,), frame_size=16, max_steps=9),
        net=NetConfig(kind="goal_cnn", channels=(4,), hidden=(8,), core_size=0, activation="relu", separate_critic=True),
        ppo=PPOConfig(num_minibatches=1, num_epochs=1), run=RunConfig(total_env_steps=4 * T * 10, progress=False,
                                                                      guide=GuideConfig(**guide)))


def test_horizon_falls_linearly_to_zero_over_the_decay_fraction():
    got = [int(guide_horizon(100, 0.5, jnp.asarray(u), 10)) for u in (0, 1, 2, 4, 5, 9)]
    assert got == [100, 80, 60, 20, 0, 0]
    assert int(guide_horizon(7, 1.0, jnp.asarray(3), 4)) == 2   # round(7 · 1/4) = round(1.75)


def test_guide_config_errors():
    with pytest.raises(ConfigError, match="run.guide.horizon"):
        validate(config(teacher="servo", horizon=0), 1)
    with pytest.raises(ConfigError, match="run.guide.decay_fraction"):
        validate(config(teacher="servo", horizon=3, decay_fraction=0.0), 1)
    cartpole = dataclasses.replace(config(teacher="servo", horizon=3), env=EnvConfig(num_envs=4, rollout_len=T))
    with pytest.raises(ConfigError, match="needs a fused jaxcraft:tasks env"):
        validate(cartpole, 1)


@pytest.fixture(scope="module")
def guided():
    """One guided trainer and its jitted rollout, shared by the tests below (one world compile)."""
    trainer = make_trainer(config(teacher="servo", horizon=H))
    return trainer, jax.jit(trainer.rollout)


def test_the_teacher_acts_exactly_on_the_guided_prefix_of_each_episode(guided):
    trainer, rollout = guided
    params = trainer.init_params(jax.random.key(0))
    head = params["params"]["policy_head"]
    bias = np.zeros(head["bias"].shape, np.float32)
    bias[2 * ATTACK + 1] = 50.0                      # attack = 1 with probability ~1
    params = {"params": {**params["params"], "policy_head": {"kernel": jnp.zeros_like(head["kernel"]), "bias": jnp.asarray(bias)}}}
    state = trainer.init(jax.random.key(1), params)
    _, traj = rollout(state.ppo.params, None, state.ppo.value_norm, state.actor, jnp.asarray(H, jnp.int32))
    guided, attack = np.asarray(traj.guided), np.asarray(traj.action)[..., ATTACK]
    reset, ep_guided = np.asarray(traj.reset), np.asarray(traj.guided_episode)
    np.testing.assert_array_equal(attack == 1, ~guided)     # the student attacks, the servo never does
    for b in range(guided.shape[1]):
        starts = list(np.flatnonzero(reset[:, b])) + [T]
        for s, e in zip(starts[:-1], starts[1:]):    # each whole episode inside the rollout
            g = guided[s:e, b]
            h = int(g.sum())
            assert not g[h:].any() and h <= H, (b, s, g)   # a prefix of at most H steps
            assert (ep_guided[s:e, b] == (h > 0)).all() or h == e - s
    assert guided.any() and (~guided).any() and (~ep_guided[reset]).any()
    m = trainer.learner.episode_metrics(traj)
    assert {"success_rate_guided", "success_rate_unguided", "guided_steps"} <= set(m)
    np.testing.assert_allclose(float(m["guided_steps"]), guided.mean(), rtol=1e-6)


def test_an_all_guided_batch_leaves_the_policy_unchanged(guided):
    trainer, rollout = guided
    state = trainer.init(jax.random.key(2))
    _, traj = rollout(state.ppo.params, None, state.ppo.value_norm, state.actor, jnp.asarray(H, jnp.int32))
    all_guided = traj._replace(guided=jnp.ones_like(traj.guided))
    ppo, _, metrics = jax.jit(trainer.learner.learn)(state.ppo, all_guided, state.actor.keys)
    before, after = state.ppo.params["params"], ppo.params["params"]
    for name in before:
        same = all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(before[name]), jax.tree.leaves(after[name])))
        assert same == (name != "critic"), name   # only the separate critic moved
