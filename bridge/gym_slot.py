"""One gymnasium env inside a bridge worker, with gymnasium's own vector semantics.

`BridgeVectorEnv(env_fns)` runs each `env_fns[i]()` (cloudpickled, like AsyncVectorEnv)
inside a `GymEnvSlot`, which does exactly what gymnasium's `_async_worker` does per env:
the autoreset mode (NEXT_STEP: the step after an episode end resets and returns reward
0; SAME_STEP: reset inside the ending step, `final_obs`/`final_info` in the info;
DISABLED: never), `reset(seed, options)`, `call`/`get_attr`/`set_attr` through the
wrapper chain, and the space check. The pool runs with `auto_reset=False`, so episode
ends are the slot's business.

Observations of spaces that fit the slabs (`fits_slabs`) go through shared memory; the
env's info dict — and the observation itself for any other space (Tuple, nested Dict,
Text, Graph, Sequence, OneOf, custom) — travel pickled as `extras = (obs | None, info)`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.spaces.utils import is_space_dtype_shape_equiv

from bridge.spec import SINGLE_ACTION_FIELD, SINGLE_OBS_FIELD, EnvSpec

GENERAL_FIELD = "__pickled__"  # placeholder field of a space that does not fit the slabs
_NOT_CALLABLE = ("reset", "step", "close", "_setattr", "_check_spaces")


@dataclass(frozen=True)
class RawAction:
    """One env's action sent pickled, exactly as the caller gave it (not cast to the slab's
    dtype): what `BridgeVectorEnv.step_async` sends when the actions' dtype differs from
    the space's, so the env receives what AsyncVectorEnv would give it."""

    value: Any


class GymEnvSlot:
    """A `Simulator` (with `take_extras`) around one gymnasium env; see the module doc."""

    def __init__(self, env: gym.Env, spec: EnvSpec, mode: AutoresetMode,
                 fast_obs: bool, fast_action: bool):
        self.env, self.spec, self.mode = env, spec, mode
        self.fast_obs, self.fast_action = fast_obs, fast_action
        self._dict_obs = isinstance(env.observation_space, gym.spaces.Dict)
        self._dict_act = isinstance(env.action_space, gym.spaces.Dict)
        self._autoreset = False
        self._extras: Any = None
        self._empty = {GENERAL_FIELD: np.zeros(0, np.uint8)}

    def _emit(self, obs: Any, info: dict) -> dict[str, np.ndarray]:
        if self.fast_obs:
            if info:
                self._extras = (None, info)
            return obs if self._dict_obs else {SINGLE_OBS_FIELD: obs}
        self._extras = (obs, info)
        return self._empty

    def take_extras(self) -> Any:
        x, self._extras = self._extras, None
        return x

    def _action(self, action: Any) -> Any:
        if isinstance(action, RawAction):
            return action.value
        if not self.fast_action:
            return action  # the object sent by the pool, as gymnasium's iterate() gave it
        # Slab views are only valid during the call: copy (a 0-d view becomes a scalar).
        conv = {k: (v[()] if v.ndim == 0 else np.array(v)) for k, v in action.items()}
        return conv if self._dict_act else conv[SINGLE_ACTION_FIELD]

    def reset(self, seed: int | None, options: dict | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        self._autoreset = False
        return self._emit(obs, info)

    def step(self, action: Any):
        if self.mode == AutoresetMode.NEXT_STEP and self._autoreset:
            obs, info = self.env.reset()
            reward, terminated, truncated = 0.0, False, False
        else:
            obs, reward, terminated, truncated, info = self.env.step(self._action(action))
            if self.mode == AutoresetMode.SAME_STEP and (terminated or truncated):
                reset_obs, reset_info = self.env.reset()
                info = {"final_info": info, "final_obs": obs, **reset_info}
                obs = reset_obs
        self._autoreset = bool(terminated or truncated)
        return self._emit(obs, info), reward, terminated, truncated

    # -- CALL targets (Pool.call) --------------------------------------------------
    def env_call(self, name: str, args: tuple, kwargs: dict) -> Any:
        if name in _NOT_CALLABLE:
            raise ValueError(f"Trying to call function `{name}` with `call`, use `{name}` "
                             f"directly instead.")
        attr = self.env.get_wrapper_attr(name)
        return attr(*args, **kwargs) if callable(attr) else attr

    def env_set(self, name: str, value: Any) -> None:
        self.env.set_wrapper_attr(name, value)

    def spaces_match(self, obs_mode: str, obs_space: gym.Space, act_space: gym.Space):
        same_obs = (obs_space == self.env.observation_space if obs_mode == "same"
                    else is_space_dtype_shape_equiv(obs_space, self.env.observation_space))
        return same_obs, act_space == self.env.action_space

    def close(self) -> None:
        self.env.close()


@dataclass(frozen=True)
class EnvFnsFactory:
    """Picklable factory over cloudpickled `env_fns` (env i runs `env_fns[i]()`)."""

    env_fns: tuple[bytes, ...]
    spec: EnvSpec
    autoreset_mode: AutoresetMode
    fast_obs: bool
    fast_action: bool

    def __call__(self, env_index: int) -> GymEnvSlot:
        import cloudpickle
        env = cloudpickle.loads(self.env_fns[env_index])()
        return GymEnvSlot(env, self.spec, self.autoreset_mode, self.fast_obs, self.fast_action)
