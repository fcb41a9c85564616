"""A tiny CartPole experiment for checkpoint/resume/signal tests."""
from jaxcraft.config import EnvConfig, ExperimentConfig, NetConfig, RunConfig
from jaxcraft.ppo import PPOConfig

CONFIG = ExperimentConfig(
    name="tiny",
    env=EnvConfig(name="gymnax:CartPole-v1", num_envs=4, rollout_len=16),
    net=NetConfig(hidden=(16,)),
    ppo=PPOConfig(num_epochs=1, num_minibatches=2, anneal_lr=True),
    run=RunConfig(total_env_steps=4 * 16 * 400, updates_per_call=2, checkpoint_every=4, keep_checkpoints=2,
                  progress=False, tensorboard=False),
)
