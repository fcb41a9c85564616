"""A few bridged PPO updates on Minetest approach tasks (the experiment's shape, tiny)."""
import numpy as np
import pytest

from minetest_helpers import alive, command_of, descendants, needs_minetest

pytestmark = needs_minetest


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_bridged_ppo_updates_on_minetest_change_the_params():
    import jax

    from bridge.adapters.minetest.process import ROOT
    from jaxcraft.build import make_network
    from jaxcraft.config import override
    from jaxcraft.train.bridged.trainer import BridgedTrainer
    from jaxcraft.train.bridged.minetest import POLICY_FIELDS, minetest_bridged_env
    from experiments_minetest import CONFIG
    config = override(CONFIG, ["env.num_envs=1", "env.rollout_len=8", "bridge.num_workers=1", "task.frame_size=32",
                               "bridge.frame_size=32", "task.max_steps=12", "ppo.num_minibatches=1",
                               # one epoch: XLA:CPU compiles the unrolled epoch x minibatch loop
                               # body once per copy, the bulk of this test's CPU time
                               "ppo.num_epochs=1",
                               "net.channels=[8, 8]", "net.hidden=[32]"])
    env = minetest_bridged_env(config)
    assert set(env.policy_obs({k: 0 for k in (*POLICY_FIELDS, "info")})) == set(POLICY_FIELDS)
    trainer = BridgedTrainer(config, env, make_network(config.net, env.observation_space, env.action_space))
    try:
        state = trainer.init(jax.random.key(0))
        before = jax.tree.leaves(state.ppo.params)
        state, metrics = trainer.run(state, 2)
        after = jax.tree.leaves(state.ppo.params)
        workers = trainer.pool.worker_pids()
        engines = {p for w in workers for p in descendants(w) if "minetest" in command_of(p) or "Xvfb" in command_of(p)}
    finally:
        trainer.close()
    assert int(state.ppo.update_step) == 2
    assert any(not np.allclose(a, b) for a, b in zip(before, after))
    assert all(np.isfinite(np.asarray(v)).all() for v in jax.tree.leaves(metrics))
    assert metrics["episodes"].sum() >= 1          # 16 consecutive steps, episodes of at most 12
    # close() let the worker finish its step/reset and close its engine itself (not SIGKILLed
    # mid-reset): the engine processes are gone and so is the instance directory.
    assert len(engines) >= 2 and not [p for p in engines if alive(p)]
    assert not [d for d in ROOT.glob("*") if d.name.split("_")[0] in {str(w) for w in workers}]
