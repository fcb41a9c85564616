"""jaxcraft.eval.compare: arms × distances pooled over seeds, same-task check."""
import math

import numpy as np
import pytest

from jaxcraft.eval import EvalResult
from jaxcraft.eval.compare import arm_table, seed_rates


def result(success, task_id=(1, 2, 3, 4), distance=(20, 20, 60, 60), name="p"):
    n = len(success)
    z = np.zeros(n, np.int32)
    return EvalResult(task_id=np.asarray(task_id), family=z, distance=np.asarray(distance), seed=z,
                      success=np.asarray(success, bool), success_step=z, length=z, episode_return=z.astype(float),
                      families=("approach",), distances=(20, 60), episodes_per_cell=2, split="unseen", max_steps=9,
                      seed0=0, policy=name)


def wilson(k, n, z=1.959963984540054):   # the textbook formula, written out again
    p = k / n
    c = (p + z * z / (2 * n)) / (1 + z * z / n)
    h = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, c - h), min(1.0, c + h)


def test_arm_table_pools_seeds_per_arm_and_distance():
    res = {"recipe": [result([1, 1, 0, 1]), result([1, 0, 0, 0])], "ablated": [result([0, 0, 0, 1])]}
    t = arm_table(res)
    assert t.rows == ("recipe", "ablated") and t.cols == (20, 60)
    assert t.cell("recipe", 20) == {"successes": 3, "episodes": 4, "rate": 0.75, "ci_low": pytest.approx(wilson(3, 4)[0]),
                                    "ci_high": pytest.approx(wilson(3, 4)[1])}
    assert (t.cell("recipe", 60)["successes"], t.cell("recipe", "all")["episodes"]) == (1, 8)
    assert (t.cell("ablated", "all")["successes"], t.cell("overall", "all")["successes"]) == (1, 5)
    rates = seed_rates(res)
    np.testing.assert_allclose(rates["recipe"], [0.75, 0.25])
    np.testing.assert_allclose(rates["ablated"], [0.25])


def test_arm_table_refuses_different_tasks_or_empty_arms():
    with pytest.raises(ValueError, match="other task ids"):
        arm_table({"a": [result([1, 0, 0, 0])], "b": [result([1, 0, 0, 0], task_id=(1, 2, 3, 5))]})
    with pytest.raises(ValueError, match="no evaluation results"):
        arm_table({"a": []})
