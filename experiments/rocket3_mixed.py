"""ROCKET-3 multi-task RL: all four families (approach, break, interact, hunt), mixed 20/40/60
spawn-distance curriculum, 64×64 frames, the paper's binary success reward and PPO recipe.

Sized for an accelerator pod (the batch splits over every local device on the `data` mesh
axis); it runs on CPU too, slowly. The paper fine-tunes a policy pretrained by imitation with
a KL penalty to it: set `run.init_params` to pretrained params (`jaxcraft pretrain`) — with
`ppo.kl_coef > 0` and no pretrained params the reference is the randomly initialised policy.
Hard-only ablation: `--set task.distances=60`.
"""
from jaxcraft.config import EnvConfig, ExperimentConfig, RunConfig
from jaxcraft.nets.goal import small_net_config
from jaxcraft.ppo import PPOConfig
from jaxcraft.tasks import TaskConfig

CONFIG = ExperimentConfig(
    name="rocket3_mixed",
    env=EnvConfig(name="jaxcraft:tasks", num_envs=256, rollout_len=128, reset_pool_size=64, pool_refresh_per_step=1),
    task=TaskConfig(frame_size=64, max_steps=600),
    net=small_net_config(),
    # The paper's hyper-parameters (lr 2e-5 AdamW wd 0.04, γ 0.999, λ 0.95, log-ratio clip 1.03,
    # KL ρ 0.2 × 0.9995 per update, 1 epoch, no entropy bonus, EWMA value normalisation).
    ppo=PPOConfig.rocket3(num_minibatches=4, chunk_len=64, kl_coef=0.0),
    run=RunConfig(total_env_steps=200_000_000, updates_per_call=10, checkpoint_every=100),
)
