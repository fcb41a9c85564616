"""Tabulate issue 29's study (scripts/rl_study.sh) and draw its learning curves.

    python scripts/rl_study_report.py runs/study      → runs/study/study.md, runs/study/curves.png

Rows: the cloned student, the servo teacher and each arm with every seed it has finished, all on
the same task ids (checked); per-seed successes, the mean ± sd of the seed rates, the pooled Wilson
95 % interval, RL/cloned, and the mean wall time of a training run. The figure: training success,
explained variance, KL to the cloned policy and the guide's horizon per update (mean over seeds).
"""
from __future__ import annotations

import argparse
import json
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from jaxcraft.eval.compare import seed_rates  # noqa: E402
from jaxcraft.eval.seed_report import read_report, seed_study_markdown  # noqa: E402
from jaxcraft.machine import cpu_description  # noqa: E402

ARMS = {"a": "(a) PPO + KL, today's recipe", "b": "(b) frozen encoder, 4×4 epochs/minibatches",
        "c": "(c) b + privileged critic", "d": "(d) c + guided curriculum", "e": "(e) d, whole net trained"}
CURVES = (("success_rate", "training success (last 10 updates)"), ("explained_variance", "explained variance"),
          ("kl_ref", "KL to the cloned policy"), ("guide_horizon", "guide horizon H"))


def _finished(root: pathlib.Path, arm: str) -> list[pathlib.Path]:
    runs = sorted(root.glob(f"{arm}_s*"), key=lambda p: int(p.name.split("_s")[1]))
    return [r for r in runs if (r / "eval_unseen" / "eval.json").is_file()]


WINDOW = 10   # updates per point of the training-success curve (an update ends ~13 of 64 episodes)


def _metrics(run: pathlib.Path) -> dict:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    out = {k: np.asarray([r.get(k, np.nan) for r in rows], float) for k, _ in CURVES}
    # Training success over a trailing window of updates, weighted by the episodes each ended.
    episodes = np.asarray([r.get("episodes", 0.0) for r in rows], float)
    wins = np.nan_to_num(out["success_rate"]) * episodes
    trailing = lambda x: np.convolve(x, np.ones(WINDOW))[:len(x)]  # noqa: E731
    out["success_rate"] = trailing(wins) / np.maximum(trailing(episodes), 1.0)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("root", type=pathlib.Path)
    root = p.parse_args().root
    results = {"cloned student": [read_report(root / "eval_cloned")], "servo teacher": [read_report(root / "eval_servo")]}
    runs = {arm: _finished(root, arm) for arm in ARMS}
    for arm, dirs in runs.items():
        if dirs:
            results[ARMS[arm]] = [read_report(d / "eval_unseen") for d in dirs]
    rates = seed_rates(results)
    cloned = rates["cloned student"].mean()
    lines = [f"Machine: {cpu_description()}", "", seed_study_markdown(results), "",
             "| arm | RL/cloned (pooled) | training run, mean wall s (compilation included) |", "|---|---:|---:|"]
    for arm, dirs in runs.items():
        if dirs:
            secs = [int((d / "done").read_text()) for d in dirs if (d / "done").is_file()]
            ratio = rates[ARMS[arm]].mean() / cloned if cloned > 0 else float("nan")
            lines.append(f"| {ARMS[arm]} | {ratio:.2f}× | {np.mean(secs):.0f} |")
    (root / "study.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))

    fig, axes = plt.subplots(1, len(CURVES), figsize=(4.2 * len(CURVES), 3.4))
    for arm, dirs in runs.items():
        if not dirs:
            continue
        curves = [_metrics(d) for d in dirs]
        for ax, (key, title) in zip(axes, CURVES):
            n = min(len(c[key]) for c in curves)
            stacked = np.stack([c[key][:n] for c in curves])
            if n and np.isfinite(stacked).any():   # arms without a guide log no horizon
                ax.plot(np.arange(1, n + 1), np.nanmean(stacked, axis=0), color=f"C{list(ARMS).index(arm)}",
                        label=f"{arm} ({len(dirs)} seeds)")
            ax.set_title(title)
            ax.set_xlabel("update")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(root / "curves.png", dpi=110)
    print(f"→ {root / 'study.md'}, {root / 'curves.png'}")


if __name__ == "__main__":
    main()
