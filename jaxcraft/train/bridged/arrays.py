"""A received bridge `Batch` -> JAX arrays, sharded over the `data` axis of the mesh.

Where copies happen (frames are the only thing that matters; scalars are tiny):
  * `pool.recv()` / `pool.step()` (copy=True, the default) gather the batch's rows out of
    shared memory into fresh 64-byte-aligned host arrays: THE copy. `device_put` then
    adopts those buffers without copying on CPU (XLA's CPU client aliases aligned numpy
    memory) or performs the host->device transfer on GPU/TPU. So: one copy on CPU, one
    copy plus the unavoidable H2D transfer on accelerators. Do not mutate a Batch after
    converting it — on CPU its arrays back the JAX arrays.
  * `pool.step(copy=False)` / `pool.recv(copy=False)` with contiguous env ids give slab
    *views* (no gather). Because XLA on CPU would alias even shared memory (which the
    workers overwrite on the next step), we copy once into an aligned private buffer
    there; on accelerators `device_put` reads the slab directly (the single copy) and we
    block until the transfer is done before returning.
  * with several devices each receives only its slice of the env axis
    (`sharding.shard_batch`): no device-to-device copy.
float64/int64 host fields become float32/int32 unless `jax_enable_x64` is on.
"""
from __future__ import annotations

from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh

from bridge import Batch
from bridge.shm import aligned_empty
from jaxcraft.train.multihost.sharding import shard_batch

SCALAR_FIELDS = ("reward", "terminated", "truncated", "crashed", "episode_return",
                 "episode_length")


def _narrow(x: np.ndarray) -> np.ndarray:
    if jax.config.jax_enable_x64:
        return x
    if x.dtype == np.float64:
        return x.astype(np.float32)
    if x.dtype == np.int64:
        return x.astype(np.int32)
    return x


def batch_to_host_tree(batch: Batch, include_final_obs: bool = False) -> dict[str, Any]:
    """The pytree `batch_to_jax` transfers (numpy; no frame copies)."""
    tree: dict[str, Any] = {"env_ids": _narrow(batch.env_ids), "obs": dict(batch.obs)}
    for f in SCALAR_FIELDS:
        tree[f] = _narrow(getattr(batch, f))
    if include_final_obs:
        tree["final_obs"] = dict(batch.final_obs)
    return tree


def _private(tree: Any) -> Any:
    """Copy slab views into aligned private buffers (only needed when XLA would alias)."""
    def copy(x):
        out = aligned_empty(x.shape, x.dtype)
        np.copyto(out, x)
        return out
    return jax.tree.map(copy, tree)


def batch_to_jax(batch: Batch, mesh: Mesh | None = None,
                 include_final_obs: bool = False) -> dict[str, Any]:
    """JAX arrays for `batch`: {env_ids, obs{...}, reward, terminated, truncated, crashed,
    episode_return, episode_length[, final_obs{...}]}, each with leading axis B.

    With a mesh of several devices the env axis is split over `data` (B must divide
    evenly); otherwise arrays go to the default device.
    """
    tree = batch_to_host_tree(batch, include_final_obs)
    devices = mesh.devices.flat if mesh is not None else jax.local_devices()[:1]
    if batch.shares_memory and any(d.platform == "cpu" for d in devices):
        tree["obs"] = _private(tree["obs"])
    if mesh is not None and mesh.size > 1:
        if len(batch) % mesh.size:
            raise ValueError(f"batch of {len(batch)} envs cannot be split evenly over "
                             f"{mesh.size} devices; choose batch_size as a multiple of it")
        out = shard_batch(tree, mesh)
    else:
        out = jax.device_put(tree)
    if batch.shares_memory:  # the source rows may change once these envs are sent again
        jax.block_until_ready(out)
    return out
