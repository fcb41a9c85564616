"""PPO loss terms as small pure functions (rlax style).

Every input is a flat batch of samples [N] (any leading shape works; means are over all
elements). With `axis_name`, means are taken over the samples of every device on that
mesh axis, so a sharded minibatch has the same loss as the unsharded one. With `mask`
(m ∈ {0, 1}, the samples' shape; e.g. not teacher-guided), means are over the samples where
m = 1: Σ m·x / max(Σ m, 1).
"""
from __future__ import annotations

from typing import Optional

import chex
import jax
import jax.numpy as jnp


def global_mean(x: jax.Array, axis_name: Optional[str] = None, mask: Optional[jax.Array] = None) -> jax.Array:
    """Mean over all elements (where `mask`), and over devices on `axis_name` (equal shard sizes)."""
    if mask is None:
        m = jnp.mean(x)
        return jax.lax.pmean(m, axis_name) if axis_name else m
    chex.assert_equal_shape([x, mask])
    w = mask.astype(x.dtype)
    num, den = jnp.sum(w * x), jnp.sum(w)
    if axis_name:
        num, den = jax.lax.psum(num, axis_name), jax.lax.psum(den, axis_name)
    return num / jnp.maximum(den, 1.0)


def normalize_advantages(adv: jax.Array, axis_name: Optional[str] = None, eps: float = 1e-8,
                         mask: Optional[jax.Array] = None) -> jax.Array:
    """(A − mean A) / (std A + eps), statistics over the whole (sharded) minibatch (where `mask`)."""
    mean = global_mean(adv, axis_name, mask)
    var = global_mean(jnp.square(adv - mean), axis_name, mask)
    return (adv - mean) / (jnp.sqrt(var) + eps)


def log_ratio(log_prob: jax.Array, old_log_prob: jax.Array, clip: Optional[float] = None) -> jax.Array:
    """log ρ = log π_θ(a) − log π_old(a), optionally clamped to [−clip, clip].

    Clamping (ROCKET-3 uses 1.03) keeps exp(log ρ) finite when a stale sample has a
    vanishing old probability; the clamped samples get no gradient through the ratio.
    """
    chex.assert_equal_shape([log_prob, old_log_prob])
    lr = log_prob - old_log_prob
    return lr if clip is None else jnp.clip(lr, -clip, clip)


def clipped_surrogate_loss(log_ratio_t: jax.Array, adv_t: jax.Array, clip_eps: float,
                           axis_name: Optional[str] = None, mask: Optional[jax.Array] = None) -> tuple[jax.Array, jax.Array]:
    """L^CLIP = −mean( min(ρ A, clip(ρ, 1−ε, 1+ε) A) ), and the clip fraction mean(|ρ−1| > ε)."""
    chex.assert_equal_shape([log_ratio_t, adv_t])
    ratio = jnp.exp(log_ratio_t)
    unclipped = ratio * adv_t
    clipped = jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * adv_t
    loss = -global_mean(jnp.minimum(unclipped, clipped), axis_name, mask)
    clip_frac = global_mean((jnp.abs(ratio - 1.0) > clip_eps).astype(jnp.float32), axis_name, mask)
    return loss, clip_frac


def value_loss(v_t: jax.Array, v_old_t: jax.Array, target_t: jax.Array,
               clip_eps: Optional[float] = None, axis_name: Optional[str] = None) -> jax.Array:
    """½ mean (v − G)²; with `clip_eps`, ½ mean max((v − G)², (v_old + clip(v − v_old, ±ε) − G)²)."""
    chex.assert_equal_shape([v_t, v_old_t, target_t])
    err = jnp.square(v_t - target_t)
    if clip_eps is not None:
        v_clipped = v_old_t + jnp.clip(v_t - v_old_t, -clip_eps, clip_eps)
        err = jnp.maximum(err, jnp.square(v_clipped - target_t))
    return 0.5 * global_mean(err, axis_name)


def approx_kl(log_ratio_t: jax.Array, axis_name: Optional[str] = None, mask: Optional[jax.Array] = None) -> jax.Array:
    """Low-variance estimator of KL(π_old ‖ π_θ): mean((ρ − 1) − log ρ)  (Schulman's k3)."""
    return global_mean(jnp.expm1(log_ratio_t) - log_ratio_t, axis_name, mask)


def explained_variance(v_t: jax.Array, target_t: jax.Array) -> jax.Array:
    """1 − Var(G − v) / Var(G) (CleanRL's diagnostic): 1 = the critic predicts the returns, ≤ 0 = no better than a constant."""
    chex.assert_equal_shape([v_t, target_t])
    var = jnp.var(target_t)
    return jnp.where(var > 0, 1.0 - jnp.var(target_t - v_t) / jnp.maximum(var, 1e-12), 0.0)


def kl_coefficient(initial: float, decay: float, update_step: jax.Array) -> jax.Array:
    """ρ_k = ρ_0 · decay^k for update k (ROCKET-3: ρ_0 = 0.2, decay = 0.9995)."""
    return initial * jnp.power(decay, update_step.astype(jnp.float32))
