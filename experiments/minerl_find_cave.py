"""PPO on MineRL 1.0 (BASALT FindCave) through the bridge — for users with a working MineRL install.

NOT RUNNABLE ON THE JAXCRAFT CI MACHINES: MineRL builds Minecraft with Gradle and needs JDK 8
(`pip install 'jaxcraft[minerl]'`, see docs/bridge.md). The tests only load and validate this
file and build its trainer (the simulators start lazily, on the first update).

    jaxcraft train experiments/minerl_find_cave.py --set bridge.num_workers=8 --set env.num_envs=8

Policy view: `pov` resized to 128×128 in the workers (bridge.frame_size); actions are a
MultiDiscrete of the 20 VPT buttons (binary) + camera pitch/yaw in 11 bins over ±10°
(`bridge.adapters.minerl_env.MineRLActionMap`). Minecraft is slow to start and step: one
simulator per worker, generous timeouts, recurrent policy, ROCKET-3 PPO settings.
"""
from jaxcraft.config import BridgeConfig
from jaxcraft.config import EnvConfig, ExperimentConfig, NetConfig, RunConfig
from jaxcraft.ppo import PPOConfig

CONFIG = ExperimentConfig(
    name="minerl_find_cave",
    env=EnvConfig(name="bridge:minerl:MineRLBasaltFindCave-v0", num_envs=4, rollout_len=128),
    net=NetConfig(kind="cnn", channels=(32, 64, 64), hidden=(512,), core_size=256, activation="relu",
                  separate_critic=False),
    ppo=PPOConfig.rocket3(lr=1e-4, kl_coef=0.0, num_minibatches=1, chunk_len=0),
    run=RunConfig(total_env_steps=2_000_000, updates_per_call=1, checkpoint_every=10, seed=0),
    bridge=BridgeConfig(num_workers=4, recv_batch_size=2, step_timeout=120.0, reset_timeout=600.0,
                        frame_size=128, max_policy_lag=2),
)
