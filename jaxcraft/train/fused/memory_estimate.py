"""Will a run fit in memory? A lower bound computed from abstract shapes, before anything is
allocated or compiled.

    bytes ≥ train state (params, optimiser, env states of all envs, reset pool, carries)
          + trajectory of one rollout ([T, B] obs, actions, log-probs, values, rewards, flags)
          + PPO batch (the shuffled copy of the trajectory the minibatches are cut from,
            plus advantages and returns, 2 · 4 bytes per step)

Each term comes from `jax.eval_shape` of the trainer's own functions (`init`, the rollout),
which traces but neither compiles nor allocates. Activations of a minibatch and XLA's
temporaries are not counted, so the true peak is higher: a run refused here cannot fit.
The bound is compared with host memory (physical RAM, or the cgroup limit if lower) on CPU
and with each accelerator's `memory_stats()["bytes_limit"]` (per device: the state and
batch are split over the data axis) where the backend reports it.
"""
from __future__ import annotations

import dataclasses
import os
import pathlib
import weakref
from typing import Any, Optional

import jax
import numpy as np

from jaxcraft.config import ConfigError
from jaxcraft.train.fused.rollout import make_rollout
from jaxcraft.train.fused.trainer import FusedTrainer


@dataclasses.dataclass(frozen=True)
class MemoryEstimate:
    state_bytes: int
    trajectory_bytes: int
    batch_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.state_bytes + self.trajectory_bytes + self.batch_bytes


def tree_bytes(tree: Any) -> int:
    """Bytes of the arrays (concrete or `ShapeDtypeStruct`) of a pytree (typed PRNG keys: their key data)."""
    total = 0
    for leaf in jax.tree.leaves(tree):
        dtype = leaf.dtype
        if jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
            itemsize = 8      # threefry: 2 × uint32
        else:
            itemsize = np.dtype(dtype).itemsize
        total += int(np.prod(leaf.shape, dtype=np.float64)) * itemsize
    return total


_ESTIMATES: "weakref.WeakKeyDictionary[Any, MemoryEstimate]" = weakref.WeakKeyDictionary()


def estimate_fused(trainer: Any) -> MemoryEstimate:
    """Abstract shapes of a `FusedTrainer`'s state and of one rollout (see the module doc);
    traced once per trainer (a shared trainer is reused across runs)."""
    if trainer in _ESTIMATES:
        return _ESTIMATES[trainer]
    state = jax.eval_shape(trainer.init, jax.random.key(0))
    ppo = state.ppo
    # Unguided (a guided rollout needs a horizon; the guide's state is counted in `state`).
    rollout = make_rollout(trainer.env, trainer.acting, trainer.config.env.rollout_len,
                           carry_every=trainer.learner.chunk_len)
    # The rollout runs on each device's shard (inside `shard_map`): trace it on one shard's shapes
    # (every actor leaf is split over devices along its leading axis; the reset pool's cursor and
    # key have one entry per device) and count the trajectory of all `n` shards.
    n = max(1, int(getattr(trainer, "num_devices", 1)))
    local_actor = jax.tree.map(lambda s: jax.ShapeDtypeStruct((s.shape[0] // n, *s.shape[1:]), s.dtype),
                               state.actor)
    _, traj = jax.eval_shape(rollout, ppo.params, ppo.ref_params, ppo.value_norm, local_actor)
    traj_bytes = n * tree_bytes(traj)
    steps = trainer.config.batch_size
    _ESTIMATES[trainer] = MemoryEstimate(tree_bytes(state), traj_bytes, traj_bytes + 2 * 4 * steps)
    return _ESTIMATES[trainer]


def host_memory_bytes() -> Optional[int]:
    """Physical memory, or the cgroup (v2 / v1) limit if that is lower; None if unknown."""
    limits = []
    try:
        limits.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        pass
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = pathlib.Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 1 << 60:
            limits.append(int(text))
    return min(limits) if limits else None


def _gb(n: float) -> str:
    return f"{n / 1e9:,.1f} GB"


def memory_problem(config: Any, estimate: MemoryEstimate, devices: Optional[list] = None) -> Optional[str]:
    """One line naming the fields and the estimate if it exceeds the memory available, else None."""
    devices = devices if devices is not None else jax.local_devices()
    n = max(1, int(getattr(config.run, "num_devices", 0) or len(devices)))
    what = (f"estimated memory {_gb(estimate.total_bytes)} (train state incl. env states "
            f"{_gb(estimate.state_bytes)}, trajectory {_gb(estimate.trajectory_bytes)}, PPO batch "
            f"{_gb(estimate.batch_bytes)}) for env.num_envs={config.env.num_envs}, "
            f"env.rollout_len={config.env.rollout_len}, env.reset_pool_size={config.env.reset_pool_size}")
    if devices and devices[0].platform != "cpu":
        stats = devices[0].memory_stats() or {}
        limit = stats.get("bytes_limit")
        if limit and estimate.total_bytes / n > limit:
            return (f"{what} needs {_gb(estimate.total_bytes / n)} per device on {n} {devices[0].platform} "
                    f"device(s) with {_gb(limit)} each; lower env.num_envs or env.rollout_len")
        return None
    host = host_memory_bytes()
    if host and estimate.total_bytes > host:
        return f"{what} exceeds this host's memory {_gb(host)}; lower env.num_envs or env.rollout_len"
    return None


def check_fits_memory(config: Any, trainer: Any) -> None:
    """Raise `ConfigError` (one line) if the run's lower-bound memory exceeds what is available.
    Fused (JAX-env) trainers only: a bridged run's env states live in its simulator workers."""
    if not isinstance(trainer, FusedTrainer):
        return
    problem = memory_problem(config, estimate_fused(trainer), list(trainer.mesh.devices.flat))
    if problem:
        raise ConfigError(problem)
