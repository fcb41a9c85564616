"""gymnasium ids of the JaxCraft world and its cross-view task families, and their registration.

    JaxCraft-World-v0        the world with its built-in reward (blocks broken, mobs killed, levers used)
    JaxCraft-CrossView-v0    ROCKET-3 cross-view tasks of every family
    JaxCraft-Approach-v0     one family each (jaxcraft/tasks/families.py):
    JaxCraft-Break-v0          approach, break, interact, hunt
    JaxCraft-Interact-v0
    JaxCraft-Hunt-v0

Options (keyword arguments of `jaxcraft.make_vec`, `gymnasium.make_vec` and `gymnasium.make`):
task ids take any `TaskConfig` field except `families` (JaxCraft-CrossView-v0 takes it too; e.g. `frame_size=32, distances=(20,),
split="unseen"`); the world takes `frame_size`, `world_size`, `world_height`, `view_distance`,
`max_steps`. Unknown options raise a `TypeError` listing the valid ones.

`register_gymnasium_envs()` registers every id with `gymnasium.register` (idempotent): a
`vector_entry_point` (one jitted call per batch step, `jaxcraft.gym.vec.JaxCraftVectorEnv`) and
an `entry_point` (one env, `jaxcraft.gym.single.JaxCraftGymEnv`, for `check_env` and for
gymnasium's Sync/AsyncVectorEnv). gymnasium 1.x loads no plugins from package entry points, so
`import jaxcraft` makes the call (`jaxcraft.register_gymnasium_ids`, JAX-free); the hook module
id, `gymnasium.make_vec("jaxcraft.gym.hook:JaxCraft-Approach-v0", 8)`, works too.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.error import ResetNeeded

from jaxcraft import register_gymnasium_ids
from jaxcraft.config.task import FAMILIES, TaskConfig
from jaxcraft.envs import spaces as S
from jaxcraft.tasks import make_task_env
from jaxcraft.world.env import JaxCraftEnv
from jaxcraft.world.params import WorldStatic

WORLD_ID, CROSS_VIEW_ID = "JaxCraft-World-v0", "JaxCraft-CrossView-v0"
# id -> task families (None = the plain world with its built-in reward).
ENV_IDS: dict[str, tuple[str, ...] | None] = {
    WORLD_ID: None,
    CROSS_VIEW_ID: FAMILIES,
    **{f"JaxCraft-{f.capitalize()}-v0": (f,) for f in FAMILIES},
}
WORLD_OPTIONS = ("frame_size", "world_size", "world_height", "view_distance", "max_steps")
TASK_OPTIONS = tuple(f.name for f in dataclasses.fields(TaskConfig) if f.name != "families")


def build_env(env_id: str, **options: Any) -> tuple[Any, Any]:
    """(functional env, params) of a gymnasium id; see the module doc for the options."""
    if env_id not in ENV_IDS:
        raise KeyError(f"unknown JaxCraft env id {env_id!r}; known: {', '.join(ENV_IDS)}")
    families = ENV_IDS[env_id]
    valid = WORLD_OPTIONS if families is None else TASK_OPTIONS + (("families",) if env_id == CROSS_VIEW_ID else ())
    # JSON round trips (gymnasium EnvSpec, Minari metadata) turn tuples into lists.
    options = {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}
    bad = sorted(set(options) - set(valid))
    if bad:
        raise TypeError(f"{env_id}: unknown option(s) {bad}; valid: {', '.join(valid)}")
    if families is None:
        frame = int(options.get("frame_size", 64))
        side = int(options.get("world_size", 64))
        static = WorldStatic(size_x=side, size_z=side, size_y=int(options.get("world_height", 32)),
                             height=frame, width=frame, view_distance=float(options.get("view_distance", 32.0)))
        env = JaxCraftEnv(static)
        params = env.default_params
        if "max_steps" in options:
            params = params.replace(max_steps_in_episode=np.int32(options["max_steps"]))
        return env, params

    config = TaskConfig(**{"families": families, **options})
    try:
        config.validate()
    except ValueError as e:
        raise ValueError(f"{env_id}: {e}") from None
    return make_task_env(config)


def to_gym_space(space: Any) -> gym.Space:
    """The gymnasium space of a jaxcraft space (or a dict of them, as the task observation)."""
    if isinstance(space, dict):
        return gym.spaces.Dict({k: to_gym_space(v) for k, v in space.items()})
    if isinstance(space, S.Discrete):
        return gym.spaces.Discrete(int(space.n))
    if isinstance(space, S.MultiDiscrete):
        return gym.spaces.MultiDiscrete(np.asarray(space.nvec, np.int64))
    if isinstance(space, S.Box):
        dtype = np.dtype(space.dtype)
        shape = tuple(space.shape)
        low, high = (np.broadcast_to(np.asarray(b, dtype), shape) for b in (space.low, space.high))
        return gym.spaces.Box(low, high, shape, dtype)
    raise TypeError(f"no gymnasium space for {type(space).__name__}")


class ResetNeededError(ResetNeeded, RuntimeError):
    """`step` before `reset`: gymnasium's `ResetNeeded` (what `gymnasium.make`'s order check
    raises), and the `RuntimeError` these envs raised before."""


def as_space_dtypes(obs: Any, space: gym.Space) -> Any:
    """`obs` (numpy, or a dict of numpy) with the dtypes `space` declares: the JAX side keeps
    `family` int32 where gymnasium's `Discrete` declares int64 (a `Discrete` value becomes a
    numpy scalar; arrays are not copied when the dtype already agrees)."""
    if isinstance(space, gym.spaces.Dict):
        return {k: as_space_dtypes(v, space[k]) if k in space.spaces else v for k, v in obs.items()}
    if isinstance(space, gym.spaces.Discrete):  # a numpy scalar, as gymnasium's check_env wants
        return np.asarray(obs, space.dtype)[()]
    dtype = getattr(space, "dtype", None)
    if dtype is None or getattr(obs, "dtype", dtype) == dtype:
        return obs
    return np.asarray(obs, dtype)


def register_gymnasium_envs() -> tuple[str, ...]:
    """Register every JaxCraft id with gymnasium (idempotent); returns the ids.
    `import jaxcraft` already makes this call (`jaxcraft.register_gymnasium_ids`)."""
    register_gymnasium_ids()
    return tuple(ENV_IDS)
