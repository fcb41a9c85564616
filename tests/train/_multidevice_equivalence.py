"""Run in a subprocess with 4 emulated CPU devices: 1-device vs 4-device fused training."""
import os
import sys

os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4"

import jax  # noqa: E402
import numpy as np  # noqa: E402

from jaxcraft.config import ConfigError, EnvConfig, ExperimentConfig, NetConfig, RunConfig  # noqa: E402
from jaxcraft.ppo import PPOConfig  # noqa: E402
from jaxcraft.train.multihost.sharding import make_mesh  # noqa: E402
from jaxcraft.train.fused.trainer import FusedTrainer  # noqa: E402
from jaxcraft.build import make_trainer  # noqa: E402
from jaxcraft.train.fused.memory_estimate import estimate_fused  # noqa: E402


def run(core_size: int, devices: int):
    cfg = ExperimentConfig(
        env=EnvConfig(name="gymnax:CartPole-v1", num_envs=8, rollout_len=16),
        net=NetConfig(hidden=(16,), core_size=core_size),
        ppo=PPOConfig(num_epochs=2, num_minibatches=2, chunk_len=8 if core_size else 0),
        run=RunConfig(total_env_steps=8 * 16 * 3, num_devices=devices))
    trainer = make_trainer(cfg)
    assert trainer.num_devices == devices
    # The memory estimate traces the rollout on one device's shard: the same trajectory at any device count.
    estimate = estimate_fused(trainer)
    state = trainer.init(jax.random.key(7))
    state, metrics = trainer.run(state, 3)
    shards = {len(x.sharding.device_set) for x in jax.tree.leaves(state.actor)}
    return jax.device_get(state.ppo.params), jax.device_get(metrics), shards, estimate


def main():
    assert len(jax.devices()) == 4, jax.devices()
    for core in (0, 8):
        p1, m1, s1, e1 = run(core, 1)
        p4, m4, s4, e4 = run(core, 4)
        assert s1 == {1} and s4 == {4}, (s1, s4)
        assert (e1.trajectory_bytes, e1.batch_bytes) == (e4.trajectory_bytes, e4.batch_bytes), (e1, e4)
        for a, b in zip(jax.tree.leaves(p1), jax.tree.leaves(p4)):
            np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)
        for k in ("loss", "value_loss", "episode_return", "approx_kl"):
            np.testing.assert_allclose(m1[k], m4[k], rtol=2e-4, atol=2e-5, err_msg=k)
    # A batch that cannot be split over the devices fails before compiling, naming the field.
    try:
        make_trainer(ExperimentConfig(env=EnvConfig(num_envs=6, rollout_len=16),
                                       run=RunConfig(total_env_steps=6 * 16, num_devices=4)))
    except ConfigError as e:
        assert "env.num_envs" in str(e), e
    else:
        raise AssertionError("num_envs=6 on 4 devices was accepted")
    print("EQUIVALENT")


if __name__ == "__main__":
    sys.exit(main())
