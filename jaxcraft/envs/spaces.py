"""Action/observation spaces for functional JAX environments.

gymnax ships `Discrete` and `Box`; jaxcraft adds `MultiDiscrete` for factorised
VPT/MineRL-style action spaces (binary buttons + binned camera pitch/yaw).
Spaces are plain frozen descriptions: the policy reads them to build its
action distribution (`jaxcraft.ppo.distributions.for_space`).
"""
from __future__ import annotations

import abc
import dataclasses
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from bridge.crossview import ObservationSchema, VALUE_ONLY_KEYS
from jaxcraft.ppo.distributions import FactorisedCategorical

# VALUE_ONLY_KEYS: the observation schema's value-only keys (asymmetric actor-critic, as Brax's PPO
# networks separate policy and value observation keys): only a value function reads them; a policy
# never needs them to act, and envs without them (Minetest, bridged simulators) still run every
# policy. Adding a critic-only input = a value-only field in `bridge.crossview.LAYOUT` + the env that
# emits it + the net's value path (`jaxcraft.nets.goal`).


def policy_observation(obs: Any) -> Any:
    """A dict observation without its value-only keys (anything else unchanged)."""
    return {k: v for k, v in obs.items() if k not in VALUE_ONLY_KEYS} if isinstance(obs, dict) else obs


class Space(abc.ABC):
    """Base class: `sample(key)` and `contains(x)`; `shape`/`dtype` describe one element."""

    shape: tuple[int, ...]
    dtype: Any

    @abc.abstractmethod
    def sample(self, key: jax.Array) -> jax.Array:
        """A random element."""

    @abc.abstractmethod
    def contains(self, x: jax.Array) -> jax.Array:
        """Whether `x` is an element (a bool array)."""


@dataclasses.dataclass(frozen=True)
class Discrete(Space):
    """Integers in [0, n)."""

    n: int
    shape: tuple[int, ...] = ()
    dtype: Any = jnp.int32

    def sample(self, key):
        return jax.random.randint(key, (), 0, self.n, dtype=self.dtype)

    def contains(self, x):
        x = jnp.asarray(x)
        return jnp.logical_and(x >= 0, x < self.n)


@dataclasses.dataclass(frozen=True)
class MultiDiscrete(Space):
    """A vector of independent integers, factor i in [0, nvec[i]).

    `names` labels the factors (e.g. ("forward", ..., "camera_pitch", "camera_yaw")).
    """

    nvec: tuple[int, ...]
    names: tuple[str, ...] = ()
    dtype: Any = jnp.int32

    def __post_init__(self):
        if self.names and len(self.names) != len(self.nvec):
            raise ValueError(f"MultiDiscrete: {len(self.names)} names for {len(self.nvec)} factors")
        if any(int(n) < 1 for n in self.nvec):
            raise ValueError(f"MultiDiscrete: every factor needs n >= 1, got {self.nvec}")

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.nvec),)

    def sample(self, key):
        keys = jax.random.split(key, len(self.nvec))
        return jnp.stack([jax.random.randint(k, (), 0, n, dtype=self.dtype) for k, n in zip(keys, self.nvec)])

    def contains(self, x):
        x = jnp.asarray(x)
        return jnp.all(jnp.logical_and(x >= 0, x < jnp.asarray(self.nvec)))


@dataclasses.dataclass(frozen=True)
class Box(Space):
    """Arrays of a fixed shape with elementwise bounds."""

    low: Any
    high: Any
    shape: tuple[int, ...]
    dtype: Any = jnp.float32

    def sample(self, key):
        if jnp.issubdtype(self.dtype, jnp.integer):
            return jax.random.randint(key, self.shape, self.low, jnp.asarray(self.high) + 1).astype(self.dtype)
        return jax.random.uniform(key, self.shape, minval=self.low, maxval=self.high).astype(self.dtype)

    def contains(self, x):
        x = jnp.asarray(x)
        return jnp.all(jnp.logical_and(x >= self.low, x <= self.high))


def from_gymnax(space: Any) -> Space:
    """Convert a gymnax space (Discrete/Box/Dict) to a jaxcraft space; pass ours through."""
    if isinstance(space, Space):
        return space
    name = type(space).__name__
    if name == "Discrete":
        return Discrete(int(space.n))
    if name == "Box":
        return Box(space.low, space.high, tuple(space.shape), space.dtype)
    raise TypeError(f"unsupported action space {name!r}; jaxcraft supports Discrete, MultiDiscrete and Box")


def nvec_of(space: Space) -> Sequence[int]:
    """Number of choices per factor: Discrete(n) is a single factor."""
    if isinstance(space, Discrete):
        return (space.n,)
    if isinstance(space, MultiDiscrete):
        return tuple(int(n) for n in space.nvec)
    raise TypeError(f"{type(space).__name__} is not a discrete space")




def action_distribution(action_space: Any):
    """The PPO action distribution of a Discrete or MultiDiscrete action space."""
    space = from_gymnax(action_space)
    return FactorisedCategorical(nvec_of(space), scalar=isinstance(space, Discrete))


def schema_spaces(schema: ObservationSchema) -> dict:
    """The observation space (a dict of spaces) of a cross-view task observation schema."""
    return {f.name: Discrete(f.high + 1) if f.category else Box(f.low, f.high, f.shape(schema.frame), getattr(jnp, f.dtype))
            for f in schema.fields}


def zeros_of_space(space: Any, lead: tuple[int, ...] = (1, 1)) -> Any:
    """Zeros of a space (or a dict of spaces) with `lead` axes in front: a network's init sample."""
    if isinstance(space, dict):
        return {k: zeros_of_space(v, lead) for k, v in space.items()}
    return jnp.zeros(tuple(lead) + tuple(space.shape), space.dtype)


__all__ = ["Space", "Discrete", "MultiDiscrete", "Box", "VALUE_ONLY_KEYS", "action_distribution", "from_gymnax",
           "nvec_of", "policy_observation", "schema_spaces", "zeros_of_space"]
