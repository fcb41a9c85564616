"""The fused trainer: device-count invariance, vmap over seeds, learning signal."""
import pathlib
import subprocess
import sys

import jax
import numpy as np
import pytest

from jaxcraft.config import ConfigError, EnvConfig, ExperimentConfig, NetConfig, RunConfig
from jaxcraft.ppo import PPOConfig
from jaxcraft.train.fused.trainer import make_train
from jaxcraft.build import make_trainer
from jaxcraft.build import make_env, make_network

HERE = pathlib.Path(__file__).parent


@pytest.mark.slow
def test_one_device_and_four_emulated_devices_agree():
    # The script adds 4 emulated devices to the suite's XLA flags (both runs compile alike).
    out = subprocess.run([sys.executable, str(HERE / "_multidevice_equivalence.py")], capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    assert "EQUIVALENT" in out.stdout


def test_vmap_over_seeds_matches_single_runs():
    cfg = ExperimentConfig(env=EnvConfig(num_envs=4, rollout_len=8), net=NetConfig(hidden=(8,)),
                           ppo=PPOConfig(num_epochs=1, num_minibatches=2),
                           run=RunConfig(total_env_steps=4 * 8 * 2))
    env, params = make_env(cfg.env)
    net = make_network(cfg.net, env.observation_space(params), env.action_space(params))
    train = jax.jit(make_train(cfg, env, net))
    keys = jax.random.split(jax.random.key(0), 3)
    states, metrics = jax.vmap(train)(keys)
    assert metrics["loss"].shape == (3, 2)
    single_state, single_metrics = train(keys[1])
    np.testing.assert_allclose(np.asarray(metrics["loss"][1]), np.asarray(single_metrics["loss"]), rtol=1e-4, atol=1e-6)
    # Different seeds give different runs.
    assert not np.allclose(np.asarray(metrics["loss"][0]), np.asarray(metrics["loss"][2]))


@pytest.mark.slow
def test_cartpole_return_improves_quickly():
    # Not the ≥475 validation (that is benchmarks/ppo_throughput.py); a cheap learning signal.
    cfg = ExperimentConfig(env=EnvConfig(num_envs=4, rollout_len=128), net=NetConfig(hidden=(64, 64)),
                           ppo=PPOConfig(lr=2.5e-4), run=RunConfig(total_env_steps=4 * 128 * 60, seed=1))
    trainer = make_trainer(cfg)
    state = trainer.init(jax.random.key(1))
    state, m = trainer.run(state, 60)
    ret = np.asarray(m["episode_return"])
    eps = np.asarray(m["episodes"])
    first = ret[:5][eps[:5] > 0].mean()
    last = ret[-10:][eps[-10:] > 0].mean()
    assert first < 60 and last > 2 * first, (first, last)


def test_config_errors_name_the_field_before_compiling():
    base = ExperimentConfig(env=EnvConfig(num_envs=4, rollout_len=8), run=RunConfig(total_env_steps=64))
    cases = [
        (base.__class__(env=EnvConfig(num_envs=4, rollout_len=8), ppo=PPOConfig(num_minibatches=3),
                        run=RunConfig(total_env_steps=64)), "ppo.num_minibatches"),
        (base.__class__(env=EnvConfig(num_envs=4, rollout_len=8), ppo=PPOConfig(lr=-1.0),
                        run=RunConfig(total_env_steps=64)), "ppo.lr"),
        (base.__class__(env=EnvConfig(num_envs=4, rollout_len=8), run=RunConfig(total_env_steps=64, num_devices=2)),
         "run.num_devices"),
        (base.__class__(env=EnvConfig(num_envs=4, rollout_len=8), run=RunConfig(total_env_steps=10)),
         "run.total_env_steps"),
        (base.__class__(env=EnvConfig(name="gymnax:NoSuchEnv", num_envs=4, rollout_len=8),
                        run=RunConfig(total_env_steps=64)), "env.name"),
        (base.__class__(env=EnvConfig(num_envs=4, rollout_len=8), run=RunConfig(total_env_steps=64, checkpoint_every=3, updates_per_call=2)),
         "run.checkpoint_every"),
    ]
    for cfg, field in cases:
        with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
            make_trainer(cfg)


def test_initial_params_are_the_params_init_starts_from():
    """The run loop fits pretrained params into `initial_params(key)`; they must be what
    `init(key)` holds when given no params (and init(key, params) must hold the given ones)."""
    cfg = ExperimentConfig(env=EnvConfig(num_envs=2, rollout_len=4), net=NetConfig(hidden=(8,)),
                           run=RunConfig(total_env_steps=8, progress=False))
    trainer = make_trainer(cfg)
    key = jax.random.key(3)
    state = trainer.init(key)
    first = trainer.initial_params(key)
    for a, b in zip(jax.tree.leaves(state.ppo.params), jax.tree.leaves(first)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)
    other = jax.tree.map(lambda x: x + 1.0, first)
    given = trainer.init(key, other)
    for a, b in zip(jax.tree.leaves(given.ppo.params), jax.tree.leaves(other)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    kernel = lambda p: max(jax.tree.leaves(p), key=lambda x: x.size)   # noqa: E731 - a weight, not a zero bias
    assert not np.allclose(np.asarray(kernel(trainer.initial_params(jax.random.key(4)))), np.asarray(kernel(first)))
