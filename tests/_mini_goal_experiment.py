"""The smallest goal-conditioned task experiment (CLI tests of demos, pretrain, DAgger and Minari)."""
from jaxcraft.config import EnvConfig, ExperimentConfig, NetConfig, RunConfig
from jaxcraft.ppo import PPOConfig
from jaxcraft.tasks import TaskConfig

CONFIG = ExperimentConfig(
    name="mini", env=EnvConfig(name="jaxcraft:tasks", num_envs=2, rollout_len=4, reset_pool_size=2,
                                    pool_refresh_per_step=0),
    task=TaskConfig(families=("approach",), distances=(20,), frame_size=16, max_steps=7),
    net=NetConfig(kind="goal_cnn", channels=(4,), hidden=(8,), core_size=0, activation="relu", separate_critic=False),
    ppo=PPOConfig(num_minibatches=1, num_epochs=1), run=RunConfig(total_env_steps=8, progress=False))
