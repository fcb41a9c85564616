"""Functional, gymnax-compatible environment protocol and batched auto-reset."""
from jaxcraft.envs.base import Environment, EnvStep, step_without_reset
from jaxcraft.envs.spaces import Box, Discrete, MultiDiscrete, Space
from jaxcraft.envs.batched import BatchedEnv, BatchedEnvState

__all__ = [
    "Environment", "EnvStep", "step_without_reset",
    "Box", "Discrete", "MultiDiscrete", "Space",
    "BatchedEnv", "BatchedEnvState",
]
