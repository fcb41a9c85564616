"""PPO in the JaxCraft 3D world on its built-in reward (break blocks, hunt mobs, use levers).

The world runs *inside* the jitted train step (fused path): 64×64 first-person RGB, the
VPT-like factorised action space (9 buttons + 11×11 camera bins). Resets come from a pool
of pre-generated worlds so a finished episode never regenerates every world. The
goal-conditioned ROCKET-3 tasks replace this reward in their own experiment files.
"""
from jaxcraft.config import EnvConfig, ExperimentConfig, NetConfig, RunConfig
from jaxcraft.ppo import PPOConfig

CONFIG = ExperimentConfig(
    name="world_builtin",
    # 64 worlds × 64 steps per update; 600-step episodes (the paper's limit) are truncated and bootstrapped.
    env=EnvConfig(name="jaxcraft:world", num_envs=64, rollout_len=64, reset_pool_size=16, pool_refresh_per_step=1),
    # Stride-2 convs on 64×64 frames; a GRU gives the agent memory of what it has turned away from.
    net=NetConfig(kind="world_cnn", channels=(16, 32), hidden=(256,), core_size=128, activation="relu",
                  separate_critic=False),
    ppo=PPOConfig(lr=3e-4, num_epochs=2, num_minibatches=2, chunk_len=32, gamma=0.99, ent_coef=0.01),
    run=RunConfig(total_env_steps=1_048_576, updates_per_call=4, checkpoint_every=64),
)
