"""ROCKET-3 multi-task RL with the large goal-conditioned network, for accelerators.

All families, mixed 20/40/60 curriculum, 128×128 frames, the `large_net_config()` preset
(wider convs, 512-unit GRU), the paper's PPO recipe. Not meant for CPU: on 2 cores one update
takes minutes. Initialise from imitation-pretrained params with `run.init_params` and set
`ppo.kl_coef=0.2` for the paper's KL-regularised fine-tuning.
"""
from jaxcraft.config import EnvConfig, ExperimentConfig, RunConfig
from jaxcraft.nets.goal import large_net_config
from jaxcraft.ppo import PPOConfig
from jaxcraft.tasks import TaskConfig

CONFIG = ExperimentConfig(
    name="rocket3_large",
    env=EnvConfig(name="jaxcraft:tasks", num_envs=1024, rollout_len=256, reset_pool_size=256, pool_refresh_per_step=2),
    task=TaskConfig(frame_size=128, max_steps=600),
    net=large_net_config(),
    ppo=PPOConfig.rocket3(num_minibatches=8, chunk_len=128, kl_coef=0.0),
    run=RunConfig(total_env_steps=1_000_000_000, updates_per_call=10, checkpoint_every=50),
)
