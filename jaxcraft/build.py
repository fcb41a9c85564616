"""The composition root: every built-in registration, and env + network + trainer from a config.

    from jaxcraft.build import make_env, make_network, make_trainer
    trainer = make_trainer(config)                      # FusedTrainer or BridgedTrainer
    env, env_params = make_env(config.env, config.task) # a JAX env (fused path)

This is the one module that imports across the layers (nets, world, tasks, train): the
packages below it register their factories into the plain maps of `jaxcraft.registry`
through explicit `register(...)` functions, called once here (`register_builtins`). A
plug-in of your own registers the same way before calling these functions.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Optional

from jaxcraft import registry
from jaxcraft.config import ConfigError, EnvConfig, ExperimentConfig, NetConfig, TaskConfig, is_bridged
from jaxcraft.config.fields import parse_value
from jaxcraft.envs import registration as envs
from jaxcraft.nets import registration as nets
from jaxcraft.ppo.acting import check_network
from jaxcraft.tasks import registration as tasks
from jaxcraft.train.bridged import envs as bridged_envs, minetest as bridged_minetest
from jaxcraft.train.bridged.trainer import BridgedTrainer
from jaxcraft.train.fused.trainer import FusedTrainer
from jaxcraft.train.run.loop import train as run_loop
from jaxcraft.world import registration as world

_registered = False


def register_builtins() -> None:
    """Register jaxcraft's own envs, nets, teachers and bridged adapters (idempotent)."""
    global _registered
    if _registered:
        return

    envs.register(registry.ENVS)
    world.register(registry.ENVS)
    tasks.register(registry.ENVS, registry.TEACHERS)
    nets.register(registry.NETS)
    bridged_envs.register(registry.BRIDGED_ENVS)
    bridged_minetest.register(registry.BRIDGED_ENVS)
    _registered = True


def _lookup(reg: registry.Registry, key: str, name: str):
    register_builtins()
    try:
        return reg.lookup(name)
    except registry.UnknownName as e:
        raise ConfigError(f"{key}={name!r}: {e}") from None


def _with_time_limit(params: Any, max_steps: int) -> Any:
    if not max_steps:
        return params
    if not hasattr(params, "max_steps_in_episode"):
        raise ConfigError(f"env.max_episode_steps={max_steps}: this env's params have no max_steps_in_episode")
    if hasattr(params, "replace"):
        return params.replace(max_steps_in_episode=max_steps)
    return dataclasses.replace(params, max_steps_in_episode=max_steps)


def _with_env_params(params: Any, overrides: tuple[str, ...]) -> Any:
    """params with each 'field=value' of `env.env_params` set, the value parsed as the field's current type."""
    for item in overrides:
        name, _, text = (x.strip() for x in item.partition("="))
        if not dataclasses.is_dataclass(params) or name not in {f.name for f in dataclasses.fields(params)}:
            known = ", ".join(f.name for f in dataclasses.fields(params)) if dataclasses.is_dataclass(params) else "none"
            raise ConfigError(f"env.env_params: {type(params).__name__} has no field {name!r} (fields: {known})")
        current = getattr(params, name)
        typ = bool if isinstance(current, bool) else int if isinstance(current, int) else float
        value = parse_value(text, typ, f"env.env_params {name}")
        params = params.replace(**{name: value}) if hasattr(params, "replace") else dataclasses.replace(params, **{name: value})
    return params


def make_env(config: EnvConfig | ExperimentConfig, task: Optional[TaskConfig] = None) -> tuple[Any, Any]:
    """(env, params) of a JAX env: `make_env(experiment)` or `make_env(env_section, task_section)`."""
    if isinstance(config, ExperimentConfig):
        experiment = config
    else:
        experiment = ExperimentConfig(env=config, task=TaskConfig() if task is None else task)
    factory = _lookup(registry.ENVS, "env.name", experiment.env.name)
    try:
        env, params = factory(experiment)
    except ValueError as e:   # a factory's own check (e.g. an unknown gymnax id, a bad task section)
        raise ConfigError(str(e)) from None
    return env, _with_env_params(_with_time_limit(params, experiment.env.max_episode_steps), experiment.env.env_params)


def make_network(config: NetConfig, observation_space: Any, action_space: Any):
    """The network of `config.kind` for the env's spaces."""
    network = _lookup(registry.NETS, "net.kind", config.kind)(config, observation_space, action_space)
    return check_network(network, f"net.kind={config.kind!r}")


def make_bridged_env(config: ExperimentConfig):
    """The `BridgedEnv` (simulator factory + policy view) of `config.env.name = "bridge:<adapter>"`."""
    return _lookup(registry.BRIDGED_ENVS, "env.name", config.env.name)(config)


def make_teacher(name: str):
    """The scripted teacher called `name` (`jaxcraft.tasks.teachers.Teacher`)."""
    return _lookup(registry.TEACHERS, "teacher", name)()


def teacher_names() -> list[str]:
    register_builtins()
    return registry.TEACHERS.names()


def make_trainer(config: ExperimentConfig, mesh: Any = None):
    """The `Trainer` of an experiment: bridged for `bridge:<adapter>` env ids, fused otherwise."""
    if is_bridged(config):
        env = make_bridged_env(config)
        network = make_network(config.net, env.observation_space, env.action_space)
        return BridgedTrainer(config, env, network, mesh)

    env, env_params = make_env(config)
    network = make_network(config.net, env.observation_space(env_params), env.action_space(env_params))
    return FusedTrainer(config, env, env_params, network, mesh)


def train(config: ExperimentConfig, **kwargs):
    """Build the trainer of `config` and run it to its budget (`jaxcraft.train.run.loop.train`; the
    trainer is closed at the end). Keyword arguments: resume, resume_step, max_updates."""
    return run_loop(config, make_trainer(config), owns_trainer=True, **kwargs)


__all__ = ["make_bridged_env", "make_env", "make_network", "make_teacher", "make_trainer", "register_builtins",
           "teacher_names", "train"]
