"""Evaluation of cross-view task policies: success rates with 95 % intervals per family × distance.

    from jaxcraft.eval import RandomPolicy, evaluate, write_report
    result = evaluate(env, params, RandomPolicy(env), ("approach",), (20,), episodes_per_cell=10, split="unseen")
    write_report(result, "runs/eval/random", "random baseline")

Command line: `jaxcraft eval RUN_DIR|expert|random --split unseen` (see `jaxcraft.cli.eval`).
Policies of saved runs: `jaxcraft.restore.load_checkpoint_policy` / `load_pretrained_policy`.
"""
from jaxcraft.eval.policies import ExpertPolicy, NetworkPolicy, Policy, RandomPolicy
from jaxcraft.eval.runner import EvalResult, evaluate, task_list, write_report
from jaxcraft.eval.stats import SuccessTable, Z95, clopper_pearson_interval, success_table, wilson_interval

__all__ = ["ExpertPolicy", "NetworkPolicy", "Policy", "RandomPolicy", "EvalResult",
           "evaluate", "task_list", "write_report", "SuccessTable", "Z95", "clopper_pearson_interval",
           "success_table", "wilson_interval"]
