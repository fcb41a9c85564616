"""The JaxCraft world's env id, registered into `jaxcraft.registry.ENVS` by `register`.

    env.name = "jaxcraft:world"   the world with its built-in reward (breaking blocks, killing
                                  mobs, using interactables); its net is `net.kind="world_cnn"`
"""
from __future__ import annotations

from jaxcraft.world.env import JaxCraftEnv
from jaxcraft.world.params import WorldStatic


def world(config):
    """`factory(experiment_config) -> (env, params)` of the built-in world."""
    env = JaxCraftEnv(WorldStatic())
    return env, env.default_params


def register(envs) -> None:
    envs.register("jaxcraft:world", world)
