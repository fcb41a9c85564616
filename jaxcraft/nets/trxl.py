"""A Transformer-XL core (Dai et al. 2019; ROCKET-3's policy core): causal attention over time
with a memory of earlier steps, that never looks across an episode start.

    carry, y = TransformerXLCore(width, heads, layers, memory_len)(carry, x [L, N, F], reset [L, N])
      carry = {"memory": [N, layers, M, width] (each layer's inputs at the last M steps),
               "valid":  [N, M] bool (the slot holds a step of the episode still running)}
      y [L, N, width]

The segment is whatever the caller passes: one step when acting, a PPO chunk (`ppo.chunk_len`)
or a cloning window when training. Each layer attends from the segment's steps to
[memory; segment]: keys and values are computed from the layer's cached inputs (a
stop-gradient copy made when those steps were processed) and from the segment's own.

Masking. A step t attends to itself and to the `memory_len` steps before it (a sliding window,
so the memory always holds everything a step can see), and only within its episode: a step
after a reset in the segment sees nothing before that reset, and memory slots of an episode
that has ended are invalid. Because the window is the same whatever the segment, processing a
sequence in segments with the memory equals processing it at once (to float rounding), and
acting one step at a time computes what a PPO update on the stored carry recomputes.

Positions are relative: a learned bias per head and distance 0…M added to the attention
logits (no absolute positions, which would differ between segmentations). Blocks are
pre-LayerNorm: h += Attn(LN(h)); h += MLP(LN(h)); the output is LN(h).
"""
from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

_NEG = -1e30


class _Block(nn.Module):
    width: int
    heads: int
    memory_len: int

    @nn.compact
    def __call__(self, h, mem, mask, dist):
        """h [N, L, W], mem [N, M, W], mask [N, L, M+L] bool, dist [L, M+L] int → h [N, L, W]."""
        d = self.width // self.heads
        ln = nn.LayerNorm(name="ln_attn")
        q = nn.DenseGeneral((self.heads, d), name="query")(ln(h))                 # [N, L, H, D]
        kv_in = ln(jnp.concatenate([mem, h], axis=1))                               # [N, M+L, W]
        k = nn.DenseGeneral((self.heads, d), name="key")(kv_in)
        v = nn.DenseGeneral((self.heads, d), name="value")(kv_in)
        logits = jnp.einsum("nqhd,nkhd->nhqk", q, k) / np.sqrt(d)
        bias = self.param("rel_bias", nn.initializers.zeros, (self.heads, self.memory_len + 1))
        logits = logits + bias[:, jnp.clip(dist, 0, self.memory_len)][None]      # [N, H, L, M+L]
        weights = jax.nn.softmax(jnp.where(mask[:, None], logits, _NEG), axis=-1)  # masked keys: weight exactly 0
        out = jnp.einsum("nhqk,nkhd->nqhd", weights, v)
        h = h + nn.DenseGeneral(self.width, axis=(-2, -1), name="out")(out)
        y = nn.Dense(4 * self.width, name="mlp_in")(nn.LayerNorm(name="ln_mlp")(h))
        return h + nn.Dense(self.width, name="mlp_out")(nn.gelu(y))


class TransformerXLCore(nn.Module):
    """carry (see `initial_carry`), x [L, N, F], reset [L, N] → (carry, y [L, N, width])."""

    width: int
    heads: int = 4
    layers: int = 2
    memory_len: int = 32

    def initial_carry(self, batch_size: int) -> dict[str, Any]:
        return {"memory": jnp.zeros((batch_size, self.layers, self.memory_len, self.width), jnp.float32),
                "valid": jnp.zeros((batch_size, self.memory_len), bool)}

    @nn.compact
    def __call__(self, carry, x, reset):
        if self.width % self.heads:
            raise ValueError(f"TransformerXLCore: width={self.width} must be a multiple of heads={self.heads}")
        L, N = reset.shape
        M = self.memory_len
        h = jnp.swapaxes(nn.Dense(self.width, name="embed")(x), 0, 1)              # [N, L, W]
        # Episode index of each step within the segment (0 until the first reset) and of each
        # key: valid memory slots belong to episode 0 (the one running at the segment's start),
        # invalid ones to no episode (-1).
        ep = jnp.cumsum(reset.astype(jnp.int32), axis=0).T                          # [N, L]
        key_ep = jnp.concatenate([jnp.where(carry["valid"], 0, -1), ep], axis=1)    # [N, M+L]
        dist = jnp.arange(L)[:, None] - jnp.arange(-M, L)[None, :]                  # [L, M+L] query − key
        window = (dist >= 0) & (dist <= M)
        mask = window[None] & (key_ep[:, None, :] == ep[:, :, None])                # [N, L, M+L]
        memory = []
        for i in range(self.layers):
            mem = carry["memory"][:, i]
            memory.append(jax.lax.stop_gradient(jnp.concatenate([mem, h], axis=1)[:, -M:]))
            h = _Block(self.width, self.heads, M, name=f"block_{i}")(h, mem, mask, dist)
        y = nn.LayerNorm(name="ln_out")(h)
        new_carry = {"memory": jnp.stack(memory, axis=1),
                     "valid": (key_ep == ep[:, -1:])[:, -M:]}                      # of the episode still running
        return new_carry, jnp.swapaxes(y, 0, 1)
