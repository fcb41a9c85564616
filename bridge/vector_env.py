"""A gymnasium `VectorEnv` facade over a `Pool`: swap it in for `AsyncVectorEnv`.

Auto-reset mode is `AutoresetMode.SAME_STEP` (declared in `metadata["autoreset_mode"]`):
the step that ends an episode returns the *next* episode's first observation, and
`infos["final_obs"]` (object array, one entry per env, mask `infos["_final_obs"]`) holds
the finished episode's last observation. `infos["episode"] = {"r", "l"}` (mask
`infos["_episode"]`) holds its return and length, like `RecordEpisodeStatistics`, and
`infos["crashed"]` flags episodes truncated because their simulator crashed or hung.
Observations and actions use the simulator's gymnasium spaces when it has them (the
gymnasium adapter records them), otherwise spaces rebuilt from the field specs.
"""
from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from bridge.batch import Batch
from bridge.config import PoolConfig
from bridge.pool import Pool
from bridge.simulator import SimulatorFactory
from bridge.spec import SINGLE_ACTION_FIELD, SINGLE_OBS_FIELD, ArraySpec, EnvSpec


def _space_of(fields: dict[str, ArraySpec], single_name: str) -> gym.Space:
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


class BridgeVectorEnv(VectorEnv):
    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(self, factory: SimulatorFactory, num_envs: int, num_workers: int,
                 spec: EnvSpec | None = None, **pool_options: Any):
        self.pool = Pool(factory, PoolConfig(num_envs=num_envs, num_workers=num_workers,
                                             **pool_options), spec)
        spec = self.pool.spec
        self.num_envs = num_envs
        self.single_observation_space = spec.extra.get(
            "observation_space") or _space_of(dict(spec.observation), SINGLE_OBS_FIELD)
        self.single_action_space = spec.extra.get(
            "action_space") or _space_of(dict(spec.action), SINGLE_ACTION_FIELD)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._dict_obs = isinstance(self.single_observation_space, gym.spaces.Dict)
        self._dict_act = isinstance(self.single_action_space, gym.spaces.Dict)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is not None and not isinstance(seed, int):
            raise TypeError("BridgeVectorEnv.reset takes one int seed (env i gets seed + i)")
        batch = self.pool.reset(seed)
        return self._obs(batch.obs), {}

    def step(self, actions):
        acts = dict(actions) if self._dict_act else {SINGLE_ACTION_FIELD: actions}
        batch = self.pool.step(acts)
        return (self._obs(batch.obs), batch.reward.copy(), batch.terminated.copy(),
                batch.truncated.copy(), self._infos(batch))

    def close_extras(self, **kwargs):
        self.pool.close()

    def _obs(self, obs: dict[str, np.ndarray]):
        return obs if self._dict_obs else obs[SINGLE_OBS_FIELD]

    def _infos(self, batch: Batch) -> dict[str, Any]:
        done = batch.done
        if not done.any():
            return {}
        final = np.full(self.num_envs, None, dtype=object)
        for i in np.flatnonzero(done).tolist():
            row = {k: v[i] for k, v in batch.final_obs.items()}
            final[i] = row if self._dict_obs else row[SINGLE_OBS_FIELD]
        return {"final_obs": final, "_final_obs": done.copy(),
                "episode": {"r": np.where(done, batch.episode_return, 0.0),
                            "l": np.where(done, batch.episode_length, 0)},
                "_episode": done.copy(), "crashed": batch.crashed.copy()}
