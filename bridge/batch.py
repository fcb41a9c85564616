"""`Batch`: what `Pool.recv`/`step`/`reset` hand to the caller."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np


@dataclass(frozen=True)
class Batch:
    """Results of `len(env_ids)` envs; private numpy copies (safe to keep).

    obs[k], final_obs[k]: [B, *shape]; final_obs rows are zero unless the episode ended.
    reward, episode_return: float64 [B]; episode_length: int64 [B];
    terminated, truncated, crashed: bool [B] (crashed implies truncated).
    extras: {env_id: what the simulator returned beyond its fields} for the envs whose
    simulator reported any (`bridge.simulator.ReportsExtras`; e.g. gymnasium infos).
    """

    env_ids: np.ndarray
    obs: dict[str, np.ndarray]
    reward: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    crashed: np.ndarray
    episode_return: np.ndarray
    episode_length: np.ndarray
    final_obs: dict[str, np.ndarray]
    shares_memory: bool = False  # True: obs are views into the slabs (see recv(copy=False))
    extras: Mapping[int, Any] = field(default_factory=dict)

    @property
    def done(self) -> np.ndarray:
        return self.terminated | self.truncated

    def __len__(self) -> int:
        return len(self.env_ids)
