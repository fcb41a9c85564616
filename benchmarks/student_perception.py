"""Does a cloned or fine-tuned student see its target? The perception diagnosis of any policy.

    python benchmarks/student_perception.py runs/quickstart_pretrained --experiment experiments/quickstart.py
    python benchmarks/student_perception.py runs/quickstart                      # a run directory (PPO)
    python benchmarks/student_perception.py runs/quickstart --first-seed 100000 --tasks 400 --out runs/perc.md

Rolls the policy out (sampled as trained; `--greedy` for the argmax) on `--tasks` task seeds from
`--first-seed` of one family at one spawn distance on `--split` (default unseen; seeds 100000+
are never used by `jaxcraft eval`'s reports, so the diagnosis does not tune on them), for
`--max-steps` steps, and prints `jaxcraft.eval.diagnose`'s table: per distance bin, the target
truly in view, the aux heads' visibility recall/precision and centroid error, and how often the
student turns the visual-servo teacher's way with the target in view and out of it; then the
episodes' success, whether and when the target came into view. The same flags give every policy
the same task ids and the same worlds. Prints the machine too.

`--demos DIR` adds the student on its teacher's own states (windows sampled from a demo directory
as cloning samples them): by what the teacher does there — turns left or right by ≥ 1.6° with
the target in view, holds, or searches out of view — the student's mean probability of turning
left, not at all and right, and how often its likeliest direction is the teacher's. A student
that copies the search but not the steering shows it here without a rollout.
"""
from __future__ import annotations

import argparse
import pathlib
import time

import jax
import jax.numpy as jnp

from jaxcraft.eval.diagnose import (demo_yaw_probs, episode_summary, format_report, format_teacher_state_table,
                                    perception_rollout, perception_table, teacher_state_table)
from jaxcraft.machine import cpu_description
from jaxcraft.restore import load_task_policy
from jaxcraft.train.run.checkpoint import CheckpointError
from jaxcraft.tasks import DISTANCES, FAMILIES, encode_task_id, make_task_env, with_split
from jaxcraft.tasks.demos import load_demos


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("policy", type=pathlib.Path, help="params saved by `jaxcraft pretrain`, or a run directory")
    p.add_argument("--experiment", type=pathlib.Path, default=None, help="the experiment of pretrained params")
    p.add_argument("--family", choices=FAMILIES, default="approach")
    p.add_argument("--distance", type=int, choices=DISTANCES, default=20)
    p.add_argument("--split", choices=("train", "unseen"), default="unseen")
    p.add_argument("--first-seed", type=int, default=100_000)
    p.add_argument("--tasks", type=int, default=200)
    p.add_argument("--max-steps", type=int, default=300)
    p.add_argument("--batch", type=int, default=100, help="episodes per jitted call (memory bound)")
    p.add_argument("--greedy", action="store_true", help="argmax actions instead of sampling")
    p.add_argument("--seed", type=int, default=0, help="PRNG seed of the student's sampling and the env")
    p.add_argument("--demos", type=pathlib.Path, default=None,
                   help="also score the student on these demonstrations' states (its teacher's)")
    p.add_argument("--out", type=pathlib.Path, default=None, help="also write the report (markdown) here")
    a = p.parse_args()

    try:
        policy, config = load_task_policy(a.policy, a.experiment)
    except CheckpointError as e:
        p.error(str(e))
    env, params = make_task_env(config.task)
    params = with_split(params, a.split)
    ids = [int(encode_task_id(a.first_seed + i, DISTANCES.index(a.distance), FAMILIES.index(a.family)))
           for i in range(a.tasks)]
    t0, traces = time.time(), []
    for start in range(0, a.tasks, a.batch):
        chunk = jnp.asarray(ids[start:start + a.batch], jnp.int32)
        traces.append(perception_rollout(env, params, policy.network, policy.params, policy.dist, chunk, a.max_steps,
                                         jax.random.fold_in(jax.random.key(a.seed), start), a.greedy))
    trace = jax.tree.map(lambda *x: jnp.concatenate(x), *traces)
    title = (f"{a.policy} · {a.family}@{a.distance} · {a.split} seeds {a.first_seed}–{a.first_seed + a.tasks - 1} · "
             f"{a.max_steps} steps · {'greedy' if a.greedy else 'sampled'}")
    report = format_report(perception_table(trace, config.task.frame_size), episode_summary(trace), title)
    if a.demos is not None:
        demos = load_demos(a.demos, notice=lambda line: None)
        first = {k: v[:256] for k, v in demos.items()}          # 256 episodes are plenty for a mean
        y = demo_yaw_probs(policy.network, policy.params, first, jax.random.key(a.seed))
        report += "\n\n" + format_teacher_state_table(teacher_state_table(y["probs"], y["teacher"], y["visible"]),
                                                       f"on the teacher's states ({a.demos}, 512 windows of 16)")
    report += f"\n\n{cpu_description()}; {time.time() - t0:.0f} s."
    print(report)
    if a.out:
        a.out.write_text(report + "\n")


if __name__ == "__main__":
    main()
