"""PPO on gymnax MinAtar Breakout: the pixel-grid validation of the PPO library.

A 10×10×4 binary grid, 3 actions. PureJaxRL-style settings with a small CNN so that it
learns on 2 CPU cores in minutes (random play scores ~0.5 per episode).
"""
from jaxcraft.config import EnvConfig, ExperimentConfig, NetConfig, RunConfig
from jaxcraft.ppo import PPOConfig

CONFIG = ExperimentConfig(
    name="minatar_breakout",
    env=EnvConfig(name="gymnax:Breakout-MinAtar", num_envs=64, rollout_len=128),
    # Small grids stay at full resolution (stride 1); one conv layer keeps CPU cost low.
    net=NetConfig(kind="cnn", channels=(16,), hidden=(128,), activation="relu", separate_critic=False),
    ppo=PPOConfig(lr=5e-3, anneal_lr=True, num_epochs=4, num_minibatches=8, gamma=0.99, gae_lambda=0.95,
                  clip_eps=0.2, ent_coef=0.01, vf_coef=0.5, max_grad_norm=0.5),
    run=RunConfig(total_env_steps=942_080, updates_per_call=23, checkpoint_every=46, seed=0),
)
