"""Metrics sinks: JSONL (one line per update), TensorBoard, optional W&B, and a progress bar (jaxcraft.progress).

`ScalarLog` (metrics.jsonl + tb/ under a directory) is shared by `train` and `pretrain`.

Keys under `time/` (steps per second, wall time) vary between runs; every other key is a
deterministic function of the config and seed, which is what the resume test compares.

`metrics.jsonl` is the record of a run; its TensorBoard events are derived from it. On resume
from update u, lines after u are dropped (a torn last line from a kill mid-write too, with a
one-line notice) and the events are rewritten from the kept lines, so every (tag, step)
appears once in `tb/` whatever reader is used.
"""
from __future__ import annotations

import json
import math
import pathlib
import sys
import time
from typing import Any, Optional

import numpy as np

from jaxcraft.progress import progress_bar
from jaxcraft.train.run.wandb_sink import WandbSink


class ScalarLog:
    """`dir/metrics.jsonl` (one JSON row per `write`, appended) and TensorBoard scalars in `dir/tb`."""

    def __init__(self, directory: pathlib.Path, tensorboard: bool = True):
        self.dir = pathlib.Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / "metrics.jsonl"
        self.file = open(self.path, "a")
        self.writer = None
        if tensorboard:
            from tensorboardX import SummaryWriter
            self.writer = SummaryWriter(str(self.dir / "tb"))

    def write(self, row: dict, step: int, skip: tuple[str, ...] = ()) -> None:
        """One row; every finite number not in `skip` also goes to TensorBoard at `step`."""
        self.file.write(json.dumps(row) + "\n")
        if self.writer is not None:
            for k, v in row.items():
                if k not in skip and isinstance(v, (int, float)) and math.isfinite(v):
                    self.writer.add_scalar(k, v, step)

    def flush(self) -> None:
        self.file.flush()

    def close(self) -> None:
        self.file.close()
        if self.writer is not None:
            self.writer.close()


RUN_STEP_KEYS = ("update", "env_steps")   # the x-axes of a run's rows, not scalars


def scalars_of(row: dict) -> dict[str, float]:
    """The TensorBoard/W&B scalars of a run's JSONL row (finite numbers; the step keys are the x-axis)."""
    return {k: v for k, v in row.items()
            if k not in RUN_STEP_KEYS and isinstance(v, (int, float)) and math.isfinite(v)}


class MetricsLogger:
    def __init__(self, run_dir: pathlib.Path, total_updates: int, steps_per_update: int, start_update: int = 0,
                 tensorboard: bool = True, progress: bool = True, wandb_project: str = "", wandb_mode: str = "",
                 config: Optional[dict] = None, write: bool = True):
        """`write=False` (processes other than 0 of a multi-process run): nothing is written or
        shown (no metrics.jsonl, TensorBoard, W&B or progress bar); `last_return` is still tracked."""
        self.run_dir = pathlib.Path(run_dir)
        self.path = self.run_dir / "metrics.jsonl"
        self.steps_per_update = steps_per_update
        self.sink, self.wandb, self.bar, self.last_return = None, None, None, None
        self._t0 = time.perf_counter()
        if not write:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        kept = self._truncate_after(start_update)
        old_events = sorted((self.run_dir / "tb").glob("events.out.tfevents.*")) if tensorboard else []
        self.sink = ScalarLog(self.run_dir, tensorboard)
        if self.sink.writer is not None:   # events from the kept rows only; the older files go
            for row in kept:
                for k, v in scalars_of(row).items():
                    self.sink.writer.add_scalar(k, v, row["env_steps"])
            self.sink.writer.flush()
            for f in old_events:
                f.unlink()
        if wandb_project:
            self.wandb = WandbSink(self.run_dir, wandb_project, wandb_mode, config or {})
        if progress:
            self.bar = progress_bar(total=total_updates * steps_per_update, initial=start_update * steps_per_update,
                                    desc="train", unit="step", unit_scale=True)
        # The return of the last update with finished episodes, also across a resume.
        self.last_return: Optional[float] = next(
            (r["episode_return"] for r in reversed(kept) if r.get("episodes", 0) > 0), None)

    def _truncate_after(self, update: int) -> list[dict]:
        """Keep the rows of updates ≤ `update` (those after it were written after the checkpoint we
        resume from); a torn last line (killed mid-write) is dropped with a notice. Returns the kept rows."""
        if not self.path.exists():
            return []
        rows, torn = _rows(self.path)
        if torn is not None:
            print(f"jaxcraft: {self.path}: dropped a torn last line (the run was killed mid-write): "
                  f"{torn[:60]!r}", file=sys.stderr)
        kept = [r for r in rows if r["update"] <= update]
        tmp = self.path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in kept))
        tmp.replace(self.path)   # atomic: a kill here leaves the old or the new file, never a half
        return kept

    def log(self, metrics: dict[str, np.ndarray], seconds: float) -> list[dict]:
        """`metrics`: arrays stacked over the updates of one call."""
        n = len(np.asarray(metrics["update"]))
        sps = n * self.steps_per_update / max(seconds, 1e-9)
        rows = []
        for i in range(n):
            row = {k: float(np.asarray(v)[i]) for k, v in metrics.items()}
            row["update"] = int(row["update"])
            row["env_steps"] = row["update"] * self.steps_per_update
            row["time/sps"] = sps
            row["time/wall"] = time.perf_counter() - self._t0
            rows.append(row)
            if self.sink is not None:
                self.sink.write(row, row["env_steps"], skip=RUN_STEP_KEYS)
            if self.wandb is not None:
                self.wandb.log(scalars_of(row), row["env_steps"])
            if row.get("episodes", 0) > 0:
                self.last_return = row["episode_return"]
        if self.sink is not None:
            self.sink.flush()
        if self.bar is not None:
            post = {"sps": f"{sps:,.0f}"}
            if self.last_return is not None:
                post["return"] = f"{self.last_return:.2f}"
            self.bar.set_postfix(post, refresh=False)
            self.bar.update(n * self.steps_per_update)
        return rows

    def close(self) -> None:
        if self.sink is not None:
            self.sink.close()
        if self.wandb is not None:
            self.wandb.close()
        if self.bar is not None:
            self.bar.close()


def _rows(path: pathlib.Path) -> tuple[list[dict], Optional[str]]:
    """(rows, torn last line or None) of a metrics.jsonl; a bad line elsewhere is a ValueError."""
    lines = [l for l in path.read_text().splitlines() if l.strip()]
    rows = []
    for i, line in enumerate(lines):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            if i != len(lines) - 1:
                raise ValueError(f"{path}: line {i + 1} is not JSON (only a torn last line is expected after a "
                                 "kill); move the file aside to start its log afresh") from None
            return rows, line
    return rows, None


def read_metrics(path: str | pathlib.Path, deterministic_only: bool = False) -> list[dict]:
    """The rows of a metrics.jsonl; a torn last line (a run killed mid-write) is skipped."""
    rows, _ = _rows(pathlib.Path(path))
    if deterministic_only:
        rows = [{k: v for k, v in r.items() if not k.startswith("time/")} for r in rows]
    return rows
