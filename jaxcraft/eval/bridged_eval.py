"""Evaluate a policy on Minetest cross-view tasks through a bridge pool; Wilson table + GIFs.

    result = evaluate_minetest(mt_config, TeacherActions(), ("approach",), (20,), episodes=4, num_envs=2)
    write_minetest_report(result, "runs/eval/minetest_servo", "servo teacher on Minetest")

The task list is fixed as in `jaxcraft.eval.runner`: seeds seed0 … seed0 + n − 1 of each
family × distance cell, ids packed like `jaxcraft.tasks.encode_task_id`, dealt round-robin to
the envs (`MinetestFactory.schedules`), each env running its list in order through the
pool's auto-reset. An episode succeeds when it terminates (the mod's success event); a crash
of the engine (truncated + crashed) counts as a failure and is reported. Actors map a batch's
observation dict (NumPy) to int32[B, 11]: `RandomActions`, `TeacherActions` (privileged: the
mod's state) and `NetworkActions` (a jaxcraft `NetworkPolicy`, seeing only the task fields).
"""
from __future__ import annotations

import dataclasses
import json
import pathlib
from typing import Any, Callable, Sequence

import numpy as np

from bridge import Pool, PoolConfig, crossview as X
from bridge.adapters.minetest.scene import decode_task_id, encode_task_id
from bridge.adapters.minetest.teacher import teacher_actions
from bridge.adapters.minetest_env import INFO, MinetestFactory, NVEC
from jaxcraft.config.task import DISTANCES, FAMILIES
from jaxcraft.eval.stats import SuccessTable, success_table
from jaxcraft.train.bridged.minetest import POLICY_FIELDS

Actor = Callable[[dict, np.ndarray], np.ndarray]   # (obs dict [B, ...], reset bool[B]) -> int32[B, 11]


class RandomActions:
    """Uniform over each factor (the chance baseline)."""

    name = "random"

    def __init__(self, seed: int = 0):
        self.nvec, self.rng = NVEC, np.random.default_rng(seed)

    def __call__(self, obs, reset):
        return self.rng.integers(0, self.nvec, (len(reset), len(self.nvec))).astype(np.int32)


class TeacherActions:
    """The privileged servo teacher (`bridge.adapters.minetest.teacher`)."""

    name = "servo-teacher"

    def __init__(self):
        self.t = 0

    def __call__(self, obs, reset):
        self.t += 1
        return teacher_actions(obs["info"], self.t)


class NetworkActions:
    """A jaxcraft `NetworkPolicy` (trained in the JaxCraft world) acting on the task fields only."""

    def __init__(self, policy: Any, num_envs: int, seed: int = 0):
        import jax
        self.policy, self.name = policy, policy.name
        self.carry = policy.init(num_envs)
        self.key = jax.random.key(seed)
        self._act = jax.jit(lambda p, c, o, r, k: p.act(c, o, None, r, k))

    def __call__(self, obs, reset):
        import jax
        import jax.numpy as jnp
        self.key, sub = jax.random.split(self.key)
        o = {k: jnp.asarray(obs[k]) for k in POLICY_FIELDS}
        self.carry, a = self._act(self.policy, self.carry, o, jnp.asarray(reset), jax.random.split(sub, len(reset)))
        return np.asarray(a, np.int32)


@dataclasses.dataclass
class MinetestEvalResult:
    """Per-episode arrays [E] (task-list order) and the first episode's frames."""

    task_id: np.ndarray
    family: np.ndarray
    distance: np.ndarray
    success: np.ndarray
    length: np.ndarray
    crashed: np.ndarray
    policy: str
    families: tuple
    distances: tuple
    step_seconds: np.ndarray            # wall time per pool step (all envs)
    video: dict = dataclasses.field(default_factory=dict)

    def table(self) -> SuccessTable:
        return success_table(np.asarray(FAMILIES)[self.family], self.distance, self.success, self.families,
                             self.distances)


def task_ids(families: Sequence[str], distances: Sequence[int], episodes: int, seed0: int = 0) -> list[int]:
    return [encode_task_id(s, DISTANCES.index(d), FAMILIES.index(f))
            for f in families for d in distances for s in range(seed0, seed0 + episodes)]


def evaluate_minetest(mt_config: Any, actor: Actor, families: Sequence[str], distances: Sequence[int],
                      episodes: int, num_envs: int = 2, seed0: int = 0, record: bool = True) -> MinetestEvalResult:
    """Run every task of the list once through a `bridge.Pool` of `num_envs` Minetest instances."""
    import time

    tasks = task_ids(families, distances, episodes, seed0)
    num_envs = max(1, min(num_envs, len(tasks)))
    schedules = tuple(tuple(tasks[i::num_envs]) for i in range(num_envs))
    cfg = dataclasses.replace(mt_config, families=tuple(families), distances=tuple(distances))
    factory = MinetestFactory(cfg, schedules)
    outcome: dict[int, tuple[bool, int, bool]] = {}
    counts = np.zeros(num_envs, int)
    video = {"rgb": []}
    step_s = []
    with Pool(factory, PoolConfig(num_envs=num_envs, num_workers=num_envs, on_simulator_error="restart",
                                  step_timeout=60.0, reset_timeout=180.0), spec=factory.spec()) as pool:
        batch = pool.reset(seed0)
        reset = np.ones(num_envs, bool)
        if record:
            video.update(goal_rgb=batch.obs[X.GOAL_RGB][0].copy(), goal_mask=batch.obs[X.GOAL_MASK][0].copy())
            video["rgb"].append(batch.obs[X.RGB][0].copy())
        while (counts < [len(s) for s in schedules]).any():
            t0 = time.monotonic()
            batch = pool.step({"action": actor(batch.obs, reset)})
            step_s.append(time.monotonic() - t0)
            reset = batch.done.copy()
            if record and video.get("open", True):
                video["rgb"].append(batch.obs[X.RGB][0].copy() if not batch.done[0] else batch.final_obs[X.RGB][0].copy())
                if batch.done[0]:
                    video["open"] = False
            for i in np.flatnonzero(batch.done):
                if counts[i] < len(schedules[i]):
                    tid = int(batch.final_obs["info"][i, INFO["task_id"]])
                    outcome[tid] = (bool(batch.terminated[i]), int(batch.episode_length[i]), bool(batch.crashed[i]))
                    counts[i] += 1
    fam = np.array([decode_task_id(t)[2] for t in tasks])
    dist = np.array([DISTANCES[decode_task_id(t)[1]] for t in tasks])
    get = lambda j: np.array([outcome.get(t, (False, 0, True))[j] for t in tasks])  # noqa: E731
    video.pop("open", None)
    return MinetestEvalResult(np.array(tasks), fam, dist, get(0), get(1), get(2), getattr(actor, "name", "policy"),
                              tuple(families), tuple(distances), np.array(step_s), video if record else {})


def write_minetest_report(result: MinetestEvalResult, out_dir: str | pathlib.Path, title: str) -> dict:
    """eval.json (cells with Wilson 95 % intervals, episodes), eval.md and episode.gif
    (agent view | goal image | goal mask) in `out_dir`."""
    import imageio.v2 as imageio
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = result.table()
    episodes = [{"task_id": int(t), "family": FAMILIES[int(f)], "distance": int(d), "success": bool(s),
                 "length": int(n), "crashed": bool(c)}
                for t, f, d, s, n, c in zip(result.task_id, result.family, result.distance, result.success,
                                            result.length, result.crashed)]
    (out / "eval.json").write_text(json.dumps({"policy": result.policy, "sim": "minetest", "cells": table.records(),
                                               "episodes": episodes,
                                               "pool_step_seconds_mean": float(np.mean(result.step_seconds))
                                               if len(result.step_seconds) else None}, indent=1))
    (out / "eval.md").write_text(f"# {title}\n\n{table.to_markdown()}\n\n{int(result.crashed.sum())} of "
                                 f"{len(result.crashed)} episodes ended by an engine crash.\n")
    paths = {"json": out / "eval.json", "md": out / "eval.md"}
    v = result.video
    if v and v.get("rgb"):
        mask = np.repeat(v["goal_mask"][..., None] * 255, 3, -1).astype(np.uint8)
        frames = [np.concatenate([f, v["goal_rgb"], mask], 1) for f in v["rgb"]]
        frames = [np.kron(f, np.ones((2, 2, 1), np.uint8)) for f in frames]
        imageio.mimsave(out / "episode.gif", frames, duration=0.05, loop=0)
        paths["gif"] = out / "episode.gif"
    return paths
