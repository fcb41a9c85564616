"""ROCKET-3's recipe on all four families (approach, break, interact, hunt) at spawn distance 20, sized
for a 2-core CPU in under two hours end to end (`make rocket3-cpu`).

The same pipeline as `make run` (experiments/quickstart.py), four times the task variety: 8,192
episodes of the visual-servo teacher with 25 % injected random actions (it approaches, then attacks
or uses the target as its family asks), behaviour cloning of this network for 6,000 steps with the
auxiliary visibility/centroid loss, then PPO with the decaying KL penalty to the cloned policy:

    jaxcraft demos experiments/rocket3_cpu.py --teacher servo --noise 0.25 --episodes 8192 --shard-size 256 --out runs/rocket3_cpu_demos
    jaxcraft pretrain experiments/rocket3_cpu.py --demos runs/rocket3_cpu_demos --out runs/rocket3_cpu_pretrained --steps 6000 --batch 32 --window 16
    jaxcraft train experiments/rocket3_cpu.py
    jaxcraft eval runs/rocket3_cpu --split unseen --distances 20 --episodes 200 --max-steps 600

The fine-tuning is the recipe of the issue-29 study (docs/tasks.md, "The fine-tuning study"): the
perception encoder frozen as ROCKET-3 freezes its backbone (the learner runs no convolution, so the
budget buys 4 epochs × 4 minibatches), and a privileged critic (distance, bearing, visibility, time
left; the policy never reads it). Departures from the paper, for the CPU budget: 32×32 frames,
300-step training episodes (evaluation uses the paper's 600), a small feed-forward net, distance 20
only, and potential-based distance shaping on top of the binary success reward.
"""
from jaxcraft.config import EnvConfig, ExperimentConfig, GoalNetConfig, NetConfig, RunConfig, TaskConfig
from jaxcraft.ppo import PPOConfig

CONFIG = ExperimentConfig(
    name="rocket3_cpu",
    env=EnvConfig(name="jaxcraft:tasks", num_envs=64, rollout_len=64, reset_pool_size=32, pool_refresh_per_step=1),
    task=TaskConfig(families=("approach", "break", "interact", "hunt"), distances=(20,), frame_size=32, max_steps=300,
                    shaping_distance=0.1, num_distractors=3, privileged_obs=True),
    net=NetConfig(kind="goal_cnn", channels=(16, 32, 32), hidden=(128,), core_size=0, activation="relu",
                  separate_critic=False,
                  goal=GoalNetConfig(aux_heads=True, fusion="conv", goal_table=256, privileged_critic=True)),
    ppo=PPOConfig(lr=1e-4, num_epochs=4, num_minibatches=4, gamma=0.99, gae_lambda=0.95, ent_coef=0.0,
                  kl_coef=0.5, critic_warmup_updates=10, value_norm=True, vf_coef=0.25, max_grad_norm=0.5,
                  freeze_encoder=True),
    run=RunConfig(total_env_steps=1_638_400, updates_per_call=4, checkpoint_every=64, seed=0,
                  init_params="runs/rocket3_cpu_pretrained"),
)
