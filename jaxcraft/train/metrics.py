"""Metrics sinks: JSONL (one line per update), TensorBoard, and a progress bar (jaxcraft.progress).

`ScalarLog` (metrics.jsonl + tb/ under a directory) is shared by `train` and `pretrain`.

Keys under `time/` (steps per second, wall time) vary between runs; every other key is a
deterministic function of the config and seed, which is what the resume test compares.
"""
from __future__ import annotations

import json
import math
import pathlib
import time
from typing import Any, Optional

import numpy as np


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


class MetricsLogger:
    def __init__(self, run_dir: pathlib.Path, total_updates: int, steps_per_update: int, start_update: int = 0,
                 tensorboard: bool = True, progress: bool = True):
        self.run_dir = pathlib.Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.run_dir / "metrics.jsonl"
        self._truncate_after(start_update)
        self.sink = ScalarLog(self.run_dir, tensorboard)
        self.steps_per_update = steps_per_update
        self.bar = None
        if progress:
            from jaxcraft.progress import progress_bar
            self.bar = progress_bar(total=total_updates * steps_per_update, initial=start_update * steps_per_update,
                                    desc="train", unit="step", unit_scale=True)
        self.last_return: Optional[float] = None
        self._t0 = time.perf_counter()

    def _truncate_after(self, update: int) -> None:
        """Drop lines of updates after `update` (written after the checkpoint we resume from)."""
        if not self.path.exists():
            return
        keep = [l for l in self.path.read_text().splitlines() if l.strip() and json.loads(l)["update"] <= update]
        self.path.write_text("".join(l + "\n" for l in keep))

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
            self.sink.write(row, row["env_steps"], skip=("update", "env_steps"))
            if row.get("episodes", 0) > 0:
                self.last_return = row["episode_return"]
        self.sink.flush()
        if self.bar is not None:
            post = {"sps": f"{sps:,.0f}"}
            if self.last_return is not None:
                post["return"] = f"{self.last_return:.2f}"
            self.bar.set_postfix(post, refresh=False)
            self.bar.update(n * self.steps_per_update)
        return rows

    def close(self) -> None:
        self.sink.close()
        if self.bar is not None:
            self.bar.close()


def read_metrics(path: str | pathlib.Path, deterministic_only: bool = False) -> list[dict]:
    rows = [json.loads(l) for l in pathlib.Path(path).read_text().splitlines() if l.strip()]
    if deterministic_only:
        rows = [{k: v for k, v in r.items() if not k.startswith("time/")} for r in rows]
    return rows
