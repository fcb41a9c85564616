"""One JaxCraft env as a `gymnasium.Env` (what `gymnasium.make(id)` returns).

For gymnasium's `check_env`, its Sync/AsyncVectorEnv and single-env tools; for batches use
`jaxcraft.make_vec` (one jitted call per batch step). Each step is a jitted pure step of the
functional env with no auto-reset: after terminated/truncated, call `reset`. The JAX key of
an episode comes from the env's `np_random` (so `reset(seed=s)` fixes the whole episode).
"""
from __future__ import annotations

from typing import Any

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np

from bridge import crossview as X
from jaxcraft.envs.base import step_without_reset
from jaxcraft.gym.ids import ResetNeededError, as_space_dtypes, build_env, to_gym_space


# Module-level and keyed by the (hashable) env: every instance of one config shares the compilation.
_reset = jax.jit(lambda env, key, params: env.reset_env(key, params), static_argnums=0)
_step = jax.jit(lambda env, key, state, action, params: step_without_reset(env, key, state, action, params),
                static_argnums=0)


class JaxCraftGymEnv(gym.Env):
    """A single JaxCraft world or cross-view task env with numpy observations and actions."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, env_id: str, render_mode: str | None = None, **options: Any):
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.env_id, self.render_mode = env_id, render_mode
        self.env, self.params = build_env(env_id, **options)
        self.observation_space = to_gym_space(self.env.observation_space(self.params))
        self.action_space = to_gym_space(self.env.action_space(self.params))
        self._state = self._key = self._obs = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        key = jax.random.key(int(self.np_random.integers(2 ** 31)))
        self._key, sub = jax.random.split(key)
        obs, self._state = _reset(self.env, sub, self.params)
        self._obs = as_space_dtypes(jax.device_get(obs), self.observation_space)
        return self._obs, {}

    def step(self, action):
        if self._state is None:
            raise ResetNeededError(f"{self.env_id}: call reset() before step()")
        action = np.asarray(action)
        if action.shape != self.action_space.shape:
            raise ValueError(f"{self.env_id}: action must have shape {self.action_space.shape}, got {action.shape}")
        self._key, sub = jax.random.split(self._key)
        out = _step(self.env, sub, self._state, jnp.asarray(action, jnp.int32), self.params)
        self._state = out.state
        obs, reward, terminated, truncated, info = jax.device_get(
            (out.obs, out.reward, out.terminated, out.truncated, out.info))
        self._obs = obs = as_space_dtypes(obs, self.observation_space)
        return obs, float(reward), bool(terminated), bool(truncated), info

    def render(self):
        if self.render_mode == "rgb_array" and self._obs is not None:
            return np.asarray(self._obs[X.RGB])   # the agent frame: world envs name it as the task schema does
        return None
