"""The device mesh: one `data` axis over all local devices.

Environments (and everything with a leading env axis) are split over `data`;
parameters and optimiser state are replicated. Works unchanged on 1 CPU, several
emulated CPU devices (`XLA_FLAGS=--xla_force_host_platform_device_count=N`), GPUs or TPUs.
"""
from __future__ import annotations

from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

DATA_AXIS = "data"


def make_mesh(num_devices: int | None = None) -> Mesh:
    """A 1-D mesh over the first `num_devices` local devices (default: all)."""
    devices = jax.local_devices()
    n = len(devices) if num_devices is None else int(num_devices)
    if not 1 <= n <= len(devices):
        raise ValueError(f"num_devices={n} but only {len(devices)} local devices are available")
    return Mesh(np.asarray(devices[:n]), (DATA_AXIS,))


def data_sharding(mesh: Mesh) -> NamedSharding:
    """Leading axis split over `data` (env-major arrays: [B, ...])."""
    return NamedSharding(mesh, P(DATA_AXIS))


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P())


def shard_batch(tree: Any, mesh: Mesh, axis: int = 0) -> Any:
    """Place host/device arrays on the mesh split along `axis` (the env axis).

    One host→device transfer per leaf; each device receives only its slice.
    """
    def put(x):
        spec = [None] * np.ndim(x)
        spec[axis] = DATA_AXIS
        return jax.device_put(x, NamedSharding(mesh, P(*spec)))
    return jax.tree.map(put, tree)


def replicate(tree: Any, mesh: Mesh) -> Any:
    return jax.device_put(tree, replicated(mesh))
