"""The built-in network kinds, registered into `jaxcraft.registry.NETS` by `register`.

    mlp        MLPEncoder → ActorCritic (vector observations)
    cnn        CNNEncoder → ActorCritic (image observations)
    world_cnn  CNN over obs["rgb"] (the JaxCraft world's dict observation) → ActorCritic
    goal_cnn   GoalConditionedActorCritic over the cross-view observation schema
               (`bridge.crossview`: {"rgb", "goal_rgb", "goal_mask", "family"} [+ value-only "privileged"])

Every factory is `factory(net_config, observation_space, action_space) -> module` and reads
the number of logits from the action space (and goal_cnn its number of families, goal size and
privileged size from the observation space, whose fields the schema names).
"""
from __future__ import annotations

import functools
from typing import Any

import numpy as np

from bridge import crossview as X
from jaxcraft.envs.spaces import action_distribution
from jaxcraft.nets.actor_critic import ActorCritic
from jaxcraft.nets.encoders import CNNEncoder, DictEncoder, MLPEncoder
from jaxcraft.nets.goal import GoalConditionedActorCritic


def _actor_critic(config, action_space, make_encoder) -> ActorCritic:
    return ActorCritic(make_encoder=make_encoder, num_logits=action_distribution(action_space).num_logits,
                       core_size=config.core_size, act=config.activation, separate_critic=config.separate_critic,
                       value_bins=config.value_bins, **_core_fields(config))


def _core_fields(config) -> dict:
    """The net's core (jaxcraft.nets.recurrent.make_core), read by both net families."""
    return dict(core_kind=config.core, core_memory=config.core_memory, core_layers=config.core_layers,
                core_heads=config.core_heads)


def mlp(config, observation_space, action_space) -> ActorCritic:
    return _actor_critic(config, action_space, functools.partial(MLPEncoder, hidden=config.hidden, act=config.activation))


def cnn(config, observation_space, action_space) -> ActorCritic:
    return _actor_critic(config, action_space, functools.partial(CNNEncoder, channels=config.channels,
                                                                 hidden=config.hidden, act=config.activation))


def world_cnn(config, observation_space, action_space) -> ActorCritic:
    encoder = CNNEncoder(channels=config.channels, hidden=config.hidden, act=config.activation)
    return _actor_critic(config, action_space, functools.partial(DictEncoder, key=X.RGB, encoder=encoder))


def _num_families(observation_space: Any) -> int:
    """Families from the observation space's `family` field (Discrete(n)); the family table's when it has none."""
    family = observation_space.get(X.FAMILY) if isinstance(observation_space, dict) else None
    n = getattr(family, "n", None)   # a Discrete space of any library (jaxcraft's, gymnax's, gymnasium's)
    return int(n) if n is not None else len(X.FAMILIES)


def _goal_map_cells(observation_space: Any, layers: int, first_stride: int = 2) -> int:
    """Cells of the goal torso's map (`layers` 3×3 SAME convs, stride 2 — each halves H and W, rounding
    up — except a stride-1 first layer)."""
    goal = observation_space.get(X.GOAL_RGB) if isinstance(observation_space, dict) else None
    if goal is None:
        return 0
    h, w = goal.shape[:2]
    for i in range(layers):
        if i or first_stride == 2:
            h, w = (h + 1) // 2, (w + 1) // 2
    return h * w


def _privileged_dim(observation_space: Any) -> int:
    """Size of the value-only `privileged` observation (the schema's value-only key); 0 without one."""
    space = observation_space.get(X.PRIVILEGED) if isinstance(observation_space, dict) else None
    return int(np.prod(space.shape)) if space is not None else 0


def goal_cnn(config, observation_space, action_space) -> GoalConditionedActorCritic:
    return GoalConditionedActorCritic(num_logits=action_distribution(action_space).num_logits,
                                      channels=tuple(config.channels), hidden=tuple(config.hidden),
                                      core_size=config.core_size, act=config.activation, **_core_fields(config),
                                      aux_heads=config.goal.aux_heads, fusion=config.goal.fusion,
                                      goal_table=config.goal.goal_table, separate_critic=config.separate_critic,
                                      value_stop_gradient=config.goal.value_stop_gradient,
                                      bearing_head=config.goal.bearing_head,
                                      value_bins=config.value_bins, spatial_dim=config.goal.spatial_dim,
                                      spatial_layers=config.goal.spatial_layers, first_stride=config.goal.first_stride,
                                      privileged_dim=_privileged_dim(observation_space) if config.goal.privileged_critic else 0,
                                      goal_tokens=_goal_map_cells(observation_space,
                                                                  config.goal.spatial_layers or len(config.channels) - 1,
                                                                  config.goal.first_stride),
                                      num_families=_num_families(observation_space))


def register(nets) -> None:
    """Register the built-in kinds into `nets` (a `jaxcraft.registry.Registry`)."""
    for name, factory in (("mlp", mlp), ("cnn", cnn), ("world_cnn", world_cnn), ("goal_cnn", goal_cnn)):
        nets.register(name, factory)
