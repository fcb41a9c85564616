"""`PoolConfig`: how many envs and workers, timeouts and the fault policy (frozen, checked)."""
from __future__ import annotations

from dataclasses import dataclass
import numbers
from typing import Literal

from bridge.handoff import MAX_SPIN_US


@dataclass(frozen=True)
class PoolConfig:
    num_envs: int
    num_workers: int
    batch_size: int | None = None        # recv() size in async mode; None = num_envs
    seed: int = 0                        # reset() seeds env i with seed + i
    step_timeout: float = 60.0           # a step taking longer = hung worker
    reset_timeout: float = 300.0         # worker start-up and resets (Minecraft is slow)
    on_simulator_error: Literal["restart", "raise"] = "restart"
    max_restarts_per_minute: float = 30.0  # worker restarts in any 60 s window; beyond, raise
    max_consecutive_failures: int = 3    # same worker/simulator failing with no step between
    max_worker_restarts: int | None = None  # optional cap over the pool's life
    validate_actions: bool = True
    flush_interval: float = 5e-4         # see worker.py
    start_method: str = "spawn"
    auto_reset: bool = True              # False: workers never reset an env at episode end
    spin_us: float = 200.0               # hand-off: poll shared-memory counters up to this
                                         # long (adaptive) before blocking; 0 = always block

    def __post_init__(self):
        if (isinstance(self.spin_us, bool) or not isinstance(self.spin_us, numbers.Real)
                or not 0 <= self.spin_us <= MAX_SPIN_US):
            raise ValueError(f"spin_us must be a number of microseconds in [0, {MAX_SPIN_US}] "
                             f"(0 = always block), got {self.spin_us!r}")
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
        if not self.max_restarts_per_minute > 0:
            raise ValueError(f"max_restarts_per_minute must be > 0, got {self.max_restarts_per_minute}")
        if self.max_consecutive_failures < 1:
            raise ValueError(f"max_consecutive_failures must be >= 1, got {self.max_consecutive_failures}")
        if self.max_worker_restarts is not None and self.max_worker_restarts < 0:
            raise ValueError(f"max_worker_restarts must be >= 0 or None, got {self.max_worker_restarts}")
