"""Compare policies (ablation arms) on the same evaluation tasks: one success table, arm × distance.

    table = arm_table({"recipe": [res_seed0, res_seed1], "no KL": [...]})   # EvalResults
    print(table.to_markdown(corner="arm \\ distance"))

Episodes of every seed of an arm are pooled into its row; the intervals are Wilson 95 % over
the pooled episodes (they measure task sampling, not seed-to-seed variation: look at the
per-seed rates, `seed_rates`, for that).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from jaxcraft.eval.runner import EvalResult
from jaxcraft.eval.stats import SuccessTable, success_table


def _check_same_tasks(results: Mapping[str, Sequence[EvalResult]]) -> np.ndarray:
    ref = None
    for arm, runs in results.items():
        if not runs:
            raise ValueError(f"arm {arm!r} has no evaluation results")
        for r in runs:
            if ref is None:
                ref = r.task_id
            elif r.task_id.shape != ref.shape or (r.task_id != ref).any():
                raise ValueError(f"arm {arm!r} ({r.policy}) was evaluated on other task ids than the first arm: "
                                 "every arm must be scored on the same tasks")
    if ref is None:
        raise ValueError("no arms to compare")
    return ref


def arm_table(results: Mapping[str, Sequence[EvalResult]]) -> SuccessTable:
    """Rows: arms (in mapping order) + "overall"; columns: spawn distances + "all"; every arm's
    seeds pooled. Raises ValueError if the arms were not scored on the same task ids."""
    _check_same_tasks(results)
    arms, dist, succ = [], [], []
    for arm, runs in results.items():
        for r in runs:
            arms += [arm] * len(r.success)
            dist.append(np.asarray(r.distance))
            succ.append(np.asarray(r.success, bool))
    distances = tuple(int(d) for d in next(iter(results.values()))[0].distances)
    return success_table(np.asarray(arms, dtype=object), np.concatenate(dist), np.concatenate(succ),
                         tuple(results), distances)


def seed_rates(results: Mapping[str, Sequence[EvalResult]]) -> dict:
    """{arm: float[S]}: each seed's overall success rate on the shared tasks."""
    _check_same_tasks(results)
    return {arm: np.asarray([np.mean(r.success) for r in runs]) for arm, runs in results.items()}


__all__ = ["arm_table", "seed_rates"]
