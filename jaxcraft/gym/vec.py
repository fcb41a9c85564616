"""A gymnasium `VectorEnv` that steps a whole batch of JaxCraft envs in one jitted call.

    import jaxcraft
    envs = jaxcraft.make_vec("JaxCraft-Approach-v0", num_envs=8, frame_size=32)   # or gymnasium.make_vec
    obs, info = envs.reset(seed=0)          # dict of numpy arrays [N, ...]
    obs, reward, terminated, truncated, info = envs.step(envs.action_space.sample())

EnvPool-style: numpy actions in, one jitted `BatchedEnv.step` over the batch, one device → host
copy of the whole result out. Finished envs restart from `BatchedEnv`'s pool of pre-generated
resets (`pool_size`, default num_envs // 2; 0 = a fresh reset per finished env, exact per-env
streams but a world generation per env per step).

Auto-reset (`metadata["autoreset_mode"]`):
* `AutoresetMode.NEXT_STEP` (default, gymnasium 1.x's own): the step that ends an episode returns
  its last observation and terminated/truncated; the *next* `step` ignores that env's action and
  returns the new episode's first observation with reward 0 and terminated = truncated = False.
  (The env's info for that call is zeroed.) Learners must not train on that transition.
* `AutoresetMode.SAME_STEP`: the ending step returns the new episode's first observation and puts
  the last one in `info["final_obs"]` (dict of [N, ...] arrays, valid where `info["_final_obs"]`).

Both modes add `info["episode"] = {"r", "l"}` (return, length; valid where `info["_episode"]`),
like `gymnasium.wrappers.vector.RecordEpisodeStatistics`. The env's own step info (task envs:
success, family, distance, task_id, target_visible, target_centroid, world events) is passed
through as [N] arrays. `reset(seed=s)` makes the run a pure function of s.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from jaxcraft.envs.batched import BatchedEnv, BatchedEnvState
from jaxcraft.gym.ids import ResetNeededError, as_space_dtypes, build_env, register_gymnasium_envs, to_gym_space


def _select(mask: jax.Array, a: Any, b: Any) -> Any:
    """Per-env where(mask, a, b) over pytrees with a leading [N] axis."""
    return jax.tree.map(lambda x, y: jnp.where(mask.reshape(mask.shape + (1,) * (x.ndim - 1)), x, y), a, b)


@dataclasses.dataclass(frozen=True)
class _Program:
    """What fixes the compiled program (hashable): vector envs that agree share compilations."""

    env: Any
    num_envs: int
    pool_size: int
    refresh_per_step: int

    def batched(self, params: Any) -> BatchedEnv:
        return BatchedEnv(self.env, params, pool_size=self.pool_size, refresh_per_step=self.refresh_per_step)


@functools.partial(jax.jit, static_argnums=0)
def _reset(prog: _Program, params: Any, key: jax.Array):
    key, k_envs, k_pool = jax.random.split(key, 3)
    bstate = prog.batched(params).reset(jax.random.split(k_envs, prog.num_envs), k_pool)
    pending = jnp.zeros((prog.num_envs,), bool)
    return (bstate, pending, jax.random.split(key, prog.num_envs)), bstate.obs


@functools.partial(jax.jit, static_argnums=0, donate_argnums=3)
def _step(prog: _Program, params: Any, next_step: jax.Array, carry, action):
    """One batch step. next_step (traced bool): NEXT_STEP semantics, else SAME_STEP."""
    bstate, pending, keys = carry   # pending: [N] the env's episode ended last call (NEXT_STEP only)
    keys, step_keys = jax.vmap(lambda k: tuple(jax.random.split(k)))(keys)
    new, out = prog.batched(params).step(bstate, action, step_keys)
    env_info = {k: v for k, v in out.info.items() if k not in ("next_obs", "episode_return", "episode_length", "done")}

    # Envs pending were reset by the previous call; this call only reports their first observation.
    def keep_reset(s: BatchedEnvState) -> BatchedEnvState:
        return s.replace(env_state=_select(pending, bstate.env_state, s.env_state),
                         obs=_select(pending, bstate.obs, s.obs))
    new = jax.lax.cond(pending.any(), keep_reset, lambda s: s, new)
    live = ~pending
    new = new.replace(episode_return=jnp.where(live, new.episode_return, 0.0),
                      episode_length=jnp.where(live, new.episode_length, 0))
    reward = jnp.where(live, out.reward, 0.0)
    terminated, truncated = out.terminated & live, out.truncated & live
    env_info = _select(live, env_info, jax.tree.map(jnp.zeros_like, env_info))
    done = terminated | truncated
    obs = jax.tree.map(lambda a, b: jnp.where(next_step, a, b), _select(pending, bstate.obs, out.obs), new.obs)
    info = {**env_info, "final_obs": out.obs, "_final_obs": done, "_episode": done,
            "episode": {"r": jnp.where(done, out.info["episode_return"], 0.0),
                        "l": jnp.where(done, out.info["episode_length"], 0)}}
    return (new, done & next_step, keys), (obs, reward, terminated, truncated, info)


class JaxCraftVectorEnv(VectorEnv):
    """`num_envs` JaxCraft envs of one gymnasium id, stepped together in one jitted call."""

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(self, env_id: str, num_envs: int = 8, *, pool_size: int | None = None,
                 refresh_per_step: int = 1, autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
                 **options: Any):
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        mode = AutoresetMode(autoreset_mode)
        if mode not in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP):
            raise ValueError(f"autoreset_mode {mode.value!r} not supported; use NextStep or SameStep")
        self.metadata = {**self.metadata, "autoreset_mode": mode}
        self.env_id = env_id
        env, self.params = build_env(env_id, **options)
        pool_size = max(1, num_envs // 2) if pool_size is None else pool_size
        self.env = env
        self._prog = _Program(env, num_envs, pool_size, refresh_per_step)
        self.num_envs = num_envs
        self.single_observation_space = to_gym_space(env.observation_space(self.params))
        self.single_action_space = to_gym_space(env.action_space(self.params))
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._next_step = mode == AutoresetMode.NEXT_STEP
        self._carry = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise TypeError(f"{self.env_id}: reset takes one int seed (the whole batch derives from it), got {seed!r}")
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1)[0] >> 1)
        self._carry, obs = _reset(self._prog, self.params, jax.random.key(int(seed)))
        return as_space_dtypes(jax.device_get(obs), self.observation_space), {}

    def step(self, actions):
        if self._carry is None:
            raise ResetNeededError(f"{self.env_id}: call reset() before step()")
        actions = np.asarray(actions)
        if actions.shape != self.action_space.shape:
            raise ValueError(f"{self.env_id}: actions must have shape {self.action_space.shape}, got {actions.shape}")
        self._carry, (obs, reward, terminated, truncated, info) = _step(
            self._prog, self.params, jnp.asarray(self._next_step), self._carry, jnp.asarray(actions, jnp.int32))
        if self._next_step:   # no final_obs in NEXT_STEP mode: do not copy it to the host
            info = {k: v for k, v in info.items() if k not in ("final_obs", "_final_obs")}
        obs, reward, terminated, truncated, info = jax.device_get((obs, reward, terminated, truncated, info))
        if "final_obs" in info:
            info["final_obs"] = as_space_dtypes(info["final_obs"], self.observation_space)
        return as_space_dtypes(obs, self.observation_space), reward, terminated, truncated, info

    def close_extras(self, **kwargs):
        self._carry = None


def make_vec(env_id: str, num_envs: int = 8, **kwargs: Any) -> JaxCraftVectorEnv:
    """`gymnasium.make_vec` for a JaxCraft id (registers the ids first); see the module doc."""
    register_gymnasium_envs()
    return gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs)
