"""Metrics sinks: JSONL (one line per update), TensorBoard, and a tqdm progress bar.

Keys under `time/` (steps per second, wall time) vary between runs; every other key is a
deterministic function of the config and seed, which is what the resume test compares.
"""
from __future__ import annotations

import json
import math
import os
import pathlib
import time
from typing import Any, Optional

import numpy as np


class MetricsLogger:
    def __init__(self, run_dir: pathlib.Path, total_updates: int, steps_per_update: int, start_update: int = 0,
                 tensorboard: bool = True, progress: bool = True, write: bool = True):
        """`write=False` (processes other than 0 of a multi-process run): nothing is written
        (no metrics.jsonl, TensorBoard or progress bar); `last_return` is still tracked."""
        self.run_dir = pathlib.Path(run_dir)
        self.path = self.run_dir / "metrics.jsonl"
        if write:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self._truncate_after(start_update)
        self.file = open(self.path if write else os.devnull, "a")
        self.steps_per_update = steps_per_update
        self.writer = None
        if tensorboard and write:
            from tensorboardX import SummaryWriter
            self.writer = SummaryWriter(str(self.run_dir / "tb"))
        self.bar = None
        if progress and write:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=total_updates * steps_per_update, initial=start_update * steps_per_update,
                            unit="step", unit_scale=True, dynamic_ncols=True, mininterval=1.0)
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
            self.file.write(json.dumps(row) + "\n")
            if self.writer is not None:
                for k, v in row.items():
                    if k not in ("update", "env_steps") and math.isfinite(v):
                        self.writer.add_scalar(k, v, row["env_steps"])
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
        if self.bar is not None:
            self.bar.close()


def read_metrics(path: str | pathlib.Path, deterministic_only: bool = False) -> list[dict]:
    rows = [json.loads(l) for l in pathlib.Path(path).read_text().splitlines() if l.strip()]
    if deterministic_only:
        rows = [{k: v for k, v in r.items() if not k.startswith("time/")} for r in rows]
    return rows
