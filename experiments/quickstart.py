"""Quickstart (`make run`): PPO on ROCKET-3 cross-view *approach* tasks at spawn distance 20.

The goal-conditioned agent sees only its 32×32 first-person frame, the goal image of the
target from another camera and the target's mask; it must find that one block (distractors
of the same kind lie nearby) and look at it from within reach. The JaxCraft world is
stepped inside the jitted train step (fused path). Training worlds use the train biomes and
seeds; after training, `make run` evaluates on *unseen* worlds (held-out seeds and biomes)
next to a random policy: `jaxcraft eval runs/quickstart --split unseen`.

Budget: about 15 minutes of training on 2 CPU cores. Departures from the paper's setting, for
that budget: 32×32 frames, 300-step episodes, a small feed-forward goal-conditioned net trained
from scratch (no imitation pretraining, so no KL term; `jaxcraft demos` + `jaxcraft pretrain` +
`run.init_params` give the paper's pretrain-then-fine-tune path), and potential-based distance
shaping on top of the binary success reward (`task.shaping_distance`; the paper uses the
binary reward alone).
"""
from jaxcraft.config import EnvConfig, ExperimentConfig, NetConfig, RunConfig
from jaxcraft.ppo import PPOConfig
from jaxcraft.tasks import TaskConfig

CONFIG = ExperimentConfig(
    name="quickstart",
    env=EnvConfig(name="jaxcraft:tasks", num_envs=64, rollout_len=64, reset_pool_size=32, pool_refresh_per_step=1),
    task=TaskConfig(families=("approach",), distances=(20,), frame_size=32, max_steps=300,
                    shaping_distance=0.1, num_distractors=3),
    # Feed-forward: measured to learn where the GRU variant did not within this budget (see docs/tasks.md).
    net=NetConfig(kind="goal_cnn", channels=(16, 32, 32), hidden=(128,), core_size=0, activation="relu",
                  separate_critic=False),
    ppo=PPOConfig(lr=3e-4, num_epochs=2, num_minibatches=2, gamma=0.99, gae_lambda=0.95,
                  ent_coef=0.01, max_grad_norm=0.5),
    run=RunConfig(total_env_steps=1_048_576, updates_per_call=4, checkpoint_every=64, seed=0),
)
