"""The host-side run loop: init or resume, jitted calls, metrics, checkpoints, signals.

Between jitted calls (each `run.updates_per_call` updates) the loop logs metrics, stops on
a non-finite loss (keeping the last good checkpoint), saves checkpoints, and honours
SIGTERM/SIGINT by saving a checkpoint and returning status "preempted".
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import pathlib
import signal
import sys
import time
from typing import Any, Optional

import jax
import numpy as np

from jaxcraft.config import ConfigError, ExperimentConfig, from_dict
from jaxcraft.train.fused.memory_estimate import check_fits_memory
from jaxcraft.train.imitation.pretrain import load_params
from jaxcraft.train.multihost import distributed
from jaxcraft.train.multihost.pod_watch import PodWatch, checkpoint_description
from jaxcraft.train.run.checkpoint import Checkpointer, CheckpointError, archive_previous_run
from jaxcraft.train.run.metrics import MetricsLogger
from jaxcraft.train.run.run_lock import run_dir_lock
from jaxcraft.train.trainer import Trainer

# What a run leaves in its run_dir; `--no-resume` moves these of an earlier run aside.
RUN_FILES = ("checkpoints", "replaced_checkpoints", "metrics.jsonl", "tb", "wandb", "summary.json", "config.json")

# Config keys that may change when resuming (budget and cosmetics); anything else must match.
RESUMABLE_CHANGES = {"run.total_env_steps", "run.progress", "run.tensorboard", "run.checkpoint_every",
                     "run.keep_checkpoints", "run.run_dir", "run.wandb_project", "run.wandb_mode"}


class TrainingDiverged(RuntimeError):
    """A loss became NaN/inf; the last good checkpoint is kept."""


@dataclasses.dataclass
class RunResult:
    status: str                    # "finished" | "preempted"
    run_dir: pathlib.Path
    updates: int
    env_steps: int
    final_return: Optional[float]
    steps_per_second: float
    trainer: Optional[Trainer] = None
    state: Any = None


class _StopSignals:
    """Turn SIGTERM/SIGINT into a flag checked between jitted calls."""

    def __init__(self):
        self.received: Optional[int] = None
        self._old = {}

    def __enter__(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread (e.g. some notebook runners)
                pass
        return self

    def _handle(self, signum, frame):
        self.received = signum

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _check_resume_config(saved: dict, config: ExperimentConfig) -> None:
    a, b = _flat(from_dict(saved).to_dict()), _flat(config.to_dict())
    diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k) and k not in RESUMABLE_CHANGES)
    if diff:
        detail = ", ".join(f"{k}: {a.get(k)!r} → {b.get(k)!r}" for k in diff[:8])
        raise CheckpointError(f"cannot resume: the config differs from the checkpoint's in {detail}. "
                              "Use another run_dir or --no-resume.")


def run_dir_of(config: ExperimentConfig) -> pathlib.Path:
    return pathlib.Path(config.run.run_dir.format(name=config.name))


def train(config: ExperimentConfig, trainer: Trainer, *, resume: bool = True, resume_step: Optional[int] = None,
          max_updates: Optional[int] = None, owns_trainer: bool = False) -> RunResult:
    """Train `config` with `trainer` (built from it, e.g. by `jaxcraft.build.make_trainer`) to its
    budget (or `max_updates` more updates), resuming from run_dir; `owns_trainer` closes it at the end.

    Returns a `RunResult`; raises `TrainingDiverged` on a non-finite loss,
    `CheckpointError` on a bad checkpoint (nothing saved is removed in either case) and
    `RunDirBusy` if another live run holds the run directory (`run_lock.py`; process 0 of a pod
    holds it for all).
    """
    if not isinstance(trainer, Trainer):
        raise TypeError(f"trainer must implement jaxcraft.train.trainer.Trainer, got {type(trainer).__name__}")
    lock = run_dir_lock(run_dir_of(config)) if distributed.is_main_process() else contextlib.nullcontext()
    with lock:
        return _train(config, trainer, resume=resume, resume_step=resume_step, max_updates=max_updates,
                      owns_trainer=owns_trainer)


def _train(config: ExperimentConfig, trainer: Trainer, *, resume: bool, resume_step: Optional[int],
           max_updates: Optional[int], owns_trainer: bool) -> RunResult:
    run_dir = run_dir_of(config)
    run_dir.mkdir(parents=True, exist_ok=True)
    # Multi-process: one experiment everywhere; process 0 alone writes the shared outputs.
    distributed.check_same_everywhere("the experiment config", config.to_json())
    main = distributed.is_main_process()
    if main and not resume and resume_step is None:   # a fresh start never prunes or overwrites an earlier run
        aside = archive_previous_run(run_dir, RUN_FILES)
        if aside is not None:
            print(f"jaxcraft: --no-resume: moved the earlier run's files to {aside}", file=sys.stderr)
    check_fits_memory(config, trainer)   # abstract shapes only: before anything is allocated or compiled
    ckpt = Checkpointer(run_dir / "checkpoints", config.run.keep_checkpoints)
    key = jax.random.key(config.run.seed)
    if config.run.init_params:
        try:
            # Fitted into the params init(key) would start from (value-only parts keep those), so
            # `init` is compiled once, with the params given.
            params = load_params(config.run.init_params, trainer.initial_params(key),
                                 fresh=trainer.agent.fresh_on_load)
        except (FileNotFoundError, ValueError) as e:
            raise ConfigError(f"run.init_params: {e}") from None
        state = trainer.init(key, params)
    else:
        state = trainer.init(key)
    start = 0
    step = resume_step if resume_step is not None else (ckpt.latest_step() if resume else None)
    if step is not None:
        meta = ckpt.read_meta(step)
        _check_resume_config(meta["config"], config)
        state, meta = ckpt.restore(step, state, trainer.state_sharding(state))
        start = int(meta["update"])
    if main:
        (run_dir / "config.json").write_text(config.to_json())

    total = config.num_updates
    if max_updates is not None:
        total = min(total, start + max_updates)
    logger = MetricsLogger(run_dir, config.num_updates, trainer.env_steps_per_update, start,
                           tensorboard=config.run.tensorboard, progress=config.run.progress,
                           wandb_project=config.run.wandb_project, wandb_mode=config.run.wandb_mode,
                           config=config.to_dict(), write=main)

    def save(update: int):
        ckpt.save(update, state, {"update": update, "env_steps": update * trainer.env_steps_per_update,
                                  "config": config.to_dict()})

    update, status, t_start, steps_done = start, "finished", time.perf_counter(), 0
    # A dead pod host named in one line before JAX's fatal abort (jaxcraft.train.multihost.pod_watch).
    watch = PodWatch(jax.process_index(), jax.process_count(), stale_after=distributed.heartbeat_timeout() / 2,
                     describe_checkpoint=checkpoint_description(ckpt.directory))
    try:
        with _StopSignals() as stop:
            while update < total:
                n = min(config.run.updates_per_call, total - update)
                t0 = time.perf_counter()
                state, metrics = trainer.run(state, n)
                watch.start()   # after the first call: its compile may starve this process's threads
                metrics = jax.device_get(metrics)
                seconds = time.perf_counter() - t0
                bad = ~np.isfinite(np.asarray(metrics["loss"]))
                if bad.any():
                    first = int(np.asarray(metrics["update"])[bad.argmax()])
                    logger.log({k: np.asarray(v)[: bad.argmax()] for k, v in metrics.items()}, seconds)
                    last = ckpt.latest_step()
                    raise TrainingDiverged(
                        f"loss became non-finite at update {first}; stopped without saving. "
                        f"Last good checkpoint: {'update ' + str(last) if last is not None else 'none'} in {ckpt.directory}.")
                logger.log(metrics, seconds)
                update += n
                steps_done += n * trainer.env_steps_per_update
                every = config.run.checkpoint_every
                # A signal on any host stops every host after the same update (pods preempt host by host).
                stopping = distributed.any_process(stop.received is not None)
                if (every and update % every == 0) or update == total or stopping:
                    save(update)
                if stopping:
                    status = "preempted"
                    break
    except TrainingDiverged:
        raise
    except Exception:
        watch.settle()   # a dead peer breaks the collectives first: name it rather than gloo's error
        raise
    finally:
        watch.done()
        logger.close()
        if owns_trainer:
            trainer.close()   # bridged trainers stop their simulator workers
    elapsed = time.perf_counter() - t_start
    result = RunResult(status=status, run_dir=run_dir, updates=update,
                       env_steps=update * trainer.env_steps_per_update, final_return=logger.last_return,
                       steps_per_second=steps_done / max(elapsed, 1e-9), trainer=trainer, state=state)
    try:   # nothing ran (a finished run started again): keep its summary
        old = json.loads((run_dir / "summary.json").read_text()) if steps_done == 0 else None
    except (OSError, ValueError):
        old = None
    if old is not None:
        result.final_return, result.steps_per_second = old.get("final_return"), old.get("steps_per_second", 0.0)
        return result
    summary = {"status": status, "run_dir": str(run_dir), "updates": update, "env_steps": result.env_steps,
               "final_return": result.final_return, "steps_per_second": result.steps_per_second}
    if main:
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    return result
