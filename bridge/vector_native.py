"""Pieces of `BridgeVectorEnv`'s native (factory) form: spaces from field specs, and the
bridge's own same-step infos (`final_obs`, `episode`, `crashed`)."""
from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from bridge.batch import Batch
from bridge.spec import SINGLE_OBS_FIELD, ArraySpec


def space_of(fields: dict[str, ArraySpec], single_name: str) -> gym.Space:
    """A gymnasium space rebuilt from field specs (for simulators without spaces)."""
    def leaf(f: ArraySpec) -> gym.Space:
        if f.dtype.kind in "iu" and f.low is not None and f.high is not None:
            lo = np.broadcast_to(np.asarray(f.low, np.int64), f.shape)
            hi = np.broadcast_to(np.asarray(f.high, np.int64), f.shape)
            if f.shape == ():
                return gym.spaces.Discrete(int(hi - lo + 1), start=int(lo))
            return gym.spaces.MultiDiscrete(hi - lo + 1, start=lo)
        low = -np.inf if f.low is None else f.low
        high = np.inf if f.high is None else f.high
        return gym.spaces.Box(low, high, f.shape, f.dtype)
    if set(fields) == {single_name}:
        return leaf(fields[single_name])
    return gym.spaces.Dict({k: leaf(f) for k, f in fields.items()})


def native_infos(batch: Batch, num_envs: int, dict_obs: bool) -> dict[str, Any]:
    """`final_obs` (object array, mask `_final_obs`), `episode = {"r", "l"}` (mask
    `_episode`) and `crashed` for the envs whose episode ended in this step."""
    done = batch.done
    if not done.any():
        return {}
    final = np.full(num_envs, None, dtype=object)
    for i in np.flatnonzero(done).tolist():
        row = {k: v[i] for k, v in batch.final_obs.items()}
        final[i] = row if dict_obs else row[SINGLE_OBS_FIELD]
    return {"final_obs": final, "_final_obs": done.copy(),
            "episode": {"r": np.where(done, batch.episode_return, 0.0),
                        "l": np.where(done, batch.episode_length, 0)},
            "_episode": done.copy(), "crashed": batch.crashed.copy()}
