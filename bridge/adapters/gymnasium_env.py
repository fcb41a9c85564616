"""Any `gymnasium.Env` as a bridge `Simulator`, plus gymnasium-space <-> spec translation.

Box/Discrete/MultiDiscrete/MultiBinary spaces (and flat Dicts of them) become fixed-shape
fields; a non-dict observation/action becomes the single field "obs"/"action".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import gymnasium as gym
import numpy as np

from bridge.spec import SINGLE_ACTION_FIELD, SINGLE_OBS_FIELD, ArraySpec, EnvSpec


def space_to_fields(space: gym.Space, single_name: str) -> dict[str, ArraySpec]:
    if isinstance(space, gym.spaces.Dict):
        out = {}
        for k, sub in space.spaces.items():
            if isinstance(sub, gym.spaces.Dict):
                raise TypeError(f"nested Dict space at {k!r} is not supported; flatten it")
            out[k] = _leaf(sub, k)
        return out
    return {single_name: _leaf(space, single_name)}


def _leaf(space: gym.Space, name: str) -> ArraySpec:
    if isinstance(space, gym.spaces.Box):
        return ArraySpec(space.shape, space.dtype, space.low, space.high)
    # Declared dtypes are kept (an int32 Discrete observation stays int32).
    if isinstance(space, gym.spaces.Discrete):
        lo = int(space.start)
        return ArraySpec((), space.dtype, lo, lo + int(space.n) - 1)
    if isinstance(space, gym.spaces.MultiDiscrete):
        lo = np.asarray(space.start, np.int64)
        return ArraySpec(space.shape, space.dtype, lo, lo + np.asarray(space.nvec, np.int64) - 1)
    if isinstance(space, gym.spaces.MultiBinary):
        return ArraySpec(space.shape, space.dtype, 0, 1)
    raise TypeError(f"field {name!r}: unsupported space {space}")


def fits_slabs(space: gym.Space) -> bool:
    """True if `space` maps to fixed-shape fields (the fast shared-memory path): Box,
    Discrete, MultiDiscrete, MultiBinary, or a flat Dict of them (exact types only —
    subclasses may batch differently)."""
    leaves = (gym.spaces.Box, gym.spaces.Discrete, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary)
    if type(space) is gym.spaces.Dict:
        return len(space.spaces) > 0 and all(type(s) in leaves for s in space.spaces.values())
    return type(space) in leaves


def spec_from_spaces(observation_space: gym.Space, action_space: gym.Space,
                     name: str = "gymnasium") -> EnvSpec:
    return EnvSpec(observation=space_to_fields(observation_space, SINGLE_OBS_FIELD),
                   action=space_to_fields(action_space, SINGLE_ACTION_FIELD), name=name,
                   extra={"observation_space": observation_space, "action_space": action_space})


class GymnasiumSimulator:
    """Wraps one gymnasium env. reset(seed) seeds it; reset(None) continues its RNG."""

    def __init__(self, env: gym.Env, name: str | None = None):
        self.env = env
        self._dict_obs = isinstance(env.observation_space, gym.spaces.Dict)
        self._dict_act = isinstance(env.action_space, gym.spaces.Dict)
        self._discrete = {k for k, s in self._action_leaves().items()
                          if isinstance(s, gym.spaces.Discrete)}
        self.spec = spec_from_spaces(env.observation_space, env.action_space,
                                     name or getattr(env.spec, "id", None) or type(env).__name__)

    def _action_leaves(self) -> Mapping[str, gym.Space]:
        s = self.env.action_space
        return dict(s.spaces) if self._dict_act else {SINGLE_ACTION_FIELD: s}

    def _obs(self, obs: Any) -> dict[str, np.ndarray]:
        return obs if self._dict_obs else {SINGLE_OBS_FIELD: obs}

    def _action(self, action: Mapping[str, np.ndarray]) -> Any:
        conv = {k: (int(v) if k in self._discrete else np.array(v)) for k, v in action.items()}
        return conv if self._dict_act else conv[SINGLE_ACTION_FIELD]

    def reset(self, seed: int | None):
        obs, _info = self.env.reset(seed=seed)
        return self._obs(obs)

    def step(self, action):
        obs, reward, terminated, truncated, _info = self.env.step(self._action(action))
        return self._obs(obs), float(reward), bool(terminated), bool(truncated)

    def close(self) -> None:
        self.env.close()


@dataclass(frozen=True)
class GymnasiumFactory:
    """Picklable factory: `gymnasium.make(env_id, **kwargs)` or `make_env()` per env."""

    env_id: str | None = None
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    make_env: Callable[[], gym.Env] | None = None

    def __post_init__(self):
        if (self.env_id is None) == (self.make_env is None):
            raise ValueError("give exactly one of env_id or make_env")

    def gym_env(self) -> gym.Env:
        return gym.make(self.env_id, **self.kwargs) if self.env_id else self.make_env()

    def __call__(self, env_index: int) -> GymnasiumSimulator:
        return GymnasiumSimulator(self.gym_env())
