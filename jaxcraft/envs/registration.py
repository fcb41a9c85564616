"""gymnax's environments under the prefix id `gymnax:`, registered by `register`.

    env.name = "gymnax:CartPole-v1", "gymnax:Breakout-MinAtar", …  any `gymnax.registered_envs` id
"""
from __future__ import annotations


def gymnax_env(config):
    """`factory(experiment_config) -> (env, params)` of `gymnax:<id>`."""
    import gymnax

    gid = config.env.name.split(":", 1)[1]
    if gid not in gymnax.registered_envs:
        raise ValueError(f"env.name={config.env.name!r}: unknown gymnax id; known: {', '.join(gymnax.registered_envs)}")
    return gymnax.make(gid)


def register(envs) -> None:
    envs.register("gymnax:", gymnax_env)
