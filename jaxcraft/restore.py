"""Policies rebuilt from what runs saved: a training run's checkpoint, or pretrained params.

    policy, config = load_checkpoint_policy("runs/quickstart")                # latest checkpoint
    policy = load_pretrained_policy("runs/quickstart_pretrained", config, env, env_params)

It sits beside `jaxcraft.build` (it rebuilds the network or trainer of a saved config) and
above `jaxcraft.eval`, whose `NetworkPolicy` it returns.
"""
from __future__ import annotations

import dataclasses
import json
import pathlib
from typing import Any, Optional

import jax
import jax.numpy as jnp

from jaxcraft.build import make_network, make_trainer
from jaxcraft.config import from_dict, is_bridged, load_experiment
from jaxcraft.envs.base import zero_observation
from jaxcraft.envs.spaces import action_distribution
from jaxcraft.tasks import make_task_env
from jaxcraft.eval.policies import NetworkPolicy, zeros_of
from jaxcraft.train.checkpoint import Checkpointer, CheckpointError
from jaxcraft.train.imitation import load_params


def _sampling_suffix(greedy: bool, temperature: float) -> str:
    return "-greedy" if greedy else ("" if temperature == 1.0 else f"-T{temperature:g}")


def load_pretrained_policy(params_dir: str | pathlib.Path, config: Any, env: Any, env_params: Any,
                           greedy: bool = False, temperature: float = 1.0) -> NetworkPolicy:
    """NetworkPolicy of params saved by `jaxcraft pretrain` (behaviour cloning) for the network
    of `config` (the experiment they were trained with) on `env`. Raises `CheckpointError`
    naming the path if they are missing or do not fit the network."""
    space = env.action_space(env_params)
    network = make_network(config.net, env.observation_space(env_params), space)
    like = jax.eval_shape(network.init, jax.random.key(0), network.initial_carry(1), zero_observation(env, env_params),
                          jnp.zeros((1, 1), bool))
    try:
        params = load_params(params_dir, like)
    except (FileNotFoundError, ValueError) as e:
        raise CheckpointError(str(e)) from None
    return NetworkPolicy(network, params, action_distribution(space), greedy=greedy, temperature=temperature,
                         name=f"{pathlib.Path(params_dir).name}" + _sampling_suffix(greedy, temperature))


def load_checkpoint_policy(run_dir: str | pathlib.Path, step: Optional[int] = None,
                           greedy: bool = False, temperature: float = 1.0) -> tuple[NetworkPolicy, Any]:
    """(NetworkPolicy, ExperimentConfig) of a run directory's checkpoint (default: the latest).

    Raises `CheckpointError` naming the path if config.json or the checkpoints are missing,
    unreadable or not of a cross-view task run.
    """
    from jaxcraft.tasks import CrossViewTaskEnv

    run_dir = pathlib.Path(run_dir)
    cfg_path, ckpt_dir = run_dir / "config.json", run_dir / "checkpoints"
    if not run_dir.is_dir():
        raise CheckpointError(f"no run directory at {run_dir}")
    if not cfg_path.is_file():
        raise CheckpointError(f"{cfg_path} is missing: {run_dir} is not a jaxcraft run directory")
    try:
        config = from_dict(json.loads(cfg_path.read_text()))
    except Exception as e:  # noqa: BLE001 - bad JSON, unknown fields, wrong types: all "corrupt"
        raise CheckpointError(f"{cfg_path} is not a readable experiment config ({type(e).__name__}: {e})") from None
    if is_bridged(config):
        raise CheckpointError(f"{run_dir} trained on the bridged env {config.env.name!r}; eval needs a JAX task env")
    if not ckpt_dir.is_dir():   # checked first: Checkpointer would create the directory
        raise CheckpointError(f"no checkpoints directory at {ckpt_dir}")
    ckpt = Checkpointer(ckpt_dir, max_to_keep=1 << 30)   # never prunes: restoring only
    steps = ckpt.steps()
    if not steps:
        raise CheckpointError(f"no checkpoints in {ckpt_dir}")
    step = steps[-1] if step is None else int(step)
    ckpt.read_meta(step)   # a missing step or unreadable metadata is the problem to name, before the env kind
    # One device is enough to act; the saved state is resharded on restore.
    config_1 = dataclasses.replace(config, run=dataclasses.replace(config.run, num_devices=1))
    try:
        trainer = make_trainer(config_1)
    except ValueError as e:   # ConfigError included
        raise CheckpointError(f"cannot rebuild the trainer of {cfg_path}: {e}") from None
    if not isinstance(trainer.env.env, CrossViewTaskEnv):
        raise CheckpointError(f"{run_dir} trained on {config.env.name!r}, not a cross-view task env (jaxcraft:tasks)")
    # Restore into zeros of the state's shape: no need to compile/run the trainer's init.
    like = zeros_of(jax.eval_shape(trainer.init, jax.random.key(0)))
    state, _ = ckpt.restore(step, like, trainer.state_sharding(like))
    policy = NetworkPolicy(trainer.network, state.ppo.params, trainer.dist, greedy=greedy, temperature=temperature,
                           name=f"{run_dir.name}@{step}" + _sampling_suffix(greedy, temperature))
    return policy, config


def load_task_policy(path: str | pathlib.Path, experiment: str | pathlib.Path | None = None) -> tuple[NetworkPolicy, Any]:
    """(NetworkPolicy, ExperimentConfig) of a cross-view task policy: a run directory's latest
    checkpoint, or params saved by `jaxcraft pretrain` with the experiment they belong to. Raises
    `CheckpointError` naming the path when pretrained params come without an experiment."""
    path = pathlib.Path(path)
    if (path / "config.json").is_file():
        return load_checkpoint_policy(path)
    if experiment is None:
        raise CheckpointError(f"{path} is not a run directory; pretrained params need --experiment")
    config = load_experiment(experiment)
    env, env_params = make_task_env(config.task)
    return load_pretrained_policy(path, config, env, env_params), config


__all__ = ["load_checkpoint_policy", "load_pretrained_policy", "load_task_policy"]
