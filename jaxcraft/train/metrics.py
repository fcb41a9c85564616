"""Metrics sinks: JSONL (one line per update), TensorBoard, optional W&B, and a tqdm progress bar.

Keys under `time/` (steps per second, wall time) vary between runs; every other key is a
deterministic function of the config and seed, which is what the resume test compares.

`metrics.jsonl` is the record; the TensorBoard events are derived from it. On resume from
update u, lines after u are dropped (a torn last line from a kill mid-write too, with a
one-line notice) and the events are rewritten from the kept lines, so every (tag, step)
appears once in `tb/` whatever reader is used.
"""
from __future__ import annotations

import json
import math
import pathlib
import sys
import time
from typing import Optional

import numpy as np


def scalars_of(row: dict) -> dict[str, float]:
    """The TensorBoard/W&B scalars of a JSONL row (finite values; the step keys are the x-axis)."""
    return {k: v for k, v in row.items() if k not in ("update", "env_steps") and math.isfinite(v)}


class MetricsLogger:
    def __init__(self, run_dir: pathlib.Path, total_updates: int, steps_per_update: int, start_update: int = 0,
                 tensorboard: bool = True, progress: bool = True, wandb_project: str = "", wandb_mode: str = "",
                 config: Optional[dict] = None):
        self.run_dir = pathlib.Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.run_dir / "metrics.jsonl"
        kept = self._truncate_after(start_update)
        self.file = open(self.path, "a")
        self.steps_per_update = steps_per_update
        self.writer = None
        if tensorboard:
            self.writer = self._rewrite_tensorboard(kept)
        self.wandb = None
        if wandb_project:
            from jaxcraft.train.wandb_sink import WandbSink
            self.wandb = WandbSink(self.run_dir, wandb_project, wandb_mode, config or {})
        self.bar = None
        if progress:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=total_updates * steps_per_update, initial=start_update * steps_per_update,
                            unit="step", unit_scale=True, dynamic_ncols=True, mininterval=1.0)
        # The return of the last update with finished episodes, also across a resume.
        self.last_return: Optional[float] = next(
            (r["episode_return"] for r in reversed(kept) if r.get("episodes", 0) > 0), None)
        self._t0 = time.perf_counter()

    def _truncate_after(self, update: int) -> list[dict]:
        """Keep the rows of updates ≤ `update` (those after it were written after the checkpoint we
        resume from); a torn last line (killed mid-write) is dropped with a notice. Returns the kept rows."""
        if not self.path.exists():
            return []
        lines = [l for l in self.path.read_text().splitlines() if l.strip()]
        rows = []
        for i, line in enumerate(lines):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                if i != len(lines) - 1:
                    raise ValueError(f"{self.path}: line {i + 1} is not JSON (only a torn last line is "
                                     "expected after a kill); move the file aside to start its log afresh") from None
                print(f"jaxcraft: {self.path}: dropped a torn last line (the run was killed mid-write): "
                      f"{line[:60]!r}", file=sys.stderr)
        kept = [r for r in rows if r["update"] <= update]
        tmp = self.path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in kept))
        tmp.replace(self.path)   # atomic: a kill here leaves the old or the new file, never a half
        return kept

    def _rewrite_tensorboard(self, kept: list[dict]):
        """A fresh events file holding the kept rows; older event files (which may hold steps after
        the checkpoint) are removed once it is written: their content is in metrics.jsonl."""
        from tensorboardX import SummaryWriter
        tb = self.run_dir / "tb"
        old = sorted(tb.glob("events.out.tfevents.*")) if tb.exists() else []
        writer = SummaryWriter(str(tb))
        for row in kept:
            for k, v in scalars_of(row).items():
                writer.add_scalar(k, v, row["env_steps"])
        writer.flush()
        for f in old:
            f.unlink()
        return writer

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
            self.file.write(json.dumps(row) + "\n")
            if self.writer is not None:
                for k, v in scalars_of(row).items():
                    self.writer.add_scalar(k, v, row["env_steps"])
            if self.wandb is not None:
                self.wandb.log(row)
            if row.get("episodes", 0) > 0:
                self.last_return = row["episode_return"]
        self.file.flush()
        if self.bar is not None:
            self.bar.update(n * self.steps_per_update)
            post = {"sps": f"{sps:,.0f}"}
            if self.last_return is not None:
                post["return"] = f"{self.last_return:.2f}"
            self.bar.set_postfix(post)
        return rows

    def close(self) -> None:
        self.file.close()
        if self.writer is not None:
            self.writer.close()
        if self.wandb is not None:
            self.wandb.close()
        if self.bar is not None:
            self.bar.close()


def read_metrics(path: str | pathlib.Path, deterministic_only: bool = False) -> list[dict]:
    """The rows of a metrics.jsonl; a torn last line (a run killed mid-write) is skipped."""
    lines = [l for l in pathlib.Path(path).read_text().splitlines() if l.strip()]
    rows = []
    for i, line in enumerate(lines):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            if i != len(lines) - 1:
                raise
    if deterministic_only:
        rows = [{k: v for k, v in r.items() if not k.startswith("time/")} for r in rows]
    return rows
