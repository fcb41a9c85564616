"""PPO on gymnax CartPole-v1 in about a minute on 2 CPU cores (the PPO library's validation run).

Shows the whole pipeline (sharded fused trainer, metrics, checkpoints, resume) on a
problem PPO must solve (return ≥ 475 of 500).
"""
from jaxcraft.config import EnvConfig, ExperimentConfig, NetConfig, RunConfig
from jaxcraft.ppo import PPOConfig

CONFIG = ExperimentConfig(
    name="cartpole",
    # 4 envs × 128 steps = 512 steps per update, as in PureJaxRL's CartPole baseline.
    env=EnvConfig(name="gymnax:CartPole-v1", num_envs=4, rollout_len=128),
    net=NetConfig(kind="mlp", hidden=(64, 64), activation="tanh"),
    ppo=PPOConfig(lr=2.5e-4, anneal_lr=True, num_epochs=4, num_minibatches=4, gamma=0.99,
                  gae_lambda=0.95, clip_eps=0.2, ent_coef=0.01, vf_coef=0.5, max_grad_norm=0.5),
    run=RunConfig(total_env_steps=512_000, updates_per_call=25, checkpoint_every=250, seed=0),
)
