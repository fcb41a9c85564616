"""Action distributions over (factorised) discrete action spaces.

A policy emits flat logits [..., sum(nvec)]; `FactorisedCategorical(nvec)` splits them
into independent categorical factors. This expresses a VPT/MineRL-style space: nine
binary buttons (nvec 2 each) plus camera pitch and yaw as 11 mu-law bins each gives
`nvec = (2,)*9 + (11, 11)` and 40 logits. A plain `Discrete(n)` space is
`FactorisedCategorical((n,), scalar=True)`: actions are scalars, not length-1 vectors.

Joint log-probabilities, entropies and KLs are sums over factors (independence).
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np


@dataclasses.dataclass(frozen=True)
class FactorisedCategorical:
    """Independent categoricals; `nvec[i]` choices for factor i.

    Shapes: logits [..., sum(nvec)]; action [..., len(nvec)] int32 (or [...] if `scalar`).
    """

    nvec: tuple[int, ...]
    scalar: bool = False

    def __post_init__(self):
        object.__setattr__(self, "nvec", tuple(int(n) for n in self.nvec))
        if not self.nvec or any(n < 1 for n in self.nvec):
            raise ValueError(f"nvec must be non-empty positive ints, got {self.nvec}")
        if self.scalar and len(self.nvec) != 1:
            raise ValueError("scalar=True needs exactly one factor")

    @property
    def num_logits(self) -> int:
        return int(sum(self.nvec))

    def _split(self, logits: jax.Array) -> list[jax.Array]:
        if logits.shape[-1] != self.num_logits:
            raise ValueError(f"logits have {logits.shape[-1]} entries on the last axis; nvec {self.nvec} needs {self.num_logits}")
        cuts = np.cumsum(self.nvec)[:-1].tolist()
        return [jax.nn.log_softmax(l, axis=-1) for l in jnp.split(logits, cuts, axis=-1)]

    def _factors(self, action: jax.Array) -> list[jax.Array]:
        if self.scalar:
            return [action]
        return [action[..., i] for i in range(len(self.nvec))]

    def sample(self, key: jax.Array, logits: jax.Array) -> jax.Array:
        keys = jax.random.split(key, len(self.nvec))
        parts = [jax.random.categorical(k, lp, axis=-1).astype(jnp.int32) for k, lp in zip(keys, self._split(logits))]
        return parts[0] if self.scalar else jnp.stack(parts, axis=-1)

    def mode(self, logits: jax.Array) -> jax.Array:
        parts = [jnp.argmax(lp, axis=-1).astype(jnp.int32) for lp in self._split(logits)]
        return parts[0] if self.scalar else jnp.stack(parts, axis=-1)

    def log_prob(self, logits: jax.Array, action: jax.Array) -> jax.Array:
        """log π(a) = Σ_i log softmax(logits_i)[a_i]."""
        total = 0.0
        for lp, a in zip(self._split(logits), self._factors(action)):
            total = total + jnp.take_along_axis(lp, a[..., None].astype(jnp.int32), axis=-1)[..., 0]
        return total

    def entropy(self, logits: jax.Array) -> jax.Array:
        """H = Σ_i −Σ_k p_ik log p_ik."""
        return sum(-(jnp.exp(lp) * lp).sum(-1) for lp in self._split(logits))

    def kl(self, logits_p: jax.Array, logits_q: jax.Array) -> jax.Array:
        """KL(p ‖ q) = Σ_i Σ_k p_ik (log p_ik − log q_ik)."""
        return sum((jnp.exp(lp) * (lp - lq)).sum(-1) for lp, lq in zip(self._split(logits_p), self._split(logits_q)))


def categorical(n: int) -> FactorisedCategorical:
    """A single categorical over n actions with scalar actions."""
    return FactorisedCategorical((n,), scalar=True)


def multi_discrete(nvec: Sequence[int]) -> FactorisedCategorical:
    return FactorisedCategorical(tuple(nvec))
