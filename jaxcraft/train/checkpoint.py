"""Orbax checkpoints of a whole run: train state (params, optimiser, env, keys, counter) + config.

Saves are synchronous and atomic (orbax writes to a temporary directory and renames it
when complete), so a run killed mid-save leaves only finished checkpoints behind. A
checkpoint that cannot be read raises `CheckpointError` naming it; nothing is deleted.

Multi-process runs: every process calls `save` and `restore` with its global arrays; orbax
writes each process's shards and commits once (process 0), and restores into the current
mesh, which may have another process count (docs/pods.md).
"""
from __future__ import annotations

import json
import pathlib
import shutil
import time
from typing import Any, Optional

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
from jax.experimental import multihost_utils


class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupt, partial or does not match the run."""


def _is_key(x: Any) -> bool:
    return isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jax.dtypes.prng_key)


def to_saveable(tree: Any) -> Any:
    """Typed PRNG keys → their uint32 key data (orbax stores plain arrays)."""
    return jax.tree.map(lambda x: jax.random.key_data(x) if _is_key(x) else x, tree)


def from_saveable(tree: Any, like: Any) -> Any:
    """Undo `to_saveable`, using `like` to know which leaves were keys."""
    return jax.tree.map(lambda x, l: jax.random.wrap_key_data(x, impl=jax.random.key_impl(l)) if _is_key(l) else x,
                        tree, like)


class Checkpointer:
    """Thin wrapper over `ocp.CheckpointManager` with run metadata and clear errors."""

    def __init__(self, directory: str | pathlib.Path, max_to_keep: int = 3):
        self.directory = pathlib.Path(directory).absolute()
        self.manager = ocp.CheckpointManager(
            self.directory,
            options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True,
                                                 enable_async_checkpointing=False))

    def steps(self) -> list[int]:
        self.manager.reload()
        return sorted(self.manager.all_steps())

    def latest_step(self) -> Optional[int]:
        steps = self.steps()
        return steps[-1] if steps else None

    def save(self, step: int, state: Any, meta: dict) -> None:
        """Save `state` at `step`. A checkpoint already at `step` (e.g. a corrupt one, or one from
        a branch resumed at an earlier step) is moved to `../replaced_checkpoints/`, never deleted."""
        if step in self.steps():
            if jax.process_index() == 0:  # multi-process: one host moves it, the others wait
                aside = self.directory.parent / "replaced_checkpoints" / f"{step}-{time.strftime('%Y%m%d-%H%M%S')}"
                aside.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(self.directory / str(step)), str(aside))
            if jax.process_count() > 1:
                multihost_utils.sync_global_devices(f"jaxcraft-checkpoint-aside-{step}")
            self.manager.reload()
        self.manager.save(step, args=ocp.args.Composite(
            state=ocp.args.StandardSave(to_saveable(state)), meta=ocp.args.JsonSave(meta)), force=True)
        self.manager.wait_until_finished()

    def read_meta(self, step: int) -> dict:
        path = self.directory / str(step) / "meta" / "metadata"
        try:
            return json.loads(path.read_text())
        except Exception as e:  # noqa: BLE001 - any failure here means the same thing
            raise CheckpointError(self._corrupt(step, f"cannot read its metadata ({e})")) from None

    def restore(self, step: int, like: Any, shardings: Any = None) -> tuple[Any, dict]:
        """Restore `step` into the structure (and shardings) of `like`."""
        if step not in self.steps():
            raise CheckpointError(f"no checkpoint at update {step} in {self.directory}; available: {self.steps()}")
        meta = self.read_meta(step)
        saveable = to_saveable(like)
        if shardings is None:
            shardings = jax.tree.map(lambda x: getattr(x, "sharding", None), like)
        abstract = jax.tree.map(
            lambda x, s: jax.ShapeDtypeStruct(np.shape(x), x.dtype, sharding=s), saveable,
            jax.tree.map(lambda x, s: s, saveable, shardings))
        try:
            restored = self.manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract)))
        except Exception as e:  # noqa: BLE001 - orbax raises many types for a damaged directory
            raise CheckpointError(self._corrupt(step, f"{type(e).__name__}: {str(e)[:300]}")) from None
        state = restored["state"]
        return from_saveable(state, like), meta

    def _corrupt(self, step: int, why: str) -> str:
        others = [s for s in self.steps() if s != step]
        return (f"checkpoint at update {step} ({self.directory / str(step)}) is corrupt, partial or "
                f"incompatible: {why}. Nothing was deleted; other checkpoints: {others or 'none'} "
                f"(resume from one with --resume-step N, or start afresh with --no-resume).")
