"""Actor-critic wrapper implementing the `jaxcraft.ppo` network contract.

    carry, logits, value = module.apply(params, carry, obs, reset)
      obs [L, N, ...] (pytree), reset [L, N] → logits [L, N, A], value [L, N]

Feed-forward nets return `carry` unchanged (`()`); with `core_size > 0` a recurrent core
(`core_kind="gru"`: a `ResetGRU`; `"trxl"`: a `TransformerXLCore`) sits between the encoder and the heads.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import flax.linen as nn
import jax
import numpy as np

from jaxcraft.nets.encoders import activation
from jaxcraft.nets.recurrent import make_core


def _flatten_time(tree: Any, L: int, N: int) -> Any:
    return jax.tree.map(lambda x: x.reshape((L * N,) + x.shape[2:]), tree)


class ActorCritic(nn.Module):
    """make_encoder() builds a fresh encoder; `separate_critic` gives the critic its own."""

    make_encoder: Callable[[], nn.Module]
    num_logits: int
    core_size: int = 0
    head_hidden: Sequence[int] = ()
    act: str = "tanh"
    separate_critic: bool = True
    value_bins: int = 0  # > 0: the value head outputs logits over this many bins (ppo value_head="hl_gauss")
    core_kind: str = "gru"  # "gru" | "trxl" (jaxcraft.nets.recurrent.make_core)
    core_memory: int = 32
    core_layers: int = 2
    core_heads: int = 4

    def _core(self, **module_kwargs) -> nn.Module:
        return make_core(self.core_kind, self.core_size, self.core_memory, self.core_layers, self.core_heads, **module_kwargs)

    def initial_carry(self, batch_size: int) -> Any:
        return self._core(parent=None).initial_carry(batch_size) if self.core_size else ()

    @property
    def recurrent(self) -> bool:
        """The carry holds memory (a core): `jaxcraft.ppo.Network`."""
        return bool(self.core_size)

    def _torso(self, obs, reset, carry, name):
        L, N = reset.shape
        feat = self.make_encoder()(_flatten_time(obs, L, N))
        feat = feat.reshape(L, N, -1)
        if self.core_size:
            carry, feat = self._core(name=f"{name}_core")(carry, feat, reset)
        return carry, feat

    def _head(self, x, out: int, scale: float):
        for h in self.head_hidden:
            x = activation(self.act)(nn.Dense(h, kernel_init=nn.initializers.orthogonal(np.sqrt(2)))(x))
        return nn.Dense(out, kernel_init=nn.initializers.orthogonal(scale), bias_init=nn.initializers.zeros)(x)

    @nn.compact
    def __call__(self, carry, obs, reset):
        new_carry, feat = self._torso(obs, reset, carry, "actor")
        logits = self._head(feat, self.num_logits, 0.01)
        if self.separate_critic and not self.core_size:
            _, vfeat = self._torso(obs, reset, carry, "critic")
        else:
            vfeat = feat
        value = self._head(vfeat, self.value_bins, 1.0) if self.value_bins else self._head(vfeat, 1, 1.0)[..., 0]
        return new_carry, logits, value
