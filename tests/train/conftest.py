"""A tiny CartPole trainer compiled once per test process, shared by the run-loop test files."""
import pathlib

import pytest

TINY = pathlib.Path(__file__).parent / "_tiny_experiment.py"


@pytest.fixture(scope="session")
def tiny_trainer():
    from jaxcraft.config import load_experiment
    from jaxcraft.build import make_trainer
    config = load_experiment(TINY)
    return config, make_trainer(config)
