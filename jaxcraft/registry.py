"""Build environments and networks from config names.

Env ids:
  gymnax:<id>       any gymnax environment, e.g. gymnax:CartPole-v1, gymnax:Breakout-MinAtar
  jaxcraft:<id>     jaxcraft's own worlds/tasks (registered by jaxcraft.world / jaxcraft.tasks)
Other packages can add their own with `register_env(prefix_or_id, factory)`.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable

from jaxcraft.config import ConfigError, EnvConfig, NetConfig
from jaxcraft.envs.spaces import from_gymnax, nvec_of

EnvFactory = Callable[..., tuple[Any, Any]]
_ENVS: dict[str, EnvFactory] = {}
_TAKES_TASK: set[str] = set()
_NETS: dict[str, Callable[[NetConfig, Any, Any], Any]] = {}


def register_env(env_id: str, factory: EnvFactory, takes_task: bool = False) -> None:
    """Register `factory(env_config) -> (env, params)` under an exact id; with `takes_task`
    the factory is called as `factory(env_config, task_config)` (cross-view task envs)."""
    _ENVS[env_id] = factory
    if takes_task:
        _TAKES_TASK.add(env_id)


def register_net(kind: str, factory: Callable[[NetConfig, Any, Any], Any]) -> None:
    """Register `factory(net_config, observation_space, action_space) -> ActorCritic`."""
    _NETS[kind] = factory


def _with_time_limit(params: Any, max_steps: int) -> Any:
    if not max_steps:
        return params
    if not hasattr(params, "max_steps_in_episode"):
        raise ConfigError(f"env.max_episode_steps={max_steps}: this env's params have no max_steps_in_episode")
    return params.replace(max_steps_in_episode=max_steps) if hasattr(params, "replace") else dataclasses.replace(params, max_steps_in_episode=max_steps)


def make_env(config: EnvConfig, task: Any = None) -> tuple[Any, Any]:
    """(env, params) for `config.name`; `task` is the experiment's `TaskConfig` (task envs only)."""
    name = config.name
    if name.startswith("gymnax:"):
        import gymnax
        gid = name.split(":", 1)[1]
        if gid not in gymnax.registered_envs:
            raise ConfigError(f"env.name={name!r}: unknown gymnax id; known: {', '.join(gymnax.registered_envs)}")
        env, params = gymnax.make(gid)
        return env, _with_time_limit(params, config.max_episode_steps)
    if name.startswith("jaxcraft:"):
        _load_jaxcraft_envs()
    if name not in _ENVS:
        raise ConfigError(f"env.name={name!r} is not registered; known: gymnax:<id>, {', '.join(sorted(_ENVS)) or '(none)'}")
    if name in _TAKES_TASK:
        from jaxcraft.tasks.config import TaskConfig
        env, params = _ENVS[name](config, TaskConfig() if task is None else task)
    else:
        env, params = _ENVS[name](config)
    return env, _with_time_limit(params, config.max_episode_steps)


def _load_jaxcraft_envs() -> None:
    # The world and task packages register their ids on import; import lazily so that
    # jaxcraft.ppo / gymnax users never pay for them.
    for module in ("jaxcraft.world.registration", "jaxcraft.tasks.registration"):
        try:
            __import__(module)
        except ModuleNotFoundError as e:
            # Only a missing package of ours is fine (e.g. jaxcraft.tasks before it exists).
            if e.name is None or not module.startswith(e.name):
                raise


def action_distribution(action_space: Any):
    """The PPO action distribution for a Discrete or MultiDiscrete space."""
    from jaxcraft.envs.spaces import Discrete
    from jaxcraft.ppo.distributions import FactorisedCategorical

    space = from_gymnax(action_space)
    return FactorisedCategorical(nvec_of(space), scalar=isinstance(space, Discrete))


def make_network(config: NetConfig, observation_space: Any, action_space: Any):
    """An `ActorCritic` for the env's spaces."""
    from jaxcraft.nets import ActorCritic, CNNEncoder, MLPEncoder

    dist = action_distribution(action_space)
    if config.kind in _NETS:
        return _NETS[config.kind](config, observation_space, action_space)
    if config.kind == "mlp":
        make = functools.partial(MLPEncoder, hidden=config.hidden, act=config.activation)
    elif config.kind == "cnn":
        make = functools.partial(CNNEncoder, channels=config.channels, hidden=config.hidden, act=config.activation)
    else:
        raise ConfigError(f"net.kind={config.kind!r}; choose mlp, cnn or one of {sorted(_NETS)}")
    return ActorCritic(make_encoder=make, num_logits=dist.num_logits, core_size=config.core_size,
                       act=config.activation, separate_critic=config.separate_critic)
