"""Orbax checkpoints of a whole run: train state (params, optimiser, env, keys, counter) + config.

Saves are synchronous and atomic (orbax writes to a temporary directory and renames it
when complete), so a run killed mid-save leaves only finished checkpoints behind. Each
checkpoint's metadata carries a sha256 per array of the saved state (`state_checksums`),
recomputed after restore: bytes that still decode but differ (bit rot, an overwrite) are
reported like any other damage. A checkpoint that cannot be read raises `CheckpointError`
naming it in one line; nothing is deleted.

Multi-process runs: every process calls `save` and `restore` with its global arrays; orbax
writes each process's shards and commits once (process 0), and restores into the current
mesh, which may have another process count (docs/pods.md). Their checkpoints carry no
checksums (no process holds every array's bytes), so they restore unverified.
"""
from __future__ import annotations

import errno
import hashlib
import json
import pathlib
import re
import shutil
import sys
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


def state_checksums(tree: Any) -> dict[str, str]:
    """sha256 of each leaf's dtype, shape and bytes (host copy), keyed by its tree path."""
    out = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(to_saveable(tree))[0]:
        a = np.ascontiguousarray(np.asarray(jax.device_get(leaf)))
        h = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
        out[jax.tree_util.keystr(path)] = h.hexdigest()
    return out


_ORBAX_TMP_SUFFIX = ".orbax-checkpoint-tmp"   # orbax's name for a checkpoint still being written


def _is_disk_full(e: BaseException) -> bool:
    """ENOSPC anywhere in the exception chain or its text (TensorStore reports it as a string)."""
    while e is not None:
        if (isinstance(e, OSError) and e.errno == errno.ENOSPC) or "No space left on device" in str(e):
            return True
        e = e.__cause__ or e.__context__
    return False


def _first_line(e: BaseException, limit: int = 300) -> str:
    """`Type: first line` of an exception, before any TensorStore spec/byte-range dump, at most `limit` chars."""
    line = (str(e).strip().splitlines() or [""])[0]
    # TensorStore appends its spec as `[…]`/`{…}` dumps or as "See full TensorStore details: <bound method …".
    text = re.split(r"\s*(?:[\[{]|See full TensorStore details|<bound method)", line)[0].rstrip(" :.")[:limit]
    return f"{type(e).__name__}: {text}{' …' if len(text) < len(line) else ''}"


def _drop_closed_loop_callbacks() -> None:
    """When one read of a restore fails, orbax closes its event loop while TensorStore still
    completes the other reads; each late completion callback then raises "Event loop is closed"
    as an unraisable exception (hundreds of tracebacks on stderr, during and after the restore).
    Installed (once) before a restore, this hook drops exactly those and passes on the rest."""
    previous = sys.unraisablehook
    if getattr(previous, "drops_closed_loop_callbacks", False):
        return

    def hook(unraisable):
        if not (unraisable.exc_type is RuntimeError and "Event loop is closed" in str(unraisable.exc_value)):
            previous(unraisable)

    hook.drops_closed_loop_callbacks = True
    sys.unraisablehook = hook


def archive_previous_run(run_dir: pathlib.Path, names: tuple[str, ...]) -> Optional[pathlib.Path]:
    """Move the files of an earlier run in `run_dir` (checkpoints, metrics, events, summary) into
    `run_dir/previous_runs/<time>/` by rename (their bytes are untouched), so a fresh start neither
    prunes nor overwrites them. Returns the archive directory, or None if there was nothing to move."""
    present = [n for n in names if (run_dir / n).exists()]
    if not present:
        return None
    aside = run_dir / "previous_runs" / time.strftime("%Y%m%d-%H%M%S")
    while aside.exists():
        aside = aside.with_name(aside.name + "+")
    aside.mkdir(parents=True)
    for n in present:
        (run_dir / n).rename(aside / n)
    return aside


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
        if jax.process_count() == 1:   # multi-process: no process holds every array's bytes
            meta = {**meta, "state_checksums": state_checksums(state)}
        try:
            self.manager.save(step, args=ocp.args.Composite(
                state=ocp.args.StandardSave(to_saveable(state)), meta=ocp.args.JsonSave(meta)), force=True)
            self.manager.wait_until_finished()
        except Exception as e:  # noqa: BLE001 - orbax/TensorStore wrap the OSError in their own types
            if not _is_disk_full(e):
                raise
            # The unfinished write is orbax's temporary directory: remove it (the complete
            # checkpoints are untouched), then one line instead of hundreds of traceback lines.
            for tmp in self.directory.glob(f"{step}{_ORBAX_TMP_SUFFIX}*"):
                shutil.rmtree(tmp, ignore_errors=True)
            free = shutil.disk_usage(self.directory).free
            raise CheckpointError(
                f"could not write the checkpoint at update {step} to {self.directory}: the disk is full "
                f"({free / 2**20:.1f} MiB free). Nothing saved was lost; checkpoints kept: {self.steps() or 'none'}. "
                f"Free some space and run the same command again to resume.") from None

    def read_meta(self, step: int) -> dict:
        self._require(step)
        path = self.directory / str(step) / "meta" / "metadata"
        try:
            return json.loads(path.read_text())
        except Exception as e:  # noqa: BLE001 - any failure here means the same thing
            raise CheckpointError(self._corrupt(step, f"cannot read its metadata ({e})")) from None

    def restore(self, step: int, like: Any, shardings: Any = None) -> tuple[Any, dict]:
        """Restore `step` into the structure (and shardings) of `like`."""
        meta = self.read_meta(step)
        saveable = to_saveable(like)
        if shardings is None:
            shardings = jax.tree.map(lambda x: getattr(x, "sharding", None), like)
        abstract = jax.tree.map(
            lambda x, s: jax.ShapeDtypeStruct(np.shape(x), x.dtype, sharding=s), saveable,
            jax.tree.map(lambda x, s: s, saveable, shardings))
        _drop_closed_loop_callbacks()
        try:
            restored = self.manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract)))
        except Exception as e:  # noqa: BLE001 - orbax raises many types for a damaged directory
            raise CheckpointError(self._corrupt(step, _first_line(e))) from None
        state = from_saveable(restored["state"], like)
        saved = meta.get("state_checksums")   # absent in checkpoints written before checksums
        if saved is not None:
            now = state_checksums(state)
            bad = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
            if bad:
                raise CheckpointError(self._corrupt(
                    step, f"sha256 of {len(bad)} array(s) differs from the one saved, e.g. {bad[0]}"))
        return state, meta

    def restore_subtree(self, step: int, path: tuple[str, ...]) -> Any:
        """The saved state's subtree at `path` (e.g. `("ppo", "params")`) as nested dicts of arrays,
        restored from the checkpoint's own metadata — no `like`, so no trainer needs building — and
        checked against its saved checksums. `CheckpointError` naming the problem otherwise."""
        meta = self.read_meta(step)
        _drop_closed_loop_callbacks()
        try:
            tree = self.manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore()))["state"]
            for name in path:
                tree = tree[name]
        except KeyError:
            raise CheckpointError(self._corrupt(step, f"its state has no {'.'.join(path)}")) from None
        except Exception as e:  # noqa: BLE001 - orbax raises many types for a damaged directory
            raise CheckpointError(self._corrupt(step, _first_line(e))) from None
        saved = meta.get("state_checksums")
        if saved is not None:   # the saved keys are paths of the whole state: ".ppo.params['params']…"
            prefix = "".join(f".{name}" for name in path)
            now = {prefix + k: v for k, v in state_checksums(tree).items()}
            bad = sorted(k for k in now if saved.get(k) != now[k])
            if bad:
                raise CheckpointError(self._corrupt(
                    step, f"sha256 of {len(bad)} array(s) differs from the one saved, e.g. {bad[0]}"))
        return tree

    def _require(self, step: int) -> None:
        if step not in self.steps():
            raise CheckpointError(f"no checkpoint at update {step} in {self.directory}; "
                                  f"available: {self.steps() or 'none'}")

    def _corrupt(self, step: int, why: str) -> str:
        others = [s for s in self.steps() if s != step]
        return (f"checkpoint at update {step} ({self.directory / str(step)}) is corrupt, partial or "
                f"incompatible: {why}. Nothing was deleted; other checkpoints: {others or 'none'} "
                f"(resume from one with --resume-step N, or start afresh with --no-resume, which moves this run aside).")
