"""Value-target normalisation with exponentially weighted moments (ROCKET-3's EWMA targets).

The value head predicts v̂ in normalised units; v = v̂·σ + μ. Statistics are debiased
EWMAs of the targets' first and second moments, so early updates are not biased to 0.
"""
from __future__ import annotations

from typing import Optional

import jax
import jax.numpy as jnp
from flax import struct


@struct.dataclass
class ValueNormState:
    mean: jax.Array      # EWMA of E[G]   (biased, divide by `weight`)
    mean_sq: jax.Array   # EWMA of E[G²]
    weight: jax.Array    # 1 − decay^k, the debiasing term


def init_value_norm() -> ValueNormState:
    z = jnp.zeros((), jnp.float32)
    return ValueNormState(mean=z, mean_sq=z, weight=z)


def moments(state: ValueNormState, eps: float = 1e-4) -> tuple[jax.Array, jax.Array]:
    """(μ, σ); identity (0, 1) before the first update."""
    w = jnp.maximum(state.weight, 1e-12)
    mean = jnp.where(state.weight > 0, state.mean / w, 0.0)
    var = jnp.where(state.weight > 0, state.mean_sq / w - jnp.square(mean), 1.0)
    return mean, jnp.sqrt(jnp.maximum(var, eps))


def update_value_norm(state: ValueNormState, targets: jax.Array, decay: float,
                      axis_name: Optional[str] = None) -> ValueNormState:
    m, m2 = jnp.mean(targets), jnp.mean(jnp.square(targets))
    if axis_name:
        m, m2 = jax.lax.pmean((m, m2), axis_name)
    return ValueNormState(
        mean=decay * state.mean + (1 - decay) * m,
        mean_sq=decay * state.mean_sq + (1 - decay) * m2,
        weight=decay * state.weight + (1 - decay),
    )


def normalize(state: ValueNormState, x: jax.Array) -> jax.Array:
    mean, std = moments(state)
    return (x - mean) / std


def denormalize(state: ValueNormState, x: jax.Array) -> jax.Array:
    mean, std = moments(state)
    return x * std + mean
