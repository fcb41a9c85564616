"""Registers the JaxCraft world with `jaxcraft.registry`.

    env.name = "jaxcraft:world"   the world with its built-in reward (breaking blocks, killing
                                  mobs, using interactables) until goal-conditioned tasks land
    net.kind = "world_cnn"        CNN over obs["rgb"] + the factorised VPT-like action head
"""
from __future__ import annotations

import functools

from jaxcraft.nets import ActorCritic, CNNEncoder, DictEncoder
from jaxcraft.registry import action_distribution, register_env, register_net
from jaxcraft.world.env import JaxCraftEnv
from jaxcraft.world.params import WorldStatic


def _world(config):
    env = JaxCraftEnv(WorldStatic())
    return env, env.default_params


def _world_cnn(config, observation_space, action_space):
    dist = action_distribution(action_space)
    make = functools.partial(DictEncoder, key="rgb",
                             encoder=CNNEncoder(channels=config.channels, hidden=config.hidden, act=config.activation))
    return ActorCritic(make_encoder=make, num_logits=dist.num_logits, core_size=config.core_size,
                       act=config.activation, separate_critic=config.separate_critic)


register_env("jaxcraft:world", _world)
register_net("world_cnn", _world_cnn)
