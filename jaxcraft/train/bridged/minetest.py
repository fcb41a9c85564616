"""`bridge:minetest`: Minetest cross-view tasks as a `BridgedEnv` for the bridged trainer/eval.

    from jaxcraft.train.bridged.minetest import minetest_bridged_env
    env = minetest_bridged_env(config)      # config.task: families, distances, frame size ...

The policy sees the cross-view schema's policy keys (`bridge.crossview.ObservationSchema`:
{"rgb", "goal_rgb", "goal_mask", "family"}) exactly as in `jaxcraft:tasks` and
acts with the world's MultiDiscrete (9 buttons + 2 camera bins), so a policy trained in the
JaxCraft world runs on Minetest unchanged; the simulator's privileged `info` field is hidden
from it. Families without a Minetest counterpart (hunt) are dropped; frames are
`bridge.frame_size` or `task.frame_size`; episodes `env.max_episode_steps` or `task.max_steps`.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from bridge.adapters.minetest.process import missing_reason
from bridge.adapters.minetest.scene import SUPPORTED_FAMILIES
from bridge.adapters.minetest_env import MinetestConfig, MinetestFactory, minetest_schema
from bridge.crossview import POLICY_KEYS
from jaxcraft.config import ConfigError, ExperimentConfig
from jaxcraft.envs.spaces import MultiDiscrete, schema_spaces
from jaxcraft.train.bridged.envs import BridgedEnv
from jaxcraft.world import actions as A

POLICY_FIELDS = POLICY_KEYS   # the simulator's privileged `info` is not among them


@dataclasses.dataclass(frozen=True)
class MinetestBridgedEnv(BridgedEnv):
    """A `BridgedEnv` whose policy observation leaves out the privileged `info` field."""

    def policy_obs(self, obs: Mapping[str, Any]) -> Any:
        return {k: obs[k] for k in POLICY_FIELDS}


def minetest_config(config: ExperimentConfig, **overrides):
    """The `MinetestConfig` of an experiment: frame_size = bridge.frame_size or task.frame_size, families
    (those Minetest supports) and distances = task.*, max_steps = env.max_episode_steps or task.max_steps,
    num_distractors and success_reward = task.*; its other fields keep the adapter's defaults (it is no
    experiment section: `--set minetest.<field>` names the key that sets it)."""
    t = config.task
    families = tuple(f for f in t.families if f in SUPPORTED_FAMILIES)
    if not families:
        raise ConfigError(f"task.families={t.families!r}: Minetest supports {SUPPORTED_FAMILIES}")
    kw = dict(frame_size=config.bridge.frame_size or t.frame_size, families=families, distances=tuple(t.distances),
              max_steps=config.env.max_episode_steps or t.max_steps, num_distractors=t.num_distractors,
              success_reward=t.success_reward)
    kw.update(overrides)
    try:
        return MinetestConfig(**kw)
    except ValueError as e:
        raise ConfigError(str(e)) from None


def minetest_bridged_env(config: ExperimentConfig, schedules: tuple = ()) -> MinetestBridgedEnv:
    """The `bridge:minetest` builder (registered by `jaxcraft.train.bridged.envs.register`)."""
    why = missing_reason()
    if why is not None:
        raise ConfigError(f"env.name='bridge:minetest': {why}")
    factory = MinetestFactory(minetest_config(config), schedules)
    spec = factory.spec()
    return MinetestBridgedEnv(factory=factory, spec=spec, observation_space=schema_spaces(minetest_schema(factory.config)),
                              action_space=MultiDiscrete(A.NVEC, A.NAMES), obs_key=None)


def register(bridged_envs) -> None:
    """Register `bridge:minetest` into `bridged_envs` (a `jaxcraft.registry.Registry`); here, not in
    `bridged_envs.register`, because this module builds on `bridged_envs.BridgedEnv`."""
    bridged_envs.register("bridge:minetest", minetest_bridged_env)
