"""Success rate of a scripted teacher (default: the planning expert, `jaxcraft.tasks.expert`;
`--teacher servo`: the visual-servo teacher) per task family × spawn distance.

    python benchmarks/expert_success.py                       # 50 tasks per cell, train split
    python benchmarks/expert_success.py --per-cell 10 --split unseen --out runs/expert.json
    python benchmarks/expert_success.py --teacher servo --split unseen

Tasks of a cell are seeds first_seed … first_seed + per_cell − 1 of that (distance, family).
All episodes of a chunk (`--batch`, padded) run vmapped inside one jitted `lax.scan` over
`--steps` steps, no auto-reset: the first success step of every env is recorded (an env
keeps stepping after it; later steps are ignored). Frames are 32×32 (`--frame-size`): the
expert does not look at pixels and success comes from the step info, so XLA may drop the
unused rendering from the program altogether (the servo renders object ids itself).
Prints a table (success k/N, rate, mean steps to success) and writes JSON with `--out`.
"""
from __future__ import annotations

import argparse
import functools
import json
import pathlib
import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxcraft.tasks import DISTANCES, FAMILIES, TaskConfig, encode_task_id, make_task_env
from jaxcraft.tasks.teachers import TEACHER_NAMES, get_teacher


@functools.partial(jax.jit, static_argnums=(0, 3, 4))
def run_expert(env, params, task_ids: jax.Array, steps: int, teacher: str = "expert") -> jax.Array:
    """int32[N]: 1-based step of the first success of each task id (-1: none within `steps`)."""
    chosen = get_teacher(teacher)
    teacher_init, teacher_act = chosen.init, chosen.act
    _, state = jax.vmap(env.reset_to_task, in_axes=(0, None))(task_ids, params)
    carry = jax.vmap(teacher_init, in_axes=(None, 0))(env, state)
    keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.key(0), i))(task_ids)

    def step(c, t):
        state, carry, first = c
        k = jax.vmap(lambda kk: jax.random.split(jax.random.fold_in(kk, t)))(keys)
        carry, action = jax.vmap(teacher_act, in_axes=(None, None, 0, 0, 0))(env, params, state, carry, k[:, 0])
        _, state, _, _, _, info = jax.vmap(env.step_env, in_axes=(0, 0, 0, None))(k[:, 1], state, action, params)
        first = jnp.where((first < 0) & info["success"], t + 1, first)
        return (state, carry, first), None

    first = jnp.full(task_ids.shape, -1, jnp.int32)
    (_, _, first), _ = jax.lax.scan(step, (state, carry, first), jnp.arange(steps))
    return first


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--teacher", choices=TEACHER_NAMES, default="expert")
    p.add_argument("--per-cell", type=int, default=50, help="tasks per family × distance cell")
    p.add_argument("--split", choices=("train", "unseen"), default="train")
    p.add_argument("--steps", type=int, default=600, help="episode limit")
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=200, help="envs per jitted call (memory bound)")
    p.add_argument("--frame-size", type=int, default=32)
    p.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    p.add_argument("--out", type=pathlib.Path, default=None, help="write the results as JSON here")
    a = p.parse_args()

    env, params = make_task_env(TaskConfig(frame_size=a.frame_size, split=a.split, max_steps=a.steps))
    cells = [(f, d) for f in a.families for d in range(len(DISTANCES))]
    ids = np.asarray([[int(encode_task_id(a.first_seed + s, d, FAMILIES.index(f))) for s in range(a.per_cell)]
                      for f, d in cells], np.int32).reshape(-1)
    batch = min(a.batch, len(ids))
    t0 = time.perf_counter()
    first, compile_s = [], None
    for lo in range(0, len(ids), batch):
        chunk = ids[lo: lo + batch]
        padded = np.concatenate([chunk, np.repeat(chunk[-1:], batch - len(chunk))])
        out = np.asarray(run_expert(env, params, jnp.asarray(padded), a.steps, a.teacher))[: len(chunk)]
        first.append(out)
        compile_s = compile_s if compile_s is not None else time.perf_counter() - t0
        print(f"  {lo + len(chunk)}/{len(ids)} episodes, {time.perf_counter() - t0:.0f} s", flush=True)
    runtime = time.perf_counter() - t0
    first = np.concatenate(first).reshape(len(cells), a.per_cell)

    rows = []
    for (f, d), fs in zip(cells, first):
        ok = fs > 0
        rows.append(dict(family=f, distance=DISTANCES[d], n=int(len(fs)), successes=int(ok.sum()),
                         rate=float(ok.mean()), mean_steps=float(fs[ok].mean()) if ok.any() else None,
                         max_steps=int(fs[ok].max()) if ok.any() else None,
                         failed_task_ids=[int(i) for i, o in zip(ids.reshape(len(cells), -1)[len(rows)], ok) if not o]))
    print(f"\n{a.teacher} success, split={a.split}, {a.per_cell} tasks per cell, limit {a.steps} steps "
          f"(cell: successes/N  rate  mean steps to success)")
    print(f"{'family':10s}" + "".join(f"{'d=' + str(d):>26s}" for d in DISTANCES))
    for f in a.families:
        cols = []
        for r in (r for r in rows if r["family"] == f):
            ms = f"{r['mean_steps']:.0f}" if r["mean_steps"] is not None else "-"
            cols.append(f"{r['successes']:>4d}/{r['n']:<4d}{100 * r['rate']:6.1f}%{ms:>6s} st")
        print(f"{f:10s}" + "".join(f"{c:>26s}" for c in cols))
    total = sum(r["successes"] for r in rows), sum(r["n"] for r in rows)
    print(f"all: {total[0]}/{total[1]} ({100 * total[0] / total[1]:.1f}%), slowest success "
          f"{max((r['max_steps'] or 0) for r in rows)} steps; runtime {runtime:.0f} s "
          f"(first chunk incl. compile {compile_s:.0f} s)")
    if a.out is not None:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(dict(teacher=a.teacher, split=a.split, per_cell=a.per_cell, steps=a.steps, first_seed=a.first_seed,
                                         frame_size=a.frame_size, runtime_s=runtime, compile_s=compile_s,
                                         cells=rows), indent=1))
        print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
