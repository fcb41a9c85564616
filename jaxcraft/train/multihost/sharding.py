"""The device mesh: one `data` axis over every device of every process.

Environments (and everything with a leading env axis) are split over `data`;
parameters and optimiser state are replicated. Works unchanged on 1 CPU, several
emulated CPU devices (`XLA_FLAGS=--xla_force_host_platform_device_count=N`), GPUs, TPUs,
and multi-process jobs (`jaxcraft.train.multihost.distributed`): there the mesh spans `jax.devices()`
in process order, so process p owns the env slice [p·B/P, (p+1)·B/P) of a global batch B —
the same env ↔ device index layout as one process with all the devices.
"""
from __future__ import annotations

from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

DATA_AXIS = "data"


def make_mesh(num_devices: int | None = None) -> Mesh:
    """A 1-D mesh over the first `num_devices` devices (default: all, of every process).

    Devices are ordered by (process, local id) so each process's devices are contiguous.
    A multi-process mesh must use every device (each process feeds its own).
    """
    devices = sorted(jax.devices(), key=lambda d: (d.process_index, d.id))
    n = len(devices) if num_devices is None else int(num_devices)
    if not 1 <= n <= len(devices):
        raise ValueError(f"num_devices={n} but only {len(devices)} devices are available")
    if jax.process_count() > 1 and n != len(devices):
        raise ValueError(f"num_devices={n}: a multi-process mesh uses all {len(devices)} devices of the "
                         f"{jax.process_count()} processes")
    return Mesh(np.asarray(devices[:n]), (DATA_AXIS,))


def local_mesh(mesh: Mesh) -> Mesh:
    """The part of `mesh` on this process's devices (for host-local work such as bridged acting)."""
    mine = [d for d in mesh.devices.flat if d.process_index == jax.process_index()]
    return Mesh(np.asarray(mine), (DATA_AXIS,))


def data_sharding(mesh: Mesh) -> NamedSharding:
    """Leading axis split over `data` (env-major arrays: [B, ...])."""
    return NamedSharding(mesh, P(DATA_AXIS))


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P())


def shard_batch(tree: Any, mesh: Mesh, axis: int = 0) -> Any:
    """Place host/device arrays on the mesh split along `axis` (the env axis).

    One host→device transfer per leaf; each device receives only its slice. On a mesh
    spanning several processes `tree` is this process's part of the global batch (its
    devices' slices, in order): the global array is assembled with
    `jax.make_array_from_process_local_data`.
    """
    multi = not all(d.process_index == jax.process_index() for d in mesh.devices.flat)

    def put(x):
        spec = [None] * np.ndim(x)
        spec[axis] = DATA_AXIS
        sharding = NamedSharding(mesh, P(*spec))
        if multi:
            return jax.make_array_from_process_local_data(sharding, np.asarray(x))
        return jax.device_put(x, sharding)
    return jax.tree.map(put, tree)


def put_process_local(tree: Any, shardings: Any) -> Any:
    """Host arrays → global arrays with `shardings` (a matching tree). Single process: a
    `device_put`; multi-process: each leaf is this process's part of the global array
    (`jax.make_array_from_process_local_data`)."""
    def put(x, s):
        if s.is_fully_addressable:
            return jax.device_put(x, s)
        return jax.make_array_from_process_local_data(s, np.asarray(x))
    return jax.tree.map(put, tree, shardings)


def replicate(tree: Any, mesh: Mesh) -> Any:
    return jax.device_put(tree, replicated(mesh))


def to_local(tree: Any, mesh: Mesh) -> Any:
    """Replicated global arrays → the same values replicated over this process's part of
    `mesh` (no communication: each process already holds a full copy)."""
    sharding = replicated(local_mesh(mesh))

    def local(x):
        if not isinstance(x, jax.Array) or x.is_fully_addressable:
            return jax.device_put(x, sharding)
        return jax.device_put(x.addressable_data(0), sharding)
    return jax.tree.map(local, tree)
