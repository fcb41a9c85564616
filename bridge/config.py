"""`PoolConfig`: how many envs and workers, timeouts and the fault policy (frozen, checked)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class PoolConfig:
    num_envs: int
    num_workers: int
    batch_size: int | None = None        # recv() size in async mode; None = num_envs
    seed: int = 0                        # reset() seeds env i with seed + i
    step_timeout: float = 60.0           # a step taking longer = hung worker
    reset_timeout: float = 300.0         # worker start-up and resets (Minecraft is slow)
    on_simulator_error: Literal["restart", "raise"] = "restart"
    max_worker_restarts: int = 1000      # across the pool's life; beyond it, raise
    validate_actions: bool = True
    flush_interval: float = 5e-4         # see worker.py
    start_method: str = "spawn"

    def __post_init__(self):
        if self.num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {self.num_envs}")
        if not 1 <= self.num_workers <= self.num_envs:
            raise ValueError(f"num_workers must be in [1, num_envs={self.num_envs}], "
                             f"got {self.num_workers}")
        if self.batch_size is not None and not 1 <= self.batch_size <= self.num_envs:
            raise ValueError(f"batch_size must be in [1, num_envs={self.num_envs}], "
                             f"got {self.batch_size}")
        if self.on_simulator_error not in ("restart", "raise"):
            raise ValueError(f"on_simulator_error must be 'restart' or 'raise', "
                             f"got {self.on_simulator_error!r}")
        if self.step_timeout <= 0 or self.reset_timeout <= 0:
            raise ValueError("step_timeout and reset_timeout must be > 0")
