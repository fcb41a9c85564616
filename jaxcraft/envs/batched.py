"""A batch of functional envs with cheap auto-reset from a pre-generated pool.

Why a pool: gymnax-style auto-reset computes `reset_env` for *every* env at *every*
step and selects it where `done`; for a procedurally generated world that costs a
whole world generation per env per step (Craftax's own auto-reset drops ~20× in
throughput on CPU because of it). Here, finished envs take a fresh state from a pool
of `pool_size` pre-generated resets, and only `refresh_per_step` pool entries are
regenerated per step that handed any out (the ones most recently handed out), so the reset
cost per step is at most `refresh_per_step` resets, not `num_envs`, and none on the (most)
steps where no episode ends. With `refresh_per_step == 0` the pool is a fixed set of `pool_size`
tasks that finished envs cycle through (Procgen's `num_levels`: training on a fixed level set);
the step then contains no reset at all, which also makes it the quickest program to compile
(the test suite's tiny runs use it). The hand-out scatters pool entries into only
the finished envs (at most `max_swaps` per step; a step with more finished envs takes a
`lax.cond` fallback that selects over the whole batch, with the same result), so a step where
few envs finish does not copy every env's state.

With `pool_size == 0` every env gets its own fresh `reset_env` each step it finishes
(computed for the whole batch, selected where done): exact per-env streams, best for
envs whose reset is cheap (CartPole, MinAtar), and independent of device layout.

Keys are per env (`keys: [B]`), so the same global env index sees the same random
stream however the batch is split over devices.

Shapes: B = number of envs in this batch (per device, inside `shard_map`).
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from jaxcraft.envs.base import EnvStep, step_without_reset


@struct.dataclass
class BatchedEnvState:
    """env_state/obs: [B] pytrees of the running episodes; pool_*: [P] ready-made resets."""

    env_state: Any
    obs: Any
    episode_return: jax.Array  # [B] float32, return of the running episode so far
    episode_length: jax.Array  # [B] int32
    pool_state: Any            # [P] pytree (empty tuple when P == 0)
    pool_obs: Any              # [P] pytree
    pool_cursor: jax.Array     # [1] int32, next pool entry handed out
    pool_key: jax.Array        # [1] PRNG key for pool refreshes
    # cursor/key carry a length-1 axis so that, when the batch is split over devices,
    # each device owns its own pool, cursor and key (global shapes [D], [D·P]).


def _select(mask: jax.Array, a: Any, b: Any) -> Any:
    """Per-env `where(mask, a, b)` over pytrees with a leading [B] axis."""
    def sel(x, y):
        m = mask.reshape(mask.shape + (1,) * (x.ndim - 1))
        return jnp.where(m, x, y)
    return jax.tree.map(sel, a, b)


class BatchedEnv:
    """Vectorised env with auto-reset. Pure: every method is jittable and vmappable."""

    def __init__(self, env: Any, params: Any = None, pool_size: int = 0, refresh_per_step: int = 1,
                 max_swaps: int | None = None):
        """max_swaps (pool mode only): finished envs swapped in by a scatter of just those envs
        per step; a step with more finished envs falls back to selecting over the whole batch
        (same result, full cost). None = max(8, B // 16). 0 = always the full select."""
        if pool_size < 0:
            raise ValueError(f"pool_size must be >= 0, got {pool_size}")
        if pool_size and not 0 <= refresh_per_step <= pool_size:
            raise ValueError(f"refresh_per_step must be in [0, pool_size={pool_size}], got {refresh_per_step}")
        self.env = env
        self.params = env.default_params if params is None else params
        self.pool_size = int(pool_size)
        self.refresh_per_step = int(refresh_per_step)
        if max_swaps is not None and max_swaps < 0:
            raise ValueError(f"max_swaps must be >= 0, got {max_swaps}")
        self.max_swaps = max_swaps

    # -- spaces ---------------------------------------------------------------------------
    def action_space(self):
        return self.env.action_space(self.params)

    def observation_space(self):
        return self.env.observation_space(self.params)

    # -- reset ----------------------------------------------------------------------------
    def _reset_many(self, keys: jax.Array):
        return jax.vmap(self.env.reset_env, in_axes=(0, None))(keys, self.params)

    def reset(self, keys: jax.Array, pool_key: jax.Array) -> BatchedEnvState:
        """keys: [B] per-env keys; pool_key: [1] key (or a single key) for the reset pool."""
        pool_key = pool_key.reshape(-1)[0] if pool_key.ndim else pool_key
        b = keys.shape[0]
        pool_key, sub = jax.random.split(pool_key)
        if self.pool_size:
            # The envs and the pool in one batched reset: one copy of the reset in the program
            # (each copy is seconds of XLA compile on CPU); the same states as two resets.
            all_obs, all_state = self._reset_many(jnp.concatenate([keys, jax.random.split(sub, self.pool_size)]))
            (obs, pool_obs), (env_state, pool_state) = [
                (jax.tree.map(lambda x: x[:b], t), jax.tree.map(lambda x: x[b:], t)) for t in (all_obs, all_state)]
        else:
            obs, env_state = self._reset_many(keys)
            pool_obs, pool_state = (), ()
        return BatchedEnvState(
            env_state=env_state, obs=obs,
            episode_return=jnp.zeros((b,), jnp.float32), episode_length=jnp.zeros((b,), jnp.int32),
            pool_state=pool_state, pool_obs=pool_obs,
            pool_cursor=jnp.zeros((1,), jnp.int32), pool_key=pool_key[None],
        )

    # -- step -----------------------------------------------------------------------------
    def step(self, state: BatchedEnvState, action: Any, keys: jax.Array):
        """Step all envs; finished ones restart. keys: [B] per-env keys.

        Returns (new_state, step) where step is an `EnvStep` whose `obs` is the observation
        *before* auto-reset (the final observation of a finished episode, used to bootstrap
        truncated episodes) and whose `info` adds:
          next_obs:        observation the policy sees next (post-reset where done);
          episode_return / episode_length: stats of the episode that ended (valid where done);
          done:            terminated | truncated.
        """
        step_keys, reset_keys = jax.vmap(lambda k: tuple(jax.random.split(k)))(keys)
        out: EnvStep = jax.vmap(step_without_reset, in_axes=(None, 0, 0, 0, None))(
            self.env, step_keys, state.env_state, action, self.params)
        done = jnp.logical_or(out.terminated, out.truncated)
        ep_ret = state.episode_return + out.reward
        ep_len = state.episode_length + 1

        if self.pool_size:
            # Hand out consecutive pool entries to the finished envs, in env order.
            b = done.shape[0]
            n_done = done.sum(dtype=jnp.int32)
            cursor0 = state.pool_cursor[0]
            cursor = (cursor0 + n_done) % self.pool_size
            # Regenerate the `refresh_per_step` entries handed out most recently — only on steps
            # that handed some out: otherwise these slots were regenerated already and a world
            # generation (most of a small batch's step cost) would be spent for nothing.
            pool_key, sub = jax.random.split(state.pool_key[0])
            k = self.refresh_per_step
            slots = (cursor - k + jnp.arange(k)) % self.pool_size
            if k:
                unchanged = (jax.tree.map(lambda p: p[slots], state.pool_obs),
                             jax.tree.map(lambda p: p[slots], state.pool_state))
                new_obs, new_state = jax.lax.cond(n_done > 0, lambda: self._reset_many(jax.random.split(sub, k)),
                                                  lambda: unchanged)

            def full_select(operand):
                # Every env gathers a pool entry and selects it where done: O(B · state size).
                env_state, obs = operand
                rank = jnp.cumsum(done.astype(jnp.int32)) - 1
                idx = (cursor0 + rank) % self.pool_size
                fresh_state = jax.tree.map(lambda p: p[idx], state.pool_state)
                fresh_obs = jax.tree.map(lambda p: p[idx], state.pool_obs)
                return _select(done, fresh_state, env_state), _select(done, fresh_obs, obs)

            m = min(b, max(8, b // 16) if self.max_swaps is None else self.max_swaps)
            if m == 0 or m >= b:
                env_state, obs = full_select((out.state, out.obs))
            else:
                def sparse_swap(operand):
                    # Scatter pool entries into just the (<= m) finished envs: O(m · state size).
                    env_state, obs = operand
                    which = jnp.nonzero(done, size=m, fill_value=b)[0]      # [m]; b = no env
                    idx = (cursor0 + jnp.arange(m, dtype=jnp.int32)) % self.pool_size
                    put = lambda x, p: x.at[which].set(p[idx], mode="drop")
                    return (jax.tree.map(put, env_state, state.pool_state),
                            jax.tree.map(put, obs, state.pool_obs))

                env_state, obs = jax.lax.cond(n_done > m, full_select, sparse_swap, (out.state, out.obs))
            # Write the refreshed entries after the hand-out (which read the old pool).
            pool_state, pool_obs = state.pool_state, state.pool_obs
            if k:
                pool_state = jax.tree.map(lambda p, n: p.at[slots].set(n), pool_state, new_state)
                pool_obs = jax.tree.map(lambda p, n: p.at[slots].set(n), pool_obs, new_obs)
        else:
            fresh_obs, fresh_state = self._reset_many(reset_keys)
            pool_state, pool_obs, cursor, pool_key = (), (), state.pool_cursor, state.pool_key
            env_state, obs = _select(done, fresh_state, out.state), _select(done, fresh_obs, out.obs)

        next_state = BatchedEnvState(
            env_state=env_state,
            obs=obs,
            episode_return=jnp.where(done, 0.0, ep_ret),
            episode_length=jnp.where(done, 0, ep_len),
            pool_state=pool_state, pool_obs=pool_obs,
            pool_cursor=jnp.reshape(cursor, (1,)), pool_key=jnp.reshape(pool_key, (1,)),
        )
        info = {**out.info, "next_obs": next_state.obs, "episode_return": ep_ret,
                "episode_length": ep_len, "done": done}
        return next_state, out._replace(info=info)
