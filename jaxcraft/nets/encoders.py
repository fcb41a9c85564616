"""Observation encoders: map one batch of observations [N, ...] to features [N, F]."""
from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

from jaxcraft.nets.conv import StridedConv3x3

_ACTIVATIONS = {"tanh": nn.tanh, "relu": nn.relu, "gelu": nn.gelu, "silu": nn.silu}


def activation(name: str):
    if name not in _ACTIVATIONS:
        raise ValueError(f"net.activation={name!r}; choose one of {sorted(_ACTIVATIONS)}")
    return _ACTIVATIONS[name]


def as_float(x: jnp.ndarray) -> jnp.ndarray:
    """float32; uint8 frames are scaled to [0, 1], anything else is cast as is."""
    return x.astype(jnp.float32) / 255.0 if x.dtype == jnp.uint8 else x.astype(jnp.float32)


class MLPEncoder(nn.Module):
    """Flatten → Dense+act per hidden size (orthogonal √2 init, as in PureJaxRL)."""

    hidden: Sequence[int] = (64, 64)
    act: str = "tanh"

    @nn.compact
    def __call__(self, obs):
        x = as_float(obs).reshape(obs.shape[0], -1)
        for h in self.hidden:
            x = activation(self.act)(nn.Dense(h, kernel_init=nn.initializers.orthogonal(np.sqrt(2)))(x))
        return x


class CNNEncoder(nn.Module):
    """Small conv torso for [N, H, W, C] frames (MinAtar grids, 64×64 RGB), then an MLP."""

    channels: Sequence[int] = (16, 32)
    hidden: Sequence[int] = (256,)
    act: str = "relu"

    @nn.compact
    def __call__(self, obs):
        x = as_float(obs)
        if x.ndim != 4:
            raise ValueError(f"CNNEncoder expects [N, H, W, C] observations, got shape {obs.shape}")
        for i, c in enumerate(self.channels):
            # Downsample big frames; keep small grids (MinAtar 10×10) at full resolution.
            init = nn.initializers.orthogonal(np.sqrt(2))
            if x.shape[1] > 16:  # nn.Conv's params and name, gradients as matmuls (fast on XLA:CPU)
                conv = StridedConv3x3(c, kernel_init=init, name=f"Conv_{i}")
            else:
                conv = nn.Conv(c, (3, 3), strides=1, padding="SAME", kernel_init=init, name=f"Conv_{i}")
            x = activation(self.act)(conv(x))
        x = x.reshape(x.shape[0], -1)
        for h in self.hidden:
            x = activation(self.act)(nn.Dense(h, kernel_init=nn.initializers.orthogonal(np.sqrt(2)))(x))
        return x


class DictEncoder(nn.Module):
    """Encode one key of a dict observation (e.g. {"rgb": ...}) with a sub-encoder."""

    key: str
    encoder: nn.Module

    @nn.compact
    def __call__(self, obs):
        if not isinstance(obs, dict) or self.key not in obs:
            raise ValueError(f"observation has no key {self.key!r}")
        return self.encoder(obs[self.key])
