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
(the test suite's tiny runs use it). The hand-out copies pool entries into only the finished envs,
in place (a while loop over them; the refresh is written in the same loop), so a step where few
envs finish touches only those envs' states and the refreshed entries, not the whole batch or pool.

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
                 full_select: bool = False):
        """full_select (pool mode only): hand pool entries out by gathering one for every env and
        selecting it where done — O(B · state size) per step; the reference the default per-env
        copy loop is tested against (same result), and the old path for A/B benchmarks."""
        if pool_size < 0:
            raise ValueError(f"pool_size must be >= 0, got {pool_size}")
        if pool_size and not 0 <= refresh_per_step <= pool_size:
            raise ValueError(f"refresh_per_step must be in [0, pool_size={pool_size}], got {refresh_per_step}")
        self.env = env
        self.params = env.default_params if params is None else params
        self.pool_size = int(pool_size)
        self.refresh_per_step = int(refresh_per_step)
        self.full_select = bool(full_select)

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

    # -- pool hand-out and refresh ---------------------------------------------------------
    # Both paths give the r-th finished env (in env order, r = 0, 1, …) pool entry
    # (cursor0 + r) mod P, and then overwrite the k = refresh_per_step entries just before the new
    # cursor, (cursor - k + i) mod P, with `fresh` entry i — on steps where some env finished only.

    def _fresh_entries(self, n_done, key):
        """(obs, state) of k new pool entries; zeros on steps where no env finished (then nothing
        is written): a world generation is most of a small batch's step, not to be spent for nothing."""
        k = self.refresh_per_step
        # One reset after another (lax.map), not vmapped: vmapped over k = 1 keys, the task env's
        # reset ran ~2x slower than its unbatched program (measured: 7.4 vs 3.8 ms; world generation
        # alone costs the same both ways, so the difference is in the task synthesis after it), for
        # the same states bit for bit (tests/world/test_world_env.py for the world env; 40 task
        # resets compared when this was changed).
        make = lambda: jax.lax.map(lambda kk: self.env.reset_env(kk, self.params), jax.random.split(key, k))  # noqa: E731
        zeros = lambda: jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), jax.eval_shape(make))  # noqa: E731
        return jax.lax.cond(n_done > 0, make, zeros)

    def _select_from_pool(self, done, n_done, cursor0, fresh, env_state, obs, pool_state, pool_obs):
        """Reference path: every env gathers a pool entry and selects it where done, then the refresh
        is scattered into the pool: O(B · state size) per step."""
        rank = jnp.cumsum(done.astype(jnp.int32)) - 1
        idx = (cursor0 + rank) % self.pool_size
        env_state = _select(done, jax.tree.map(lambda p: p[idx], pool_state), env_state)
        obs = _select(done, jax.tree.map(lambda p: p[idx], pool_obs), obs)
        k = self.refresh_per_step
        if k:
            slots = (cursor0 + n_done - k + jnp.arange(k)) % self.pool_size
            write = lambda p, f: p.at[slots].set(jnp.where(   # noqa: E731
                (n_done > 0).reshape((1,) * p.ndim), f, p[slots]))
            pool_state = jax.tree.map(write, pool_state, fresh[1])
            pool_obs = jax.tree.map(write, pool_obs, fresh[0])
        return env_state, obs, pool_state, pool_obs

    def _copy_from_pool(self, done, n_done, cursor0, fresh, env_state, obs, pool_state, pool_obs):
        """The same as `_select_from_pool`, touching only the entries that move: one while loop over
        r in [min(0, n_done - k), n_done) (none when no env finished) whose iteration r copies pool
        entry (cursor0 + r) mod P into finished env r (if r >= 0) and then overwrites that entry
        with its fresh one (if it is one of the k refreshed slots, r >= n_done - k). O((n_done + k) ·
        state size) per step.

        Why one loop carrying everything (read off the optimised HLO of the quickstart's step): the
        previous path, a `lax.cond` between a capped scatter and the full select, made XLA:CPU copy
        the whole batch's voxels and skip field twice per step (into the branch before its scatter,
        and the cond's result back into the scan's carry) and the pool's twice (to keep the old pool
        alive for the readers of the refresh's scatter) — 48 MiB at N=64, whichever branch ran; a
        loop that only read the pool, followed by the refresh's scatter, still copied the pool. A
        while loop's carry is updated in place by dynamic_update_slice; reading each entry before
        overwriting it in the same iteration leaves nothing to copy."""
        b, k, size = done.shape[0], self.refresh_per_step, self.pool_size
        which = jnp.nonzero(done, size=b, fill_value=0)[0]      # finished envs, in env order
        first = jnp.where(n_done > 0, jnp.minimum(0, n_done - k), 0)

        def one(r, carry):
            env_state, obs, pool_state, pool_obs = carry
            src = (cursor0 + r) % size
            hand_out, refresh = r >= 0, r >= n_done - k
            # r < 0: env 0 gets its own row back (a no-op write keeps the loop branch-free).
            j = jnp.where(hand_out, which[jnp.maximum(r, 0)], 0)
            i = jnp.clip(r - (n_done - k), 0, max(k - 1, 0))

            def put(x, p):
                row = jnp.where(hand_out, jax.lax.dynamic_index_in_dim(p, src, 0, keepdims=False),
                                jax.lax.dynamic_index_in_dim(x, j, 0, keepdims=False))
                return jax.lax.dynamic_update_index_in_dim(x, row, j, 0)

            def renew(p, f, x):
                # Not refreshed, the entry is rewritten with itself, read back from the env it was
                # just copied into (r >= 0 there): the write then depends on that copy, so XLA
                # orders the pool's only read before this in-place write instead of copying the pool.
                row = jnp.where(refresh, f[i], jax.lax.dynamic_index_in_dim(x, j, 0, keepdims=False))
                return jax.lax.dynamic_update_index_in_dim(p, row, src, 0)

            env_state = jax.tree.map(put, env_state, pool_state)
            obs = jax.tree.map(put, obs, pool_obs)
            if k:
                pool_state = jax.tree.map(renew, pool_state, fresh[1], env_state)
                pool_obs = jax.tree.map(renew, pool_obs, fresh[0], obs)
            return env_state, obs, pool_state, pool_obs

        return jax.lax.fori_loop(first, n_done, one, (env_state, obs, pool_state, pool_obs))

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
            n_done = done.sum(dtype=jnp.int32)
            cursor0 = state.pool_cursor[0]
            cursor = (cursor0 + n_done) % self.pool_size
            pool_key, sub = jax.random.split(state.pool_key[0])
            fresh = self._fresh_entries(n_done, sub) if self.refresh_per_step else None
            move = self._select_from_pool if self.full_select else self._copy_from_pool
            env_state, obs, pool_state, pool_obs = move(done, n_done, cursor0, fresh, out.state, out.obs,
                                                        state.pool_state, state.pool_obs)
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
