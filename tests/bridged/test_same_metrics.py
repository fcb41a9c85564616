"""Fused and bridged training share one learner: the same metric names, the same Trainer protocol."""
import dataclasses
import pathlib

import pytest

import jax

from jaxcraft.build import make_trainer
from jaxcraft.config import load_experiment
from jaxcraft.train.learner import LEARNER_METRICS
from jaxcraft.train.trainer import Trainer

pytestmark = pytest.mark.slow

HERE = pathlib.Path(__file__).parent
FUSED = HERE.parent / "train" / "_tiny_experiment.py"
BRIDGED = HERE / "_bridged_tiny_experiment.py"
# The bridged trainer's own acting diagnostics (it has a pool and an actor thread; the fused one has not).
BRIDGED_ONLY = {"policy_lag", "policy_lag_max", "dropped_fragments", "lost_episodes", "worker_restarts",
                "time/learner_wait_s"}


def _one_update_metrics(path):
    config = load_experiment(path)
    config = dataclasses.replace(config, run=dataclasses.replace(config.run, total_env_steps=config.batch_size * 2))
    trainer = make_trainer(config)
    try:
        assert isinstance(trainer, Trainer)
        state = trainer.init(jax.random.key(0))
        _, metrics = trainer.run(state, 1)
    finally:
        trainer.close()
    return set(metrics)


def test_fused_and_bridged_report_the_same_metric_names():
    fused, bridged = _one_update_metrics(FUSED), _one_update_metrics(BRIDGED)
    assert set(LEARNER_METRICS) <= fused
    assert fused == bridged - BRIDGED_ONLY, (fused ^ (bridged - BRIDGED_ONLY))
    assert "success_rate" in bridged and "crashed_episodes" in fused
