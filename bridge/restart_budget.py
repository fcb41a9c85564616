"""When restarting a dead or hung worker cannot help, and the pool must raise instead.

  * the worker died before it ever came up (e.g. a script without a `__main__` guard:
    the spawned worker re-imports it and fails) — at once, naming the fix;
  * the same worker failed `max_consecutive_failures` times with no completed step in
    between (a deterministic crash) — with the *first* failure's reason;
  * more than `max_restarts_per_minute` restarts in any 60 s window, pool-wide (a rate,
    so a long run survives occasional crashes), or the optional lifetime cap.
"""
from __future__ import annotations

import time
from collections import deque

import numpy as np

from bridge.config import PoolConfig

GUARD_HINT = ("before it started any simulator. If the script that creates the pool has "
              "no `if __name__ == \"__main__\":` guard, put the pool's creation under one: "
              "spawned workers re-import the main module (see the worker's traceback on "
              "stderr).")


class RestartBudget:
    def __init__(self, config: PoolConfig, num_workers: int):
        self.config = config
        self.restarts = np.zeros(num_workers, np.int64)
        self.ever_up = np.zeros(num_workers, bool)
        self._in_row = np.zeros(num_workers, np.int64)   # failures without a step between
        self._first = [""] * num_workers
        self._times: deque[float] = deque()

    def on_up(self, w: int) -> None:
        self.ever_up[w] = True

    def on_progress(self, w: int) -> None:
        self._in_row[w] = 0

    def charge(self, w: int, reason: str, died: bool) -> str | None:
        """Count one restart of worker w; the error message if the pool must give up."""
        cfg = self.config
        if died and not self.ever_up[w]:
            return f"{reason}, {GUARD_HINT}"
        self.restarts[w] += 1
        self._in_row[w] += 1
        if self._in_row[w] == 1:
            self._first[w] = reason
        if self._in_row[w] >= cfg.max_consecutive_failures:
            return (f"worker {w} failed {self._in_row[w]} times in a row without completing a "
                    f"step (max_consecutive_failures={cfg.max_consecutive_failures}); "
                    f"first failure: {self._first[w]}")
        now = time.monotonic()
        self._times.append(now)
        while self._times and self._times[0] < now - 60.0:
            self._times.popleft()
        if len(self._times) > cfg.max_restarts_per_minute:
            return (f"{reason}; {len(self._times)} worker restarts in the last minute exceed "
                    f"max_restarts_per_minute={cfg.max_restarts_per_minute}")
        if cfg.max_worker_restarts is not None and self.restarts.sum() > cfg.max_worker_restarts:
            return f"{reason}; exceeded max_worker_restarts={cfg.max_worker_restarts}"
        return None
