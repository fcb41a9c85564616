"""A tiny bridged experiment on the load simulator (tests: CLI, resume, faults)."""
from jaxcraft.config import BridgeConfig, BridgeLoadConfig
from jaxcraft.config import EnvConfig, ExperimentConfig, NetConfig, RunConfig
from jaxcraft.ppo import PPOConfig

CONFIG = ExperimentConfig(
    name="bridged_tiny",
    env=EnvConfig(name="bridge:load", num_envs=4, rollout_len=8, max_episode_steps=12),
    net=NetConfig(kind="mlp", hidden=(16,)),
    ppo=PPOConfig(num_epochs=1, num_minibatches=2),
    run=RunConfig(total_env_steps=4 * 8 * 12, updates_per_call=2, checkpoint_every=2, keep_checkpoints=2,
                  progress=False, tensorboard=False),
    bridge=BridgeConfig(num_workers=2, recv_batch_size=2, frame_size=4, load=BridgeLoadConfig(latency_s=0.002)),
)
