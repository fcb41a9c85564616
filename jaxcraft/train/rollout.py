"""Acting: one `lax.scan` of policy + batched env steps → a time-major trajectory [T, B]."""
from __future__ import annotations

from typing import Any, NamedTuple, Optional

import jax
import jax.numpy as jnp
from flax import struct

from jaxcraft.envs.batched import BatchedEnv, BatchedEnvState
from jaxcraft.ppo.distributions import FactorisedCategorical
from jaxcraft.ppo.value_norm import ValueNormState, denormalize


@struct.dataclass
class ActorState:
    """Per-env acting state; every leaf has a leading [B] axis (split over devices)."""

    env: BatchedEnvState
    carry: Any           # policy hidden state [B, ...] (`()` for feed-forward)
    ref_carry: Any       # reference-policy hidden state (None without a KL term)
    reset: jax.Array     # [B] bool: the current observation starts an episode
    keys: jax.Array      # [B] per-env PRNG keys (actions, env steps, minibatch shuffles)


class Trajectory(NamedTuple):
    """[T, B] time-major rollout."""

    obs: Any
    action: jax.Array
    log_prob: jax.Array
    value: jax.Array          # v(s_t) in reward units
    reward: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    v_final: jax.Array        # v(final obs) where truncated, else 0
    reset: jax.Array
    carry: Any
    ref_logits: Optional[jax.Array]
    done: jax.Array
    episode_return: jax.Array
    episode_length: jax.Array
    success: jax.Array        # [T, B] bool, the env's info["success"] (task envs; False elsewhere)


def _split_per_env(keys: jax.Array, n: int) -> tuple[jax.Array, ...]:
    out = jax.vmap(lambda k: jax.random.split(k, n))(keys)  # [B, n]
    return tuple(out[:, i] for i in range(n))


def make_rollout(env: BatchedEnv, apply_fn, dist: FactorisedCategorical, rollout_len: int, value_norm: bool):
    """Build `rollout(params, ref_params, value_norm_state, actor) -> (actor, traj, v_bootstrap)`."""

    def values(vn: ValueNormState, v):
        return denormalize(vn, v) if value_norm else v

    def step(carry, _):
        params, ref_params, vn, actor = carry
        keys, act_keys, env_keys = _split_per_env(actor.keys, 3)
        obs = actor.env.obs
        obs1 = jax.tree.map(lambda x: x[None], obs)
        reset1 = actor.reset[None]
        new_carry, logits, v = apply_fn(params, actor.carry, obs1, reset1)
        logits, v = logits[0], values(vn, v[0])
        action = jax.vmap(dist.sample)(act_keys, logits)
        log_prob = dist.log_prob(logits, action)
        ref_carry, ref_logits = actor.ref_carry, None
        if ref_params is not None:
            ref_carry, ref_logits, _ = apply_fn(ref_params, actor.ref_carry, obs1, reset1)
            ref_logits = ref_logits[0]
        env_state, out = env.step(actor.env, action, env_keys)

        def final_value():
            # The truncated episode's last observation, seen with the state after step t.
            final1 = jax.tree.map(lambda x: x[None], out.obs)
            _, _, vf = apply_fn(params, new_carry, final1, jnp.zeros_like(reset1))
            return values(vn, vf[0])

        v_final = jax.lax.cond(out.truncated.any(), final_value, lambda: jnp.zeros_like(v))
        v_final = jnp.where(out.truncated, v_final, 0.0)
        traj = Trajectory(obs=obs, action=action, log_prob=log_prob, value=v, reward=out.reward,
                          terminated=out.terminated, truncated=out.truncated, v_final=v_final,
                          reset=actor.reset, carry=actor.carry, ref_logits=ref_logits,
                          done=out.info["done"], episode_return=out.info["episode_return"],
                          episode_length=out.info["episode_length"],
                          success=jnp.asarray(out.info.get("success", jnp.zeros_like(out.terminated)), bool))
        actor = actor.replace(env=env_state, carry=new_carry, ref_carry=ref_carry,
                              reset=out.info["done"], keys=keys)
        return (params, ref_params, vn, actor), traj

    def rollout(params, ref_params, vn, actor: ActorState):
        (_, _, _, actor), traj = jax.lax.scan(step, (params, ref_params, vn, actor), None, length=rollout_len)
        obs1 = jax.tree.map(lambda x: x[None], actor.env.obs)
        _, _, v_boot = apply_fn(params, actor.carry, obs1, actor.reset[None])
        return actor, traj, values(vn, v_boot[0])

    return rollout
