"""Recurrent PPO uses memory: on bsuite's MemoryChain the GRU policy learns, the feed-forward one cannot.

Oracle: the task itself. The context bit is shown only at the first step and the reward (±1) only
at the last, `memory_length` steps later, so a policy without memory has expected return 0 at
every update; one that carries the bit can reach 1. Both nets are trained by the same fused PPO
(`experiments/memory_chain.py`, shrunk), same seed and budget.
"""
import dataclasses

import numpy as np
import pytest

from jaxcraft.build import make_trainer
from jaxcraft.config import load_experiment
from jaxcraft.train.run.seeds import run_seeds

UPDATES = 40


def tiny(core_size):
    c = load_experiment("experiments/memory_chain.py")
    return dataclasses.replace(
        c, env=dataclasses.replace(c.env, num_envs=8, rollout_len=64, env_params=("memory_length=4",)),
        net=dataclasses.replace(c.net, hidden=(32,), core_size=core_size),
        ppo=dataclasses.replace(c.ppo, lr=3e-3, anneal_lr=False, num_minibatches=2),
        run=dataclasses.replace(c.run, total_env_steps=UPDATES * 8 * 64, updates_per_call=UPDATES, checkpoint_every=UPDATES,
                                progress=False))


@pytest.mark.slow
def test_gru_policy_learns_the_memory_chain_and_the_feed_forward_policy_stays_at_chance():
    final = {}
    for core in (16, 0):
        runs = run_seeds(make_trainer(tiny(core)), [0])
        final[core] = float(np.nanmean(runs.metrics["episode_return"][0, -10:]))
    assert final[16] >= 0.8, final
    assert abs(final[0]) <= 0.3, final
