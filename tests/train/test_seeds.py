"""jaxcraft.train.run.seeds.run_seeds: one compiled trainer, several seeds, optional shared init params."""
import jax
import numpy as np
import pytest

from jaxcraft.build import make_trainer
from jaxcraft.config import EnvConfig, ExperimentConfig, NetConfig, RunConfig
from jaxcraft.ppo import PPOConfig
from jaxcraft.train.run.seeds import run_seeds

CFG = ExperimentConfig(env=EnvConfig(num_envs=4, rollout_len=8), net=NetConfig(hidden=(8,)),
                       ppo=PPOConfig(num_epochs=1, num_minibatches=2, kl_coef=0.1),
                       run=RunConfig(total_env_steps=4 * 8 * 3, scan_updates=False))


def test_run_seeds_matches_the_pure_train_function_per_seed():
    trainer = make_trainer(CFG)
    other = trainer.init_params(jax.random.key(99))      # "pretrained" params shared by every seed
    runs = run_seeds(trainer, [0, 3], params=other)
    assert runs.seeds == (0, 3) and runs.metrics["loss"].shape == (2, 3) and len(runs.params) == 2
    train = jax.jit(trainer.train)                        # oracle: the whole run as one scanned program
    for i, s in enumerate((0, 3)):
        state, m = train(jax.random.key(s), other)
        np.testing.assert_allclose(runs.metrics["loss"][i], np.asarray(m["loss"]), rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(runs.metrics["kl_ref"][i], np.asarray(m["kl_ref"]), rtol=1e-4, atol=1e-7)
        for a, b in zip(jax.tree.leaves(runs.params[i]), jax.tree.leaves(state.ppo.params)):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-6)
    assert not np.allclose(runs.metrics["loss"][0], runs.metrics["loss"][1])   # seeds differ
    assert runs.finite(["loss", "kl_ref", "episode_return"])
    scratch = run_seeds(trainer, [0], num_updates=1)      # own random init: another run
    assert not np.allclose(scratch.metrics["loss"][0], runs.metrics["loss"][0, :1])


def test_run_seeds_rejects_empty_or_zero_budget():
    trainer = make_trainer(CFG)
    with pytest.raises(ValueError, match="at least one seed"):
        run_seeds(trainer, [])
    with pytest.raises(ValueError, match="num_updates"):
        run_seeds(trainer, [0], num_updates=0)
