"""Policies rebuilt from what runs saved: a training run's checkpoint, or pretrained params.

    policy = jaxcraft.load_policy("runs/quickstart")          # any run: fused, bridged, gymnax, Crafter …
    action, carry = policy.act(obs, key)                     # batched numpy or JAX observations
    policy, config = load_checkpoint_policy("runs/quickstart")                # cross-view eval's NetworkPolicy
    policy = load_pretrained_policy("runs/quickstart_pretrained", config, env, env_params)

`load_policy` rebuilds only the network (from the run's config and its env's spaces) and reads only
the params out of the checkpoint, like Brax's `train()` hands back `make_policy` and params: no
trainer, no envs stepped, no simulator started. It sits beside `jaxcraft.build` (it rebuilds the
network or trainer of a saved config) and above `jaxcraft.eval`, whose `NetworkPolicy` it returns.
"""
from __future__ import annotations

import dataclasses
import json
import pathlib
from typing import Any, Optional

import jax
import jax.numpy as jnp
import numpy as np

from jaxcraft.build import make_bridged_env, make_env, make_network
from jaxcraft.config import ConfigError, from_dict, is_bridged, load_experiment
from jaxcraft.eval.policies import NetworkPolicy
from jaxcraft.tasks import make_task_env
from jaxcraft.tasks.registration import ENV_NAME as TASK_ENV
from jaxcraft.train.agent import Policy, Spaces, make_agent
from jaxcraft.train.imitation.pretrain import load_params, params_saved_at
from jaxcraft.train.run.checkpoint import Checkpointer, CheckpointError


def _sampling_suffix(greedy: bool, temperature: float) -> str:
    return "-greedy" if greedy else ("" if temperature == 1.0 else f"-T{temperature:g}")


def load_pretrained_policy(params_dir: str | pathlib.Path, config: Any, env: Any, env_params: Any,
                           greedy: bool = False, temperature: float = 1.0) -> NetworkPolicy:
    """NetworkPolicy of params saved by `jaxcraft pretrain` (behaviour cloning) for the network
    of `config` (the experiment they were trained with) on `env`. Raises `CheckpointError`
    naming the path if they are missing or do not fit the network."""
    spaces = Spaces.of_env(env, env_params)
    agent = make_agent(config, make_network(config.net, spaces.observation, spaces.action), spaces)
    try:
        params = load_params(params_dir, agent.params_like())
    except (FileNotFoundError, ValueError) as e:
        raise CheckpointError(str(e)) from None
    return NetworkPolicy(agent.network, params, agent.dist, greedy=greedy, temperature=temperature,
                         name=f"{pathlib.Path(params_dir).name}" + _sampling_suffix(greedy, temperature))


def load_checkpoint_policy(run_dir: str | pathlib.Path, step: Optional[int] = None,
                           greedy: bool = False, temperature: float = 1.0) -> tuple[NetworkPolicy, Any]:
    """(NetworkPolicy, ExperimentConfig) of a cross-view task run's checkpoint (default: the latest):
    the network of its config.json and the params read out of the checkpoint (no trainer is built).

    Raises `CheckpointError` naming the path if config.json or the checkpoints are missing,
    unreadable or not of a cross-view task run.
    """
    run_dir = pathlib.Path(run_dir)
    if not run_dir.is_dir():
        raise CheckpointError(f"no run directory at {run_dir}")
    if not (run_dir / "config.json").is_file():
        raise CheckpointError(f"{run_dir / 'config.json'} is missing: {run_dir} is not a jaxcraft run directory")
    config = _read_config(run_dir)
    if is_bridged(config):
        raise CheckpointError(f"{run_dir} trained on the bridged env {config.env.name!r}; eval needs a JAX task env")
    ckpt = _checkpointer(run_dir)
    steps = ckpt.steps()
    step = steps[-1] if step is None else int(step)
    ckpt.read_meta(step)   # a missing step or unreadable metadata is the problem to name, before the env kind
    if config.env.name != TASK_ENV:
        raise CheckpointError(f"{run_dir} trained on {config.env.name!r}, not a cross-view task env ({TASK_ENV})")
    try:
        env, env_params = make_task_env(config.task)
        spaces = Spaces.of_env(env, env_params)
        agent = make_agent(config, make_network(config.net, spaces.observation, spaces.action), spaces)
    except ValueError as e:   # ConfigError included
        raise CheckpointError(f"cannot rebuild the network of {run_dir / 'config.json'}: {e}") from None
    params = _fitted(ckpt.restore_subtree(step, ("ppo", "params")), agent.params_like(), run_dir)
    policy = NetworkPolicy(agent.network, params, agent.dist, greedy=greedy, temperature=temperature,
                           name=f"{run_dir.name}@{step}" + _sampling_suffix(greedy, temperature))
    return policy, config


def _fitted(params: Any, like: Any, path: pathlib.Path) -> Any:
    """Checkpointed params as the network's dtypes; `CheckpointError` if their tree or shapes differ."""
    if jax.tree.structure(params) != jax.tree.structure(like) or any(
            np.shape(p) != l.shape for p, l in zip(jax.tree.leaves(params), jax.tree.leaves(like))):
        raise CheckpointError(f"the params saved in {path} do not fit the network of its config.json")
    return jax.tree.map(lambda p, l: jnp.asarray(p, l.dtype), params, like)


@dataclasses.dataclass(frozen=True)
class LoadedPolicy(Policy):
    """A saved run's `jaxcraft.train.agent.Policy` (network, params, spaces, config; `act` on
    batched observations), named after where it came from."""

    name: str


def _spaces(config: Any) -> tuple[Any, Any]:
    """(observation space, action space) of a config's env, without stepping it (a bridged env's
    come from its simulator spec: no worker is started)."""
    if is_bridged(config):
        benv = make_bridged_env(config)
        return benv.observation_space, benv.action_space
    env, env_params = make_env(config)
    return env.observation_space(env_params), env.action_space(env_params)


def load_policy(path: str | pathlib.Path, experiment: str | pathlib.Path | None = None,
                step: Optional[int] = None) -> LoadedPolicy:
    """The policy of any saved run: a run directory (its config.json and checkpoint `step`, default the
    latest; any env: cross-view tasks, gymnax, bridged simulators) or params saved by `jaxcraft
    pretrain` (with `experiment`, or the experiment its pretrain.json names). `CheckpointError`
    naming the path when it holds neither, or the params do not fit the network."""
    path = pathlib.Path(path)
    if (path / "config.json").is_file():
        config = _read_config(path)
        ckpt = _checkpointer(path)
        steps = ckpt.steps()
        step = steps[-1] if step is None else int(step)
        params = ckpt.restore_subtree(step, ("ppo", "params"))
        name = f"{path.name}@{step}"
    elif params_saved_at(path):
        config = pretrained_config(path, experiment)
        params, name = None, path.name   # read below, once the network is built
    else:
        raise CheckpointError(f"{path} holds neither a run (config.json) nor params saved by `jaxcraft pretrain`")
    try:
        obs_space, act_space = _spaces(config)
    except ValueError as e:   # ConfigError included: e.g. an optional simulator not installed
        raise CheckpointError(f"cannot rebuild the env spaces of {path}: {e}") from None
    agent = make_agent(config, make_network(config.net, obs_space, act_space), Spaces(obs_space, act_space))
    like = agent.params_like()
    if params is None:
        try:
            params = load_params(path, like)
        except (FileNotFoundError, ValueError) as e:
            raise CheckpointError(str(e)) from None
    params = _fitted(params, like, path)
    return LoadedPolicy(agent.network, params, obs_space, act_space, config, name)


def _read_config(run_dir: pathlib.Path) -> Any:
    cfg_path = run_dir / "config.json"
    try:
        return from_dict(json.loads(cfg_path.read_text()))
    except Exception as e:  # noqa: BLE001 - bad JSON, unknown fields, wrong types: all "corrupt"
        raise CheckpointError(f"{cfg_path} is not a readable experiment config ({type(e).__name__}: {e})") from None


def _checkpointer(run_dir: pathlib.Path) -> Checkpointer:
    ckpt_dir = run_dir / "checkpoints"
    if not ckpt_dir.is_dir():   # checked first: Checkpointer would create the directory
        raise CheckpointError(f"no checkpoints directory at {ckpt_dir}")
    ckpt = Checkpointer(ckpt_dir, max_to_keep=1 << 30)   # never prunes: restoring only
    if not ckpt.steps():
        raise CheckpointError(f"no checkpoints in {ckpt_dir}")
    return ckpt


def pretrained_config(params_dir: str | pathlib.Path, experiment: str | pathlib.Path | None = None) -> Any:
    """The ExperimentConfig of params saved by `jaxcraft pretrain`: `experiment` if given, else the
    config `jaxcraft pretrain` recorded beside them (`<dir>_pretrain.json`: the experiment with its
    `--set` overrides applied; records older than that name only the experiment file, which is
    loaded). `CheckpointError` naming the path when neither is readable."""
    params_dir = pathlib.Path(params_dir)
    if experiment is None:
        record = params_dir.parent / f"{params_dir.name}_pretrain.json"
        try:
            saved = json.loads(record.read_text())
        except (OSError, ValueError):
            raise CheckpointError(f"{params_dir}: pretrained params need their experiment (--experiment; no "
                                  f"readable {record.name} beside them records it)") from None
        if isinstance(saved.get("config"), dict):
            try:
                return from_dict(saved["config"])
            except Exception as e:  # noqa: BLE001 - unknown fields, wrong types: all "unreadable"
                raise CheckpointError(f"{record}: the recorded config is not readable ({type(e).__name__}: {e})") from None
        if "experiment" not in saved:
            raise CheckpointError(f"{record} names no experiment; pass --experiment")
        experiment = saved["experiment"]
    try:
        return load_experiment(experiment)
    except (ConfigError, OSError) as e:
        raise CheckpointError(f"{params_dir}: cannot load its experiment {str(experiment)!r}: {e}") from None


def load_task_policy(path: str | pathlib.Path, experiment: str | pathlib.Path | None = None) -> tuple[NetworkPolicy, Any]:
    """(NetworkPolicy, ExperimentConfig) of a cross-view task policy: a run directory's latest
    checkpoint, or params saved by `jaxcraft pretrain` with `experiment` or, without it, the config
    recorded beside them (`pretrained_config`). Raises `CheckpointError` naming the path when
    pretrained params have neither."""
    path = pathlib.Path(path)
    if (path / "config.json").is_file():
        return load_checkpoint_policy(path)
    config = pretrained_config(path, experiment)
    env, env_params = make_task_env(config.task)
    return load_pretrained_policy(path, config, env, env_params), config


__all__ = ["LoadedPolicy", "load_checkpoint_policy", "load_policy", "load_pretrained_policy", "load_task_policy",
           "pretrained_config"]
