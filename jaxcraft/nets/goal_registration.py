"""Registers the goal-conditioned net with `jaxcraft.registry`.

    net.kind = "goal_cnn"   `GoalConditionedActorCritic` over obs {"rgb", "goal_rgb",
                            "goal_mask", "family"} + the factorised action head

Presets: `jaxcraft.nets.goal.small_net_config()` (CPU) and `large_net_config()` (accelerators).
"""
from __future__ import annotations

from jaxcraft.nets.goal import GoalConditionedActorCritic
from jaxcraft.registry import action_distribution, register_net


def _goal_cnn(config, observation_space, action_space):
    return GoalConditionedActorCritic(num_logits=action_distribution(action_space).num_logits,
                                      channels=tuple(config.channels), hidden=tuple(config.hidden),
                                      core_size=config.core_size, act=config.activation,
                                      aux_heads=config.aux_heads, fusion=config.goal_fusion,
                                      separate_critic=config.separate_critic)


register_net("goal_cnn", _goal_cnn)
