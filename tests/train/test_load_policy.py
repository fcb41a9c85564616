"""A policy from any run (issue 32, item 3): `jaxcraft.load_policy` reads only the params of a run's
checkpoint and rebuilds only its network; `jaxcraft eval` scores a non-task run by episode return.

Oracles: the params the full-state restore gives (`Checkpointer.restore` into the trainer's state);
the network's own logits (argmax) for the greedy action; CartPole's reward of 1 per step (a
return equals its episode's length) and its ≥ 8-step episodes under a constant push.
"""
import dataclasses
import json
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxcraft
from jaxcraft.build import make_bridged_env
from jaxcraft.config import ExperimentConfig, EnvConfig, override
from jaxcraft.cli import eval as cli_eval
from jaxcraft.eval.policies import zeros_of
from jaxcraft.eval.returns import evaluate_jax_env, evaluate_simulator
from jaxcraft.train.run.checkpoint import Checkpointer, CheckpointError
from jaxcraft.train.run.loop import train


@pytest.fixture(scope="module")
def cartpole_run(tiny_trainer, tmp_path_factory):
    config, trainer = tiny_trainer
    run_dir = tmp_path_factory.mktemp("lp") / "run"
    cfg = override(config, [f"run.run_dir={run_dir}"])
    cfg = dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, total_env_steps=4 * cfg.batch_size))
    train(cfg, trainer=trainer)
    return run_dir, trainer


def test_the_params_are_the_checkpoints_and_greedy_acts_are_the_nets_argmax(cartpole_run):
    run_dir, trainer = cartpole_run
    policy = jaxcraft.load_policy(run_dir)
    like = jax.eval_shape(trainer.init, jax.random.key(0))
    ckpt = Checkpointer(run_dir / "checkpoints")
    state, _ = ckpt.restore(ckpt.steps()[-1], zeros_of(like))   # the whole state, as eval's restore reads it
    jax.tree.map(np.testing.assert_array_equal, policy.params, state.ppo.params)
    assert policy.name == f"run@{ckpt.steps()[-1]}"

    obs = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    action, _ = policy.act(obs)
    _, logits, _ = trainer.network.apply(state.ppo.params, (), jnp.asarray(obs)[None], jnp.ones((1, 5), bool))
    assert isinstance(action, np.ndarray)
    np.testing.assert_array_equal(action, np.argmax(np.asarray(logits[0]), -1))
    sampled, _ = policy.act(jnp.asarray(obs), key=jax.random.key(1))
    assert isinstance(sampled, jax.Array) and sampled.shape == (5,) and set(np.asarray(sampled)) <= {0, 1}


def test_returns_are_lengths_on_cartpole_and_the_step_limit_cuts(cartpole_run):
    run_dir, _ = cartpole_run
    policy = jaxcraft.load_policy(run_dir)
    env, env_params = jaxcraft.build.make_env(policy.config)
    full = evaluate_jax_env(policy, env, env_params, 6, jax.random.key(0), 1000)
    np.testing.assert_array_equal(full.returns, full.lengths)
    assert full.cut == 0 and (full.lengths >= 8).all()
    cut = evaluate_jax_env(policy, env, env_params, 6, jax.random.key(0), 3)
    assert cut.cut == 6 and (cut.lengths == 3).all() and (cut.returns == 3).all()


class _Push:
    """Always push right (action 1): CartPole falls within a few dozen steps."""
    name = "push"

    def act(self, obs, key=None, carry=None, reset=None):
        return np.ones(np.asarray(obs).shape[0], np.int64), carry


def test_a_bridged_simulator_is_scored_in_process():
    config = ExperimentConfig(env=EnvConfig(name="bridge:gym:CartPole-v1"))
    result = evaluate_simulator(_Push(), make_bridged_env(config), 3, 0, 500)
    np.testing.assert_array_equal(result.returns, result.lengths)
    assert result.cut == 0 and (8 <= result.lengths).all() and (result.lengths < 60).all()


def test_jaxcraft_eval_scores_a_cartpole_run_by_return(cartpole_run, tmp_path, capsys):
    run_dir, _ = cartpole_run
    parser = __import__("argparse").ArgumentParser()
    cli_eval.add_arguments(parser)
    assert cli_eval.run(parser.parse_args([str(run_dir), "--episodes", "4", "--out", str(tmp_path / "e")])) == 0
    report = json.loads((tmp_path / "e" / "eval.json").read_text())
    assert report["episodes"] == 4 and report["returns"] == report["lengths"]
    assert "mean return" in capsys.readouterr().out
    assert cli_eval.run(parser.parse_args([str(run_dir), "--families", "approach"])) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "--families" in err and "gymnax:CartPole-v1" in err


def test_a_tampered_params_checksum_and_a_foreign_directory_are_one_line_errors(cartpole_run, tmp_path):
    run_dir, _ = cartpole_run
    with pytest.raises(CheckpointError, match="neither a run"):
        jaxcraft.load_policy(tmp_path)
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    step = Checkpointer(copy / "checkpoints").steps()[-1]
    meta = copy / "checkpoints" / str(step) / "meta" / "metadata"
    saved = json.loads(meta.read_text())
    key = next(k for k in saved["state_checksums"] if k.startswith(".ppo.params"))
    saved["state_checksums"][key] = "0" * 64
    meta.write_text(json.dumps(saved))
    with pytest.raises(CheckpointError, match="sha256") as e:
        jaxcraft.load_policy(copy)
    assert "\n" not in str(e.value)
