"""The bearing head (`net.goal.bearing_head`) and its RL loss (`ppo.aux_coef`).

Oracles: `bearing_loss` against the formula computed by hand on a two-step example; the frozen
encoder's `decide_with_bearing` on `encode`'s features equals `with_bearing` on observations (the
privileged tail is the label); a tiny fused run with `ppo.aux_coef` trains the head (its params
move, it is logged) starting from cloned params that never had it (loaded fresh).
"""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import json

from jaxcraft.build import make_trainer, train
from jaxcraft.config import ConfigError, EnvConfig, ExperimentConfig, GoalNetConfig, NetConfig, RunConfig, validate
from jaxcraft.nets.goal import bearing_loss
from jaxcraft.ppo import PPOConfig
from jaxcraft.tasks import TaskConfig
from jaxcraft.train.imitation.pretrain import save_params


def test_bearing_loss_by_hand():
    pred = jnp.array([[[0.5, 0.5, 0.0], [-1.0, 0.0, 2.0]]])            # [1, 2, 3]
    priv = jnp.zeros((1, 2, 7)).at[0, 0, 1:3].set(jnp.array([1.0, 0.0])).at[0, 0, 5].set(1.0)
    priv = priv.at[0, 1, 1:3].set(jnp.array([-0.6, 0.8]))                # step 1: not visible
    loss, m = bearing_loss(pred, priv)
    se = 0.5 * ((0.25 + 0.25) + (0.16 + 0.64)) / 2
    bce = (np.log(2.0) + (2.0 + np.log1p(np.exp(-2.0)))) / 2             # −log σ(0), −log(1 − σ(2))
    np.testing.assert_allclose(float(m["aux/bearing_se"]), se, rtol=1e-6)
    np.testing.assert_allclose(float(m["aux/visible_bce"]), bce, rtol=1e-6)
    np.testing.assert_allclose(float(loss), se + bce, rtol=1e-6)
    assert float(m["aux/bearing_side_acc"]) == 1.0                        # signs of sin β: +/+ and −/−


def config(**ppo):
    return ExperimentConfig(
        name="bearing", env=EnvConfig(name="jaxcraft:tasks", num_envs=2, rollout_len=4, reset_pool_size=2,
                                      pool_refresh_per_step=0),
        task=TaskConfig(families=("approach",), distances=(20,), frame_size=16, max_steps=6, privileged_obs=True),
        net=NetConfig(kind="goal_cnn", channels=(4,), hidden=(8,), activation="relu", separate_critic=False,
                      goal=GoalNetConfig(fusion="late", privileged_critic=True, bearing_head=True)),
        ppo=PPOConfig(num_minibatches=1, num_epochs=1, **ppo), run=RunConfig(total_env_steps=2 * 8, progress=False))


def test_aux_coef_needs_the_head_and_its_labels():
    bad = dataclasses.replace(config(aux_coef=1.0), net=dataclasses.replace(config().net, goal=GoalNetConfig(fusion="late")))
    with pytest.raises(ConfigError, match="ppo.aux_coef > 0 needs .*bearing_head=True"):
        validate(bad, 1)


@pytest.mark.slow
def test_a_run_trains_the_head_from_params_cloned_without_it(tmp_path):
    cfg = config(aux_coef=1.0, freeze_encoder=True)
    trainer = make_trainer(cfg)
    net = trainer.network
    params = trainer.initial_params(jax.random.key(0))
    # Frozen encoder: the head on encode's features is the head on the observations.
    obs, _ = jax.jit(jax.vmap(lambda k: trainer.env.env.reset_env(k, trainer.env.params)))(
        jax.random.split(jax.random.key(1), 2))
    obs = jax.tree.map(lambda x: x[None], obs)
    reset = jnp.ones((1, 2), bool)
    a = jax.jit(lambda p, o: net.apply(p, (), o, reset, method="with_bearing"))(params, obs)
    feats = jax.jit(lambda p, o: net.apply(p, o, method="encode"))(params, obs)
    b = jax.jit(lambda p, f: net.apply(p, (), f, reset, method="decide_with_bearing"))(params, feats)
    for x, y in zip(a[1:], b[1:]):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(feats[..., -7:]), np.asarray(obs["privileged"]))

    cloned = {"params": {k: v for k, v in params["params"].items() if k not in net.fresh_on_load}}
    save_params(tmp_path / "cloned", cloned)
    run = dataclasses.replace(cfg.run, init_params=str(tmp_path / "cloned"), run_dir=str(tmp_path / "run"))
    result = train(dataclasses.replace(cfg, run=run))
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert all("aux/bearing_se" in r and np.isfinite(r["aux_loss"]) for r in rows)
    head0 = params["params"]["bearing"]["kernel"]
    head1 = result.state.ppo.params["params"]["bearing"]["kernel"]
    assert np.abs(np.asarray(head1) - np.asarray(head0)).max() > 0
    # The encoder stays frozen while the head learns.
    for a, b in zip(jax.tree.leaves(result.state.ppo.params["params"]["frame_enc"]), jax.tree.leaves(params["params"]["frame_enc"])):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
