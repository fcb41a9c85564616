"""Recurrent cores: a GRU scanned over time that resets its state at episode starts, and
`make_core`, which builds the core a net config asks for (GRU or Transformer-XL)."""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxcraft.nets.trxl import TransformerXLCore


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


CORES = ("gru", "trxl")


def make_core(kind: str, size: int, memory: int = 32, layers: int = 2, heads: int = 4, **module_kwargs) -> nn.Module:
    """The recurrent core of a net (`net.core`): a `ResetGRU` of `size`, or a `TransformerXLCore`
    of width `size` (`memory` cached steps, `layers` blocks of `heads` heads; jaxcraft.nets.trxl).
    `module_kwargs` go to the module (`name`; `parent=None` builds a free-standing one inside
    another module's method, e.g. for its `initial_carry`)."""
    if kind == "gru":
        return ResetGRU(size, **module_kwargs)
    if kind == "trxl":
        return TransformerXLCore(size, heads=heads, layers=layers, memory_len=memory, **module_kwargs)
    raise ValueError(f"core must be one of {CORES}, got {kind!r}")
