"""The pool's fields in shared memory: the layout, named views, and the gather into a Batch.

Pool and workers build the same `SlabViews` over one segment (`SlabViews.layout` is the
whole agreement between them). The gather is the one copy out of shared memory.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from bridge.batch import Batch
from bridge.shm import SharedSlabs, SlabLayout, aligned_empty
from bridge.spec import EnvSpec


class SlabViews:
    """Numpy views of every field of a pool's segment, `[num_envs, ...]` or `[num_workers]`."""

    def __init__(self, slabs: SharedSlabs, obs_keys, action_keys):
        s = slabs
        self.obs = {k: s[f"obs/{k}"] for k in obs_keys}
        self.final_obs = {k: s[f"final_obs/{k}"] for k in obs_keys}
        self.action = {k: s[f"action/{k}"] for k in action_keys}
        self.reward, self.terminated = s["reward"], s["terminated"]
        self.truncated, self.crashed = s["truncated"], s["crashed"]
        self.ep_return, self.ep_length = s["episode_return"], s["episode_length"]
        self.hb_time, self.hb_phase = s["heartbeat_time"], s["heartbeat_phase"]
        self.alive_time = s["alive_time"]

    @staticmethod
    def layout(spec: EnvSpec, num_envs: int, num_workers: int) -> SlabLayout:
        N, W = num_envs, num_workers
        fields: dict[str, tuple[tuple[int, ...], Any]] = {}
        for k, f in spec.observation.items():
            fields[f"obs/{k}"] = ((N, *f.shape), f.dtype)
            fields[f"final_obs/{k}"] = ((N, *f.shape), f.dtype)
        for k, f in spec.action.items():
            fields[f"action/{k}"] = ((N, *f.shape), f.dtype)
        fields.update({
            "reward": ((N,), np.float64), "terminated": ((N,), np.bool_),
            "truncated": ((N,), np.bool_), "crashed": ((N,), np.bool_),
            "episode_return": ((N,), np.float64), "episode_length": ((N,), np.int64),
            "heartbeat_time": ((W,), np.float64), "heartbeat_phase": ((W,), np.int8),
            "alive_time": ((W,), np.float64)})
        return SlabLayout.build(fields)

    def mark_lost(self, e: int, completed: bool) -> None:
        """End env e's episode as truncated + crashed (its simulator is gone).

        `final_obs` becomes the last observation written; a step that never completed
        (`completed=False`) reports reward 0 and no termination.
        """
        for k, arr in self.obs.items():
            self.final_obs[k][e] = arr[e]
        if not completed:
            self.reward[e] = 0.0
            self.terminated[e] = False
        self.truncated[e] = self.crashed[e] = True

    def gather(self, ids: np.ndarray, copy: bool = True, extras=None) -> Batch:
        """Rows `ids` as a Batch: gathered into fresh 64-byte-aligned arrays (aligned so
        that JAX on CPU adopts them without a second copy).

        Scalars are always copied; observations are slab views when `copy=False` and the
        ids form a contiguous ascending range (no gather at all).
        """
        contiguous = bool((np.diff(ids) == 1).all())
        views = not copy and contiguous
        if views:
            rows = slice(int(ids[0]), int(ids[-1]) + 1)
            obs = {k: a[rows] for k, a in self.obs.items()}
        else:
            obs = {}
            rows_list = ids.tolist()
            for k, a in self.obs.items():
                out = obs[k] = aligned_empty((len(ids), *a.shape[1:]), a.dtype)
                for j, e in enumerate(rows_list):  # row memcpy; ~3x faster than np.take
                    out[j] = a[e]
        term, trunc = self.terminated[ids], self.truncated[ids]
        done = term | trunc
        final = {}
        any_done = bool(done.any())
        for k, arr in self.final_obs.items():
            shape = (len(ids), *arr.shape[1:])
            if any_done:
                final[k] = np.zeros(shape, arr.dtype)
                final[k][done] = arr[ids[done]]
            else:  # the common case: a free read-only view of zeros, same shape
                final[k] = np.broadcast_to(np.zeros((1,) * len(shape), arr.dtype), shape)
        return Batch(env_ids=ids, obs=obs,
                     reward=self.reward[ids], terminated=term, truncated=trunc,
                     crashed=self.crashed[ids], episode_return=self.ep_return[ids],
                     episode_length=self.ep_length[ids], final_obs=final,
                     shares_memory=views, extras=extras or {})
