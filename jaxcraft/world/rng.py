"""Cheap counter-based randomness for world generation and mob wandering.

One threefry call turns the JAX key into a few uint32 seeds; every array of random numbers
is then an integer hash (murmur3 finaliser) of (seed, element index). Each jax.random
sampler inlines a full threefry graph that costs ~0.7 s of XLA compile on CPU; the world
needs ~15 of them, the hash costs nothing to compile.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp


def seeds(key: jax.Array, n: int) -> jax.Array:
    """uint32[n] independent seeds from a JAX key."""
    return jax.random.bits(key, (n,), jnp.uint32)


def _mix(h: jax.Array) -> jax.Array:
    h = h ^ (h >> 16)
    h = h * jnp.uint32(0x85EBCA6B)
    h = h ^ (h >> 13)
    h = h * jnp.uint32(0xC2B2AE35)
    return h ^ (h >> 16)


def bits(seed: jax.Array, shape) -> jax.Array:
    """uint32[shape] hashed from a seed and the element index."""
    n = 1
    for s in shape:
        n *= s
    i = jnp.arange(n, dtype=jnp.uint32).reshape(shape)
    return _mix(_mix(i * jnp.uint32(0x9E3779B9) + seed.astype(jnp.uint32)) ^ (seed.astype(jnp.uint32) * jnp.uint32(0x27D4EB2F)))


def uniform(seed: jax.Array, shape=(), minval=0.0, maxval=1.0) -> jax.Array:
    """float32 uniform in [minval, maxval)."""
    u = (bits(seed, shape) >> 8).astype(jnp.float32) * (1.0 / (1 << 24))
    return minval + (maxval - minval) * u


def randint(seed: jax.Array, shape, low: int, high) -> jax.Array:
    """int32 uniform in [low, high)."""
    return jnp.floor(uniform(seed, shape, low, high)).astype(jnp.int32)
