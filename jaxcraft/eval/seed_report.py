"""Seed study table: several training seeds per policy, scored on the same tasks, pooled.

    python -m jaxcraft.eval.seed_report --policy cloned runs/quickstart_pretrained_eval runs/quickstart_s1_pretrained_eval \
        --policy "cloned → PPO + KL" runs/quickstart/eval_unseen runs/quickstart_s1/eval_unseen --out runs/seeds.md

Each directory is one `jaxcraft eval` output (its eval.json). A row gives every seed's
successes, the mean and sample standard deviation of the per-seed rates (seed-to-seed
spread), and the Wilson 95 % interval of the pooled episodes (task sampling only; it does not
include the seed spread). All evaluations must be on the same task ids
(`jaxcraft.eval.compare`), so policies are compared on identical tasks.
"""
from __future__ import annotations

import argparse
import json
import pathlib
from typing import Mapping, Sequence

import numpy as np

from jaxcraft.eval.compare import arm_table, seed_rates
from jaxcraft.eval.runner import EvalResult
from jaxcraft.eval.stats import format_cell
from jaxcraft.machine import cpu_description
from jaxcraft.tasks import FAMILIES


def read_report(eval_dir: str | pathlib.Path) -> EvalResult:
    """The per-episode results `write_report` saved in `eval_dir/eval.json` (without videos)."""
    path = pathlib.Path(eval_dir) / "eval.json"
    try:
        report = json.loads(path.read_text())
        episodes = report["episode_results"]
    except (OSError, ValueError, KeyError) as e:
        raise ValueError(f"{path}: not a jaxcraft eval report ({e})") from None
    col = lambda key, dtype: np.asarray([ep[key] for ep in episodes], dtype)  # noqa: E731
    return EvalResult(task_id=col("task_id", np.int64), family=np.asarray([FAMILIES.index(ep["family"]) for ep in episodes]),
                      distance=col("distance", np.int64), seed=col("seed", np.int64), success=col("success", bool),
                      success_step=col("success_step", np.int64), length=col("length", np.int64),
                      episode_return=col("return", np.float64), families=tuple(report["families"]),
                      distances=tuple(report["distances"]), episodes_per_cell=int(report["episodes_per_cell"]),
                      split=report["split"], max_steps=int(report["max_steps"]), seed0=int(report["seed0"]),
                      policy=report["policy"])


def _pooled(cell: dict) -> str:
    return format_cell(cell["successes"], cell["episodes"], cell["ci_low"] or 0.0, cell["ci_high"] or 0.0)


def seed_study_markdown(results: Mapping[str, Sequence[EvalResult]]) -> str:
    """Markdown table: policy | per-seed successes | mean ± sd of the seed rates | pooled Wilson 95 %."""
    table, rates = arm_table(results), seed_rates(results)
    lines = ["| policy | seeds | per seed (successes/episodes) | mean ± sd over seeds | pooled, Wilson 95 % |",
             "|---|---:|---|---:|---:|"]
    for arm, runs in results.items():
        per_seed = ", ".join(f"{int(np.sum(r.success))}/{len(r.success)}" for r in runs)
        r = rates[arm]
        sd = float(np.std(r, ddof=1)) if len(r) > 1 else float("nan")
        spread = f"{100 * r.mean():.1f} % ± {100 * sd:.1f}" if len(r) > 1 else f"{100 * r.mean():.1f} % (one seed)"
        lines.append(f"| {arm} | {len(runs)} | {per_seed} | {spread} | {_pooled(table.cell(arm, table.col_total))} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m jaxcraft.eval.seed_report", description=__doc__.split("\n\n")[0])
    p.add_argument("--policy", nargs="+", action="append", required=True, metavar=("NAME", "EVAL_DIR"),
                   help="a policy's name, then one `jaxcraft eval` output directory per training seed (repeatable)")
    p.add_argument("--out", help="also write the table (with the machine's name) to this markdown file")
    args = p.parse_args(argv)
    results = {}
    for name, *dirs in args.policy:
        if not dirs:
            p.error(f"--policy {name}: give at least one eval directory")
        try:
            results[name] = [read_report(d) for d in dirs]
        except ValueError as e:
            p.error(str(e))
    try:
        md = seed_study_markdown(results)
    except ValueError as e:
        p.error(str(e))
    print(md)
    if args.out:
        pathlib.Path(args.out).write_text(f"{md}\n\nMachine: {cpu_description()}.\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
