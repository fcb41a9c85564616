"""`bridge:<adapter>` env ids → a simulator factory plus the policy's view of it.

A `BridgedEnv` says how to start the simulators (a picklable `factory` and its `spec`)
and how the policy sees them: which observation fields it reads (`policy_obs`), its
jaxcraft observation/action spaces (for `jaxcraft.build.make_network`), and how a sampled
policy action becomes the bridge's action fields (`to_bridge_action`).

Built-in ids (the `bridge` config section holds their options):
  bridge:crafter        Crafter, 64×64×3 uint8 RGB (bridge.frame_size), Discrete(17)
  bridge:load           LoadSimEnv: synthetic frames, lognormal latency (bridge.load.latency_s)
  bridge:null           NullSimEnv: no work (bridge overhead)
  bridge:jaxcraft-world the JaxCraft world (built-in reward) stepped in the workers, one world per
                        env: obs {"rgb": frame_size² uint8} as for `jaxcraft:world`, its
                        MultiDiscrete 9 buttons + 2 camera bins (`jaxcraft.world.bridge_sim`)
  bridge:gym:<id>       any gymnasium id with Box observations and a Discrete/MultiDiscrete action
  bridge:minetest       Minetest 5.6 cross-view tasks (`jaxcraft.train.bridged.minetest`, which registers itself: docs/minetest.md)
  bridge:minerl[:<id>]  MineRL 1.0 (not installable here): pov resized to frame_size,
                        MultiDiscrete 20 buttons × 2 + camera pitch/yaw in 11 bins each
They are registered into `jaxcraft.registry.BRIDGED_ENVS` by `register` (called by
`jaxcraft.build`); add your own with `BRIDGED_ENVS.register(id, builder)`, `builder(config) -> BridgedEnv`.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

import numpy as np

from bridge import EnvSpec
from bridge.adapters.crafter_env import CrafterFactory
from bridge.adapters.gymnasium_env import GymnasiumFactory, spec_from_spaces
from bridge.adapters.load_sim import LoadSimConfig, LoadSimFactory, NullSimFactory
from bridge.adapters.minerl_env import BUTTONS, MineRLActionMap, MineRLFactory, minerl_spec
from jaxcraft.config import ConfigError, ExperimentConfig
from jaxcraft.envs.spaces import Box, Discrete, MultiDiscrete, Space
from jaxcraft.world import WorldStatic, actions
from jaxcraft.world.bridge_sim import OBS_FIELD, WorldSimFactory


@dataclasses.dataclass(frozen=True)
class BridgedEnv:
    """One simulator kind as the bridged trainer sees it."""

    factory: Callable[[int], Any]          # picklable: env index -> bridge Simulator
    spec: EnvSpec                          # the simulator's fields (no probe needed)
    observation_space: Any                 # jaxcraft space (or dict of spaces) of policy_obs
    action_space: Space                    # Discrete or MultiDiscrete
    obs_key: str | None = None             # field the policy reads; None = the whole dict
    action_fn: Callable[[np.ndarray], Any] | None = None  # policy action -> bridge action(s)

    def policy_obs(self, obs: Mapping[str, Any]) -> Any:
        """The policy's observation (a field, or the dict) from a batch's obs dict."""
        return obs[self.obs_key] if self.obs_key is not None else dict(obs)

    def to_bridge_action(self, action: np.ndarray) -> Any:
        """Policy actions [B, ...] → what `Pool.send` takes (dict of fields or one array)."""
        if self.action_fn is not None:
            return self.action_fn(action)
        (key,) = self.spec.action
        return np.asarray(action).astype(self.spec.action[key].dtype, copy=False)



def _space_of(field) -> Space:
    return Box(field.low if field.low is not None else -np.inf,
               field.high if field.high is not None else np.inf, tuple(field.shape), field.dtype)


def _select_obs(spec: EnvSpec, obs_key: str) -> tuple[str | None, Any]:
    fields = spec.observation
    if obs_key:
        if obs_key not in fields:
            raise ConfigError(f"bridge.obs_key={obs_key!r}: {spec.name} has observation fields {sorted(fields)}")
        return obs_key, _space_of(fields[obs_key])
    if len(fields) == 1:
        (key,) = fields
        return key, _space_of(fields[key])
    return None, {k: _space_of(f) for k, f in fields.items()}


def _discrete_action(spec: EnvSpec) -> Space:
    if len(spec.action) != 1:
        raise ConfigError(f"{spec.name}: the bridged trainer maps a single discrete action field; "
                          f"this simulator has {sorted(spec.action)} (register a builder with an action_fn)")
    (key,) = spec.action
    f = spec.action[key]
    if f.dtype.kind not in "iu" or f.low is None or f.high is None or np.any(np.asarray(f.low) != 0):
        raise ConfigError(f"{spec.name}: action field {key!r} must be integers in [0, n) for the policy, "
                          f"got {f.dtype} [{f.low}, {f.high}]")
    if f.shape == ():
        return Discrete(int(f.high) + 1)
    return MultiDiscrete(tuple(int(h) + 1 for h in np.broadcast_to(f.high, f.shape)))


def _from_gym_factory(factory: Any, config: ExperimentConfig) -> BridgedEnv:
    env = factory.gym_env()
    try:
        spec = spec_from_spaces(env.observation_space, env.action_space, config.env.name)
    finally:
        env.close()
    key, obs_space = _select_obs(spec, config.bridge.obs_key)
    return BridgedEnv(factory=factory, spec=spec, observation_space=obs_space,
                      action_space=_discrete_action(spec), obs_key=key)


def _crafter(config: ExperimentConfig) -> BridgedEnv:
    kw = {}
    if config.bridge.frame_size:
        kw["size"] = config.bridge.frame_size
    if config.env.max_episode_steps:
        kw["length"] = config.env.max_episode_steps
    try:
        import crafter  # noqa: F401  (optional extra jaxcraft[crafter]: only for bridge:crafter)
    except ImportError:
        raise ConfigError("env.name='bridge:crafter' needs Crafter: pip install 'jaxcraft[crafter]'") from None
    return _from_gym_factory(CrafterFactory(**kw), config)


def _load_config(config: ExperimentConfig):
    b = config.bridge
    kw = dict(latency_median_s=b.load.latency_s, busy_wait=b.load.busy_wait, terminate_prob=b.load.terminate_prob)
    if b.frame_size:
        kw["frame_shape"] = (b.frame_size, b.frame_size, 3)
    if config.env.max_episode_steps:
        kw["episode_length"] = config.env.max_episode_steps
    return LoadSimConfig(**kw)


def _load(config: ExperimentConfig) -> BridgedEnv:
    if not config.bridge.obs_key:  # the policy sees the frame, not the debug state
        config = dataclasses.replace(config, bridge=dataclasses.replace(config.bridge, obs_key="pov"))
    return _from_gym_factory(LoadSimFactory(_load_config(config)), config)


def _null(config: ExperimentConfig) -> BridgedEnv:
    kw = {}
    if config.bridge.frame_size:
        kw["frame_shape"] = (config.bridge.frame_size, config.bridge.frame_size, 3)
    if config.env.max_episode_steps:
        kw["episode_length"] = config.env.max_episode_steps
    return _from_gym_factory(NullSimFactory(**kw), config)


def _gym(config: ExperimentConfig) -> BridgedEnv:
    gym_id = config.env.name.split(":", 2)[2]
    kwargs = {"max_episode_steps": config.env.max_episode_steps} if config.env.max_episode_steps else {}
    return _from_gym_factory(GymnasiumFactory(gym_id, kwargs), config)


def _minerl(config: ExperimentConfig) -> BridgedEnv:
    parts = config.env.name.split(":", 2)
    env_id = parts[2] if len(parts) > 2 else "MineRLBasaltFindCave-v0"
    size = config.bridge.frame_size or 128
    spec = minerl_spec((size, size))
    amap = MineRLActionMap(num_buttons=len(BUTTONS))
    return BridgedEnv(factory=MineRLFactory(env_id=env_id, pov_size=(size, size)), spec=spec,
                      observation_space=_space_of(spec.observation["pov"]),
                      action_space=MultiDiscrete((2,) * len(BUTTONS) + (amap.bins, amap.bins)),
                      obs_key="pov", action_fn=amap)


def _jaxcraft_world(config: ExperimentConfig) -> BridgedEnv:
    size = config.bridge.frame_size or 64
    factory = WorldSimFactory(static=WorldStatic(height=size, width=size), max_steps=config.env.max_episode_steps)
    spec = factory.spec()
    # The policy sees the observation dict {"rgb": ...}, exactly like the fused `jaxcraft:world`.
    return BridgedEnv(factory=factory, spec=spec, observation_space={OBS_FIELD: _space_of(spec.observation[OBS_FIELD])},
                      action_space=MultiDiscrete(actions.NVEC, actions.NAMES), obs_key=None)


def register(bridged_envs) -> None:
    """Register the built-in adapters into `bridged_envs` (a `jaxcraft.registry.Registry`)."""
    for name, builder in (("bridge:crafter", _crafter), ("bridge:jaxcraft-world", _jaxcraft_world),
                          ("bridge:load", _load), ("bridge:null", _null), ("bridge:gym:", _gym),
                          ("bridge:minerl", _minerl), ("bridge:minerl:", _minerl)):
        bridged_envs.register(name, builder)
