"""Generalised advantage estimation with termination and truncation kept apart.

Shapes are time-major: [T, B] (T steps of B envs). Time indices are in the names:
`r_t` is the reward of the transition leaving step t, `v_t` the value of the state at t.
"""
from __future__ import annotations

import chex
import jax
import jax.numpy as jnp


def generalized_advantage_estimation(
    r_t: jax.Array,
    v_t: jax.Array,
    v_bootstrap: jax.Array,
    terminated_t: jax.Array,
    truncated_t: jax.Array,
    v_final_t: jax.Array,
    gamma: float,
    lambda_: float,
) -> tuple[jax.Array, jax.Array]:
    """Advantages A_t and value targets A_t + v_t.

    For each step t (0 ≤ t < T) with done_t = terminated_t ∨ truncated_t:

        v_next_t = 0            if terminated_t          (terminal state: no future)
                 = v_final_t    if truncated_t           (cut episode: bootstrap from the
                                                          value of its final observation)
                 = v_{t+1}      otherwise (v_T = v_bootstrap)
        δ_t = r_t + γ · v_next_t − v_t
        A_t = δ_t + γ λ (1 − done_t) A_{t+1},   A_T = 0

    `done_t` is exactly "step t+1 starts a new episode", so advantages never leak across
    episode starts. Set `truncated_t` for time limits and crashed simulators.

    Args:
      r_t: [T, B] rewards.            v_t: [T, B] values of the states acted in.
      v_bootstrap: [B] value of the state after the last step (v_T).
      terminated_t, truncated_t: [T, B] bool.
      v_final_t: [T, B] value of the final observation of step t; read only where truncated_t.
    Returns:
      (advantage_t [T, B], target_t [T, B]) in float32.
    """
    chex.assert_rank([r_t, v_t, terminated_t, truncated_t, v_final_t], 2)
    chex.assert_equal_shape([r_t, v_t, terminated_t, truncated_t, v_final_t])
    chex.assert_shape(v_bootstrap, r_t.shape[1:])
    chex.assert_type([terminated_t, truncated_t], bool)

    f32 = jnp.float32
    r_t, v_t, v_final_t = r_t.astype(f32), v_t.astype(f32), v_final_t.astype(f32)
    v_tp1 = jnp.concatenate([v_t[1:], v_bootstrap[None].astype(f32)], axis=0)
    v_next = jnp.where(terminated_t, 0.0, jnp.where(truncated_t, v_final_t, v_tp1))
    delta_t = r_t + gamma * v_next - v_t
    continue_t = 1.0 - jnp.logical_or(terminated_t, truncated_t).astype(f32)

    def backward(a_tp1, inputs):
        delta, cont = inputs
        a = delta + gamma * lambda_ * cont * a_tp1
        return a, a

    _, advantage_t = jax.lax.scan(backward, jnp.zeros_like(v_bootstrap, f32), (delta_t, continue_t), reverse=True)
    return advantage_t, advantage_t + v_t
