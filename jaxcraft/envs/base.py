"""The functional environment protocol shared by gymnax envs and jaxcraft's own worlds.

An environment is a stateless object with pure methods (gymnax's API):

    obs, state = env.reset_env(key, params)
    obs, state, reward, terminated, truncated, info = env.step_env(key, state, action, params)

`step_env` never auto-resets; auto-reset is the job of `BatchedEnv`, which resets only
the envs that finished and draws their fresh states from a pre-generated pool, so an
expensive world is never regenerated for every env every step.

gymnax envs plug in unchanged: their `step_env` returns the 5-tuple
`(obs, state, reward, done, info)` and truncation comes from `is_truncated(state, params)`;
`step_without_reset` normalises both forms to an `EnvStep`.
"""
from __future__ import annotations

import abc
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp


class EnvStep(NamedTuple):
    """One transition of one env (or a batch of them), before any auto-reset.

    obs:        observation after the step (the *final* observation when the episode ended).
    state:      env state after the step.
    reward:     float32 reward r_t.
    terminated: bool, the episode reached a terminal state (no bootstrap).
    truncated:  bool, the episode was cut (time limit, crashed simulator): bootstrap from V(obs).
    info:       dict of arrays with a static structure.
    """

    obs: Any
    state: Any
    reward: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    info: dict


def zero_observation(env: Any, params: Any, lead: tuple[int, ...] = (1, 1)) -> Any:
    """Zeros shaped like one observation of `env` (any env with `reset_env(key, params)`), with
    `lead` axes in front: what networks are initialised on. The reset is traced, not run: flax
    initialisers read only shapes, and a real reset of the JaxCraft world would synthesise a world
    op by op (hundreds of small compilations on CPU)."""
    shapes = jax.eval_shape(env.reset_env, jax.random.key(0), params)[0]
    return jax.tree.map(lambda s: jnp.zeros(tuple(lead) + s.shape, s.dtype), shapes)


class Environment(abc.ABC):
    """Base class for jaxcraft's own functional environments (gymnax-compatible).

    Subclasses implement `default_params`, `reset_env`, `step_env` (returning the
    6-tuple `obs, state, reward, terminated, truncated, info`), `action_space` and
    `observation_space`. `reset`/`step` mirror gymnax 1.x for users who call them
    directly (`step` auto-resets naively: use `BatchedEnv` in training loops).
    """

    @property
    @abc.abstractmethod
    def default_params(self) -> Any:
        """Dynamic params pytree used when none is passed."""

    @abc.abstractmethod
    def reset_env(self, key: jax.Array, params: Any) -> tuple[Any, Any]:
        """(obs, state) of a fresh episode."""

    @abc.abstractmethod
    def step_env(self, key: jax.Array, state: Any, action: Any, params: Any):
        """(obs, state, reward, terminated, truncated, info), without auto-reset."""

    @abc.abstractmethod
    def action_space(self, params: Any = None):
        """A `jaxcraft.envs.spaces` space (Discrete or MultiDiscrete for PPO)."""

    @abc.abstractmethod
    def observation_space(self, params: Any = None):
        """Description of one observation."""

    def reset(self, key: jax.Array, params: Any = None):
        params = self.default_params if params is None else params
        return self.reset_env(key, params)

    def step(self, key: jax.Array, state: Any, action: Any, params: Any = None):
        params = self.default_params if params is None else params
        key_step, key_reset = jax.random.split(key)
        out = step_without_reset(self, key_step, state, action, params)
        done = jnp.logical_or(out.terminated, out.truncated)
        obs_re, state_re = self.reset_env(key_reset, params)
        state = jax.tree.map(lambda r, s: jnp.where(done, r, s), state_re, out.state)
        obs = jax.tree.map(lambda r, s: jnp.where(done, r, s), obs_re, out.obs)
        info = {**out.info, "final_observation": out.obs}
        return obs, state, out.reward, out.terminated, out.truncated, info


def step_without_reset(env: Any, key: jax.Array, state: Any, action: Any, params: Any) -> EnvStep:
    """Step one env without auto-reset and report termination and truncation apart.

    Works for jaxcraft envs (6-tuple `step_env`), gymnax 1.x envs (5-tuple `step_env` +
    `is_truncated`) and gymnax 0.0.x envs (5-tuple whose `done` includes the time limit).
    """
    out = env.step_env(key, state, action, params)
    if len(out) == 6:
        obs, new_state, reward, terminated, truncated, info = out
    elif len(out) == 5:
        obs, new_state, reward, done, info = out
        if hasattr(env, "is_truncated"):
            truncated = env.is_truncated(new_state, params)
        elif hasattr(new_state, "time") and hasattr(params, "max_steps_in_episode"):
            truncated = new_state.time >= params.max_steps_in_episode
        else:
            truncated = jnp.zeros((), bool)
        # gymnax 0.0.x folds the time limit into `done`; a time-limit end is not terminal.
        terminated = jnp.logical_and(done, jnp.logical_not(truncated))
    else:
        raise TypeError(f"{type(env).__name__}.step_env returned {len(out)} values; expected 5 (gymnax) or 6")
    # A terminal state is never also a truncation: no bootstrap when both hold.
    terminated = jnp.asarray(terminated, bool)
    truncated = jnp.logical_and(jnp.asarray(truncated, bool), jnp.logical_not(terminated))
    info = dict(info) if isinstance(info, dict) else {}
    return EnvStep(obs, new_state, jnp.asarray(reward, jnp.float32), terminated, truncated, info)
