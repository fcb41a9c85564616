"""Recurrent PPO on a task that needs memory: bsuite's MemoryChain (gymnax `MemoryChain-bsuite`).

The context bit (±1) is shown only at an episode's first step; `memory_length` steps later the
agent must act on it: +1 for the right action, −1 for the wrong one, 0 before. A feed-forward
policy sees nothing of the bit at the last step, so its expected return is 0 (chance); a policy
whose GRU carries the bit reaches 1. `net.core_size=0` gives the feed-forward control:

    jaxcraft train experiments/memory_chain.py                                    # GRU core of 64
    jaxcraft train experiments/memory_chain.py --set net.core_size=0 --run-dir runs/memory_chain_ff

PureJaxRL `ppo_rnn.py`-style settings (128-step rollouts, 4 epochs × 4 minibatches, lr 2.5e-4,
GAE 0.95, clip 0.2, entropy 0.01) with 16 envs so an update holds ~180 episodes; a recurrent
net trains on 32-step chunks, each from the hidden state stored when it was collected.
"""
from jaxcraft.config import EnvConfig, ExperimentConfig, NetConfig, RunConfig
from jaxcraft.ppo import PPOConfig

MEMORY_LENGTH = 10

CONFIG = ExperimentConfig(
    name="memory_chain",
    env=EnvConfig(name="gymnax:MemoryChain-bsuite", num_envs=16, rollout_len=128,
                  env_params=(f"memory_length={MEMORY_LENGTH}",)),
    net=NetConfig(kind="mlp", hidden=(64,), core_size=64, activation="tanh", separate_critic=False),
    ppo=PPOConfig(lr=2.5e-4, anneal_lr=True, num_epochs=4, num_minibatches=4, chunk_len=32, gamma=0.99,
                  gae_lambda=0.95, clip_eps=0.2, ent_coef=0.01, vf_coef=0.5, max_grad_norm=0.5),
    run=RunConfig(total_env_steps=1_048_576, updates_per_call=16, checkpoint_every=256, seed=0),
)
