"""Evaluate a policy on a fixed, deterministic list of cross-view tasks; write the report.

    result = evaluate(env, params, RandomPolicy(env), ("approach",), (20, 40), 10, "unseen")
    write_report(result, "runs/eval/random", "random on unseen")   # eval.json, eval.md, GIFs

Every policy is scored on the same tasks: seeds seed0 … seed0 + n − 1 of each family ×
distance cell (the split is folded into synthesis by the params), in a fixed order. Each
batch of episodes is one jitted `lax.scan` over `max_steps` of the vmapped env, with no
auto-reset: an env's episode ends at its first termination (success) or truncation
(the time limit, set to `max_steps`), and nothing after that end is counted.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import math
import pathlib
from typing import Any, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from bridge import crossview as X
from jaxcraft.config.task import PAPER_DISTANCES
from jaxcraft.eval.stats import SuccessTable, success_table
from jaxcraft.tasks import DISTANCES, FAMILIES, encode_task_id, with_split
from jaxcraft.world.video import save_rollout


@dataclasses.dataclass
class EvalResult:
    """Per-episode arrays, all [E] in task-list order, plus the first episodes' frames.

    family: index into FAMILIES; distance: spawn distance in blocks; success_step: steps
    taken when the task first succeeded (-1: never); length: steps until the episode ended.
    videos: [{"index", "rgb" uint8[length + 1, H, W, 3] (the first frame, then one per step),
    "goal_rgb" uint8[H, W, 3], "goal_mask" uint8[H, W]}] for the first `record` episodes.
    """

    task_id: np.ndarray
    family: np.ndarray
    distance: np.ndarray
    seed: np.ndarray
    success: np.ndarray
    success_step: np.ndarray
    length: np.ndarray
    episode_return: np.ndarray
    families: tuple
    distances: tuple
    episodes_per_cell: int
    split: str
    max_steps: int
    seed0: int
    policy: str
    videos: list = dataclasses.field(default_factory=list)

    def table(self) -> SuccessTable:
        return success_table(np.asarray(FAMILIES)[self.family], self.distance, self.success,
                             self.families, self.distances)


def task_list(families: Sequence[str], distances: Sequence[int], episodes_per_cell: int, seed0: int = 0) -> dict:
    """{"task_id", "family", "distance_index", "seed"}: int32[F·D·n] arrays, family-major order."""
    bad = [f for f in families if f not in FAMILIES] + [d for d in distances if d not in DISTANCES]
    if bad or not families or not distances or episodes_per_cell < 1:
        raise ValueError(f"need families from {FAMILIES}, distances from {DISTANCES} and episodes_per_cell >= 1; "
                         f"got {tuple(families)}, {tuple(distances)}, {episodes_per_cell} (bad: {bad})")
    f, d, s = np.meshgrid([FAMILIES.index(x) for x in families], [DISTANCES.index(x) for x in distances],
                          np.arange(seed0, seed0 + episodes_per_cell), indexing="ij")
    f, d, s = (a.reshape(-1).astype(np.int32) for a in (f, d, s))
    return {"task_id": np.asarray(encode_task_id(s, d, f)), "family": f, "distance_index": d, "seed": s}


@functools.partial(jax.jit, static_argnames=("env",))
def _reset(env, params, task_ids):
    # Its own program (task synthesis is most of the compile time): shared by every policy.
    return jax.vmap(env.reset_to_task, in_axes=(0, None))(task_ids, params)


@functools.partial(jax.jit, static_argnames=("env", "max_steps", "n_record"))
def _rollout(env, params, policy, obs, state, keys, max_steps: int, n_record: int):
    """One batch of N episodes from their first (obs, state) → (per-episode dict of [N] arrays,
    rgb uint8[max_steps + 1, n_record, H, W, 3] of the first n_record envs)."""
    n = keys.shape[0]
    step = jax.vmap(env.step_env, in_axes=(0, 0, 0, None))
    init = dict(obs=obs, state=state, carry=policy.init(n), done=jnp.zeros((n,), bool),
                success_step=jnp.full((n,), -1, jnp.int32), length=jnp.zeros((n,), jnp.int32),
                ret=jnp.zeros((n,), jnp.float32))

    def live(c, t):
        k = jax.vmap(lambda k: jax.random.split(jax.random.fold_in(k, t)))(keys)      # [N, 2] per-env keys
        carry, action = policy.act(c["carry"], c["obs"], c["state"], jnp.full((n,), t == 0), k[:, 0])
        o, s, reward, term, trunc, info = step(k[:, 1], c["state"], action, params)
        alive = ~c["done"]
        first = alive & info["success"] & (c["success_step"] < 0)
        new = dict(obs=o, state=s, carry=carry, done=c["done"] | (alive & (term | trunc)),
                   success_step=jnp.where(first, t + 1, c["success_step"]),
                   length=c["length"] + alive.astype(jnp.int32), ret=c["ret"] + jnp.where(alive, reward, 0.0))
        return new, o[X.RGB][:n_record]

    def idle(c, t):   # every episode has ended: skip the (costly) env step
        return c, jnp.zeros_like(c["obs"][X.RGB][:n_record])

    final, frames = jax.lax.scan(lambda c, t: jax.lax.cond(c["done"].all(), idle, live, c, t), init,
                                 jnp.arange(max_steps))
    out = dict(task_id=state.task.task_id, family=state.task.family, distance=state.task.distance,
               success_step=final["success_step"], length=final["length"], episode_return=final["ret"],
               **{k: obs[k][:n_record] for k in (X.GOAL_RGB, X.GOAL_MASK)})
    return out, jnp.concatenate([obs[X.RGB][None, :n_record], frames])


def evaluate(env, params, policy, families: Sequence[str] = FAMILIES, distances: Sequence[int] = PAPER_DISTANCES,
             episodes_per_cell: int = 10, split: str = "unseen", seed0: int = 0, max_steps: int = 600,
             record: int = 0, key: Optional[jax.Array] = None, batch_size: int = 64, progress=None) -> EvalResult:
    """Run `policy` once on every task of `task_list(...)` on `split`; see `EvalResult`.

    Episodes run in ⌈total / batch_size⌉ batches of equal size ≤ `batch_size` (the last one padded,
    so one program serves all batches; equal sizes waste fewer padded episodes: 200 at 64 run as
    4 × 50, not 4 × 64); episode i's randomness is `fold_in(key, i)`, so results do not depend on it.
    progress: optional callable(episodes done, successes so far, total) after each batch.
    """
    if max_steps < 1 or batch_size < 1 or record < 0:
        raise ValueError(f"need max_steps >= 1, batch_size >= 1, record >= 0; got {max_steps}, {batch_size}, {record}")
    tasks = task_list(families, distances, episodes_per_cell, seed0)
    steps = jnp.asarray(max_steps, jnp.int32)
    params = with_split(params, split)
    params = params.replace(max_steps_in_episode=steps, world=params.world.replace(max_steps_in_episode=steps))
    key = jax.random.key(0) if key is None else key
    total = len(tasks["task_id"])
    keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(total))
    num_batches = math.ceil(total / min(batch_size, total))
    size = math.ceil(total / num_batches)        # equal batches: the last one pads < num_batches episodes
    n_rec = min(record, size)    # the same for every batch: one compiled program (unused frames are dropped)
    parts, videos = [], []
    for start in range(0, total, size):
        idx = np.minimum(np.arange(start, start + size), total - 1)     # pad by repeating the last task
        obs, state = _reset(env, params, jnp.asarray(tasks["task_id"][idx]))
        out, frames = jax.device_get(_rollout(env, params, policy, obs, state, keys[idx], max_steps, n_rec))
        real = min(size, total - start)
        parts.append({k: v[:real] for k, v in out.items() if k not in (X.GOAL_RGB, X.GOAL_MASK)})
        if progress is not None:
            progress(start + real, int(sum((p["success_step"] >= 0).sum() for p in parts)), total)
        for i in range(min(n_rec, real, record - start)):
            videos.append({"index": start + i, "rgb": frames[: out["length"][i] + 1, i],
                           "goal_rgb": out[X.GOAL_RGB][i], "goal_mask": out[X.GOAL_MASK][i]})
    cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    if not (cat["task_id"] == tasks["task_id"]).all():   # the env must synthesise the task we asked for
        raise RuntimeError("the env's task ids differ from the requested ones")
    return EvalResult(task_id=cat["task_id"], family=cat["family"], distance=cat["distance"], seed=tasks["seed"],
                      success=cat["success_step"] >= 0, success_step=cat["success_step"], length=cat["length"],
                      episode_return=cat["episode_return"], families=tuple(families),
                      distances=tuple(int(d) for d in distances), episodes_per_cell=episodes_per_cell, split=split,
                      max_steps=max_steps, seed0=seed0, policy=getattr(policy, "name", type(policy).__name__),
                      videos=videos)


def write_report(result: EvalResult, out_dir: str | pathlib.Path, title: str, verbose: bool = True) -> dict:
    """Write eval.json, eval.md and videos/*.gif (agent | goal | goal + mask) to `out_dir`;
    print the table when `verbose`. Returns {"json", "md", "gifs": [...]} paths."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = result.table()
    gifs = []
    for v in result.videos:
        i = v["index"]
        name = (f"ep{i:04d}_{FAMILIES[result.family[i]]}_{result.distance[i]}_seed{result.seed[i]}_"
                f"{'success' if result.success[i] else 'fail'}")
        scale = max(1, 128 // v["rgb"].shape[1])    # small frames are hard to see otherwise
        gifs.append(save_rollout(v["rgb"], str(out_dir / "videos"), v["goal_rgb"], v["goal_mask"], scale=scale,
                                 png_every=0, name=name)["gif"])
    meta = {"title": title, "policy": result.policy, "split": result.split, "max_steps": result.max_steps,
            "episodes_per_cell": result.episodes_per_cell, "seed0": result.seed0, "families": list(result.families),
            "distances": list(result.distances), "episodes": int(len(result.success))}
    episodes = [{"task_id": int(result.task_id[i]), "family": FAMILIES[result.family[i]],
                 "distance": int(result.distance[i]), "seed": int(result.seed[i]), "success": bool(result.success[i]),
                 "success_step": int(result.success_step[i]), "length": int(result.length[i]),
                 "return": float(result.episode_return[i])} for i in range(len(result.success))]
    report = {**meta, "interval": "Wilson score, 95 %", "table": table.records(), "episode_results": episodes,
              "videos": [str(pathlib.Path(g).relative_to(out_dir)) for g in gifs]}
    json_path, md_path = out_dir / "eval.json", out_dir / "eval.md"
    json_path.write_text(json.dumps(report, indent=2))
    overall = table.cell(table.row_total, table.col_total)
    md = [f"# {title}", "",
          f"policy `{result.policy}` · split `{result.split}` · {result.episodes_per_cell} episodes per cell · "
          f"max {result.max_steps} steps · seeds {result.seed0}–{result.seed0 + result.episodes_per_cell - 1}", "",
          "Success rate with its 95 % Wilson interval and (successes/episodes).", "", table.to_markdown(), ""]
    md += [f"Overall: {overall['successes']}/{overall['episodes']} episodes succeeded.", ""]
    md += ["## Videos (agent | goal | goal + mask)", ""] + [f"- [{pathlib.Path(g).name}](videos/{pathlib.Path(g).name})"
                                                           for g in gifs] if gifs else []
    md_path.write_text("\n".join(md) + "\n")
    if verbose:
        print(f"{title}\n{table.to_markdown()}")
    return {"json": str(json_path), "md": str(md_path), "gifs": gifs}


__all__ = ["EvalResult", "task_list", "evaluate", "write_report"]
