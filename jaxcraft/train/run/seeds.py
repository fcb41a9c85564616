"""Several seeds of one experiment through one compiled trainer (ablation notebooks, seed studies).

    runs = run_seeds(trainer, [0, 1, 2], params=pretrained)     # pretrained vs scratch: same trainer
    runs.metrics["success_rate"]                                  # float[S, U], one row per seed
    runs.params[s]                                                # seed s's final params

Seeds run one after another through the trainer's `init` / `run` (`Trainer` protocol), so every
seed — and every arm that differs only in its initial params — reuses the same compiled
programs. On the CPU backend this is the fast way: `FusedTrainer.train_seeds` (vmap over keys)
runs all seeds in one `lax.scan` over updates, which XLA:CPU executes several times slower
than the host loop of one jitted update that `run` uses there, and its vmapped convolutions
become grouped ones.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable, Optional, Sequence

import jax
import numpy as np


@dataclasses.dataclass
class SeedRuns:
    """Outcome of `run_seeds`: metrics[name] float[S, U] (seed × update), final params per seed,
    and the wall-clock seconds of each seed's run (compilation included in the first)."""

    seeds: tuple
    metrics: dict
    params: list
    seconds: list

    def finite(self, names: Sequence[str]) -> bool:
        """Whether every listed metric is finite for every seed and update."""
        return all(np.isfinite(self.metrics[n]).all() for n in names)


def run_seeds(trainer: Any, seeds: Sequence[int], num_updates: Optional[int] = None, params: Any = None,
              ref_params: Any = None, log: Optional[Callable[[str], None]] = None) -> SeedRuns:
    """Train `trainer` once per seed for `num_updates` (default: the config's budget).

    params: initial params shared by every seed (None: each seed's own random init);
    ref_params: the frozen KL reference (None: the initial params, when the config has a KL term).
    Seed s is exactly `trainer.run(trainer.init(jax.random.key(s), params, ref_params), num_updates)`.
    """
    if not seeds:
        raise ValueError("run_seeds needs at least one seed")
    n = trainer.config.num_updates if num_updates is None else int(num_updates)
    if n < 1:
        raise ValueError(f"num_updates must be >= 1, got {n}")
    rows, finals, seconds = [], [], []
    for s in seeds:
        t0 = time.perf_counter()
        state = trainer.init(jax.random.key(int(s)), params, ref_params)
        state, metrics = trainer.run(state, n)
        metrics = jax.device_get(metrics)
        seconds.append(time.perf_counter() - t0)
        rows.append({k: np.asarray(v, np.float64) for k, v in metrics.items()})
        finals.append(trainer.params(state))
        if log:
            log(f"seed {s}: {n} updates in {seconds[-1]:.0f} s")
    stacked = {k: np.stack([r[k] for r in rows]) for k in rows[0]}
    return SeedRuns(seeds=tuple(int(s) for s in seeds), metrics=stacked, params=finals, seconds=seconds)


__all__ = ["SeedRuns", "run_seeds"]
