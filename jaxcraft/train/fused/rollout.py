"""The fused env source: one `lax.scan` of policy step + batched env step → a [T, B] Trajectory.

With a `Guide` (`run.guide`, `jaxcraft.train.fused.guide`), the teacher's action is executed and recorded
instead of the policy's where the step is guided (`Trajectory.guided`)."""
from __future__ import annotations

import functools
from typing import Any, Optional

import jax
import jax.numpy as jnp
from flax import struct

from jaxcraft.envs.batched import BatchedEnv, BatchedEnvState
from jaxcraft.ppo.acting import Acting, split_per_env, with_goal_code
from jaxcraft.train.fused.guide import Guide, GuideState
from jaxcraft.train.trajectory import Trajectory


@struct.dataclass
class ActorState:
    """Per-env acting state; every leaf has a leading [B] axis (split over devices)."""

    env: BatchedEnvState
    carry: Any           # policy hidden state [B, ...] (`()` for feed-forward)
    ref_carry: Any       # reference-policy hidden state (None without a KL term)
    reset: jax.Array     # [B] bool: the current observation starts an episode
    keys: jax.Array      # [B] per-env PRNG keys (actions, env steps, minibatch shuffles)
    guide: Optional[GuideState] = None   # the teacher-guided curriculum's per-env state (None = off)


def _where_b(cond: jax.Array, x: Any, y: Any) -> Any:
    """Per env: x where cond [B] else y (leaves [B, ...])."""
    return jax.tree.map(lambda a, b: jnp.where(cond.reshape((-1,) + (1,) * (a.ndim - 1)), a, b), x, y)


def make_rollout(env: BatchedEnv, acting: Acting, rollout_len: int, guide: Optional[Guide] = None,
                 carry_every: int = 1):
    """Build `rollout(params, ref_params, value_norm_state, actor, horizon=None) -> (actor, Trajectory [T, B])`.

    horizon: the guide's H this update (int32 scalar; needed iff `guide`).
    carry_every: keep the policy's carry only before every `carry_every`-th step (PPO's chunk
    length L: the update starts each chunk from the stored carry and never reads the others), so
    `Trajectory.carry` is [T/L, B, ...] instead of [T, B, ...]. A Transformer-XL carry is layers ×
    memory × width floats per env and step (1 MB in the large preset: 128 MB per env over a
    128-step rollout if kept at every step). Feed-forward nets (carry `()`) are unaffected."""
    if rollout_len % carry_every:
        raise ValueError(f"carry_every={carry_every} must divide the rollout length {rollout_len}")

    def step(carry, _, per_step_carry=True):
        params, ref_params, value_norm_state, actor, code, ref_code, horizon = carry
        keys, act_keys, env_keys = split_per_env(actor.keys, 3)
        obs = actor.env.obs
        # Each episode's goal encoded once (where it starts), for the policy and the reference.
        code = acting.goal_code(params, obs, actor.reset, code)
        # With a frozen encoder: features once per step, for the policy, the reference and the learner.
        net_obs = acting.features(params, with_goal_code(obs, code))
        new_carry, out = acting.step(params, value_norm_state, actor.carry, net_obs, actor.reset, act_keys)
        ref_carry, ref_logits = actor.ref_carry, None
        if ref_params is not None:
            if acting.encode_fn is None:
                ref_code = acting.goal_code(ref_params, obs, actor.reset, ref_code)
                ref_obs = with_goal_code(obs, ref_code)
            else:   # the reference's encoder is the same frozen one: its features are these
                ref_obs = net_obs
            ref_carry, ref_logits = acting.reference(ref_params, actor.ref_carry, ref_obs, actor.reset)
        action, guided, guide_state, guided_episode = out.action, None, actor.guide, None
        if guide is not None:
            guide_state, guided, teacher_action = guide.act(actor.guide, actor.env.env_state, actor.env.episode_length,
                                                            actor.reset, horizon, act_keys)
            action = _where_b(guided, teacher_action.astype(out.action.dtype), out.action)
            guided_episode = guide_state.h > 0
        env_state, res = env.step(actor.env, action, env_keys)
        # The truncated episode's last observation, seen with the state after step t.
        # o_final continues the episode of o_t: its goal code is this step's (a frozen encoder needs it).
        final_obs = res.obs if acting.encode_fn is None else with_goal_code(res.obs, code)
        v_final = acting.final_value(params, value_norm_state, new_carry, final_obs, res.truncated)
        done = res.info["done"]
        traj = Trajectory(obs=net_obs if acting.encode_fn is not None else obs, action=action, log_prob=out.log_prob, value=out.value, reward=res.reward,
                          terminated=res.terminated, truncated=res.truncated, v_final=v_final,
                          reset=actor.reset, carry=actor.carry if per_step_carry else (), ref_logits=ref_logits,
                          episode_return=res.info["episode_return"], episode_length=res.info["episode_length"],
                          success=jnp.asarray(res.info.get("success", jnp.zeros_like(res.terminated)), bool),
                          bootstrap_value=None, guided=guided, guided_episode=guided_episode)
        actor = actor.replace(env=env_state, carry=new_carry, ref_carry=ref_carry, reset=done, keys=keys,
                              guide=guide_state)
        return (params, ref_params, value_norm_state, actor, code, ref_code, horizon), traj

    def rollout(params, ref_params, value_norm_state, actor: ActorState, horizon: Optional[jax.Array] = None):
        # Codes live only within one rollout (the TrainState, and checkpoints, do not change):
        # the first step encodes every env's goal, later steps only where an episode starts.
        obs0 = actor.env.obs
        code = acting.goal_code(params, obs0, actor.reset, None)
        ref_code = (acting.goal_code(ref_params, obs0, actor.reset, None)
                    if ref_params is not None and acting.encode_fn is None else None)
        if guide is not None and horizon is None:
            raise ValueError("a guided rollout needs the guide's horizon")
        init = (params, ref_params, value_norm_state, actor, code, ref_code, horizon)
        if carry_every == 1 or not jax.tree.leaves(actor.carry):   # one scan (feed-forward: nothing to keep)
            (_, _, _, actor, code, _, _), traj = jax.lax.scan(step, init, None, length=rollout_len)
        else:   # chunks of L steps; the carry kept once per chunk, before its first step
            def chunk(carry, _):
                _, _, _, actor_at_start, _, _, _ = carry
                start_carry = actor_at_start.carry
                carry, traj = jax.lax.scan(functools.partial(step, per_step_carry=False), carry, None,
                                           length=carry_every)
                return carry, (start_carry, traj)

            (_, _, _, actor, code, _, _), (starts, traj) = jax.lax.scan(
                chunk, init, None, length=rollout_len // carry_every)
            traj = jax.tree.map(lambda x: x.reshape((rollout_len,) + x.shape[2:]), traj)._replace(carry=starts)
        boot_obs = actor.env.obs
        if acting.encode_fn is not None:   # o_T may start a new episode: its goal is encoded afresh there
            boot_obs = acting.features(params, with_goal_code(boot_obs, acting.goal_code(params, boot_obs, actor.reset, code)))
        v_boot = acting.value(params, value_norm_state, actor.carry, boot_obs, actor.reset)
        return actor, traj._replace(bootstrap_value=v_boot)

    return rollout
