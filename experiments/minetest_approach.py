"""Bridged PPO on cross-view *approach* tasks in Minetest 5.6 (a real third-party voxel engine).

    python experiments/minetest_approach.py            # runs now (builds the trainer itself)
    jaxcraft train experiments/minetest_approach.py    # the same through the CLI

The design card's shape on a real engine: the goal-conditioned `goal_cnn` of the quickstart
sees its 32×32 first-person frame, the goal image and the target's exact mask (swap-and-diff,
docs/minetest.md) and acts with the JaxCraft world's factored action (9 buttons + 11×11
camera bins), mapped to XTest keys and pointer motion. Each env is one Xvfb + Minetest pair
in a bridge worker (`bridge.adapters.minetest_env`); success (crosshair on the target within
reach) comes from the Lua mod's events. A short budget: Minetest runs in real time at ~12–19
env steps/s per instance, so 2 instances × 32 steps × 4 updates take a few minutes here
(start-up ~4 s and each reset's scene build + goal capture ~3 s per instance).
Warm start: `run.init_params` = params cloned in the JaxCraft world (e.g. runs/quickstart_pretrained);
'' = a fresh network (what this file uses: no cloned run exists on a fresh clone).
"""
from jaxcraft.config import BridgeConfig, EnvConfig, ExperimentConfig, GoalNetConfig, NetConfig, RunConfig
from jaxcraft.ppo import PPOConfig
from jaxcraft.tasks import TaskConfig

CONFIG = ExperimentConfig(
    name="minetest_approach",
    env=EnvConfig(name="bridge:minetest", num_envs=2, rollout_len=32),
    task=TaskConfig(families=("approach",), distances=(20,), frame_size=32, max_steps=300, num_distractors=3),
    net=NetConfig(kind="goal_cnn", channels=(16, 32, 32), hidden=(128,), core_size=0, activation="relu",
                  separate_critic=False, goal=GoalNetConfig(aux_heads=True, fusion="conv")),
    ppo=PPOConfig(lr=1e-4, num_epochs=2, num_minibatches=2, gamma=0.99, gae_lambda=0.95, ent_coef=0.01,
                  vf_coef=0.25, max_grad_norm=0.5),
    run=RunConfig(total_env_steps=256, updates_per_call=1, checkpoint_every=2, seed=0, init_params=""),
    # One instance per worker (each is ~0.6 core); resets take seconds, steps ~60-80 ms.
    bridge=BridgeConfig(num_workers=2, recv_batch_size=0, max_policy_lag=2, frame_size=32,
                        step_timeout=60.0, reset_timeout=180.0),
)


def main() -> None:
    import sys

    from jaxcraft.build import train
    from jaxcraft.config import override

    config = override(CONFIG, sys.argv[1:])   # e.g. run.total_env_steps=1024
    print(train(config))


if __name__ == "__main__":
    main()
