"""A GRU core scanned over time that resets its state at episode starts."""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp


class _ResetGRUStep(nn.Module):
    features: int

    @nn.compact
    def __call__(self, h, inputs):
        x_t, reset_t = inputs
        h = jnp.where(reset_t[:, None], jnp.zeros_like(h), h)  # new episode: forget
        h, y = nn.GRUCell(self.features)(h, x_t)
        return h, y


class ResetGRU(nn.Module):
    """carry [N, H], x [L, N, F], reset [L, N] → (carry [N, H], y [L, N, H])."""

    features: int

    @nn.compact
    def __call__(self, carry, x, reset):
        scan = nn.scan(_ResetGRUStep, variable_broadcast="params", split_rngs={"params": False},
                       in_axes=0, out_axes=0)
        return scan(self.features)(carry, (x, reset))

    def initial_carry(self, batch_size: int) -> jax.Array:
        return jnp.zeros((batch_size, self.features), jnp.float32)
