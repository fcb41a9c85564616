"""PPO in the JaxCraft 3D world on its built-in reward, with the world stepped in worker processes.

    jaxcraft train experiments/world_bridged.py

The same task, network and PPO settings as `experiments/world_builtin.py` (break blocks, hunt
mobs, use levers; 64×64 first-person RGB; 9 buttons + 11×11 camera bins; 600-step episodes,
truncated and bootstrapped), but through the bridge (`env.name = "bridge:jaxcraft-world"`,
`jaxcraft.world.bridge_sim`): each env is one world in a worker process, stepped one at a time
by its own jitted reset/step, and the learner trains on the fragments the actor assembles
(docs/bridged.md). It exists to compare the two paths on the same simulator: fused (the world
batched and vmapped inside the jitted train step, no host round trips) vs bridged (how an
external simulator such as Crafter or Minecraft is trained). `benchmarks/bridged_training.py`
measures both at the same env count and rollout length.

Differences forced by the bridge: no reset pool (a worker regenerates a world when its episode
ends, ~3–5 ms every 600 steps) and fewer envs (16, like `crafter_ppo.py`; the worlds share 2
worker processes with the learner). Simulators keep stepping while the learner updates
(policy lag ≤ 2, reported).
"""
from jaxcraft.config import BridgeConfig
from jaxcraft.config import EnvConfig, ExperimentConfig, NetConfig, RunConfig
from jaxcraft.ppo import PPOConfig

CONFIG = ExperimentConfig(
    name="world_bridged",
    # 16 worlds × 64 steps per update (world_builtin: 64 × 64); the world's 600-step time limit.
    env=EnvConfig(name="bridge:jaxcraft-world", num_envs=16, rollout_len=64),
    # Identical to world_builtin: stride-2 convs on 64×64 frames, a GRU core, shared actor/critic torso.
    net=NetConfig(kind="world_cnn", channels=(16, 32), hidden=(256,), core_size=128, activation="relu",
                  separate_critic=False),
    ppo=PPOConfig(lr=3e-4, num_epochs=2, num_minibatches=2, chunk_len=32, gamma=0.99, ent_coef=0.01),
    run=RunConfig(total_env_steps=131_072, updates_per_call=4, checkpoint_every=64),
    # 2 worker processes × 8 worlds; the actor acts on the first 8 ready envs (async).
    bridge=BridgeConfig(num_workers=2, recv_batch_size=8, max_policy_lag=2, frame_size=64),
)
