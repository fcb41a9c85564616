"""What a frozen encoder knows: can its features tell which side its target is on?

    python benchmarks/feature_probe.py runs/quickstart_pretrained --experiment experiments/quickstart.py \
        --demos runs/quickstart_demos --episodes 512
    python benchmarks/feature_probe.py runs/quickstart --demos runs/quickstart_demos    # a run (PPO) directory

On the in-view steps of `--episodes` episodes of a demo directory (the student's teacher's states;
demos recorded with the renderer's truth), labels each step by the teacher's camera yaw (left / hold
within one bin / right) and prints, on the last quarter of the episodes (held out), how often each
of these gets the teacher's direction: the student's own likeliest direction; the true target
centroid's side of the frame (1-px and ½-px dead zones: what "seeing the target" would allow); and
a class-balanced linear probe of the encoder's features (`encode`: the input of the decision part
that `ppo.freeze_encoder` trains) fitted on the first three quarters. A probe that does no better
than the student means the features do not hold the target's side, so RL on a frozen encoder
cannot learn to steer by it (`jaxcraft.eval.probe`). Feed-forward nets; prints the machine.
"""
from __future__ import annotations

import argparse
import pathlib
import time

from jaxcraft.eval.probe import (centroid_direction, direction_recall, encoder_dataset, fit_linear_probe,
                                 turn_direction, yaw_direction)
from jaxcraft.machine import cpu_description
from jaxcraft.restore import load_task_policy
from jaxcraft.train.run.checkpoint import CheckpointError
from jaxcraft.tasks.demos import load_demos


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("policy", type=pathlib.Path, help="params saved by `jaxcraft pretrain`, or a run directory")
    p.add_argument("--experiment", type=pathlib.Path, default=None, help="the experiment of pretrained params")
    p.add_argument("--demos", type=pathlib.Path, required=True, help="a demo directory with target_visible/centroid")
    p.add_argument("--episodes", type=int, default=512, help="the first this many episodes")
    p.add_argument("--steps", type=int, default=3000, help="the probe's full-batch AdamW steps")
    a = p.parse_args()

    t0 = time.time()
    try:
        policy, config = load_task_policy(a.policy, a.experiment)
    except CheckpointError as e:
        p.error(str(e))
    demos = {k: v[:a.episodes] for k, v in load_demos(a.demos, notice=lambda line: None).items()}
    d = encoder_dataset(policy.network, policy.params, demos)
    label = turn_direction(d["teacher_yaw"])
    test = d["episode"] >= int(0.75 * demos["length"].shape[0])
    predict = fit_linear_probe(d["features"][~test], label[~test], steps=a.steps)
    frame = config.task.frame_size
    rows = [("the student's likeliest direction", yaw_direction(d["probs"])),
            ("true centroid's side, 1-px dead zone", centroid_direction(d["centroid"][:, 1], frame, 1.0)),
            ("true centroid's side, ½-px dead zone", centroid_direction(d["centroid"][:, 1], frame, 0.5)),
            (f"linear probe of the encoder's {d['features'].shape[1]} features", predict(d["features"]))]
    counts = [int((label[test] == c).sum()) for c in range(3)]
    print(f"# Which way is the target? {a.policy} on {a.demos} ({a.episodes} episodes)\n\n"
          f"{int(test.sum()):,} held-out in-view steps (teacher left / hold / right: {counts[0]:,} / {counts[1]:,} / "
          f"{counts[2]:,}); the probe fitted on {int((~test).sum()):,}.\n\n"
          "| predictor | accuracy | recall left | hold | right | balanced |\n|---|---:|---:|---:|---:|---:|")
    for name, pred in rows:
        r = direction_recall(pred[test], label[test])
        print(f"| {name} | {100 * r['accuracy']:.1f} % | " + " | ".join(f"{100 * x:.1f} %" for x in r["recall"])
              + f" | {100 * r['balanced']:.1f} % |")
    print(f"\n{cpu_description()}; {time.time() - t0:.0f} s.")


if __name__ == "__main__":
    main()
