"""jaxcraft: JAX-native RL for visuomotor agents in Minecraft-like 3D worlds."""
__version__ = "0.1.0"


# The gymnasium ids, registered here so that `gymnasium.make("JaxCraft-Approach-v0")` / `make_vec`
# work after `import jaxcraft` (gymnasium 1.x loads no plugins from package entry points). Kept in
# this file, not a submodule, so that importing `jaxcraft.ppo` still loads no other jaxcraft module;
# only gymnasium is imported (not JAX): the envs behind the entry points load when an id is made.
# `jaxcraft.gym.ids.ENV_IDS` (the families of each id) is the source of truth; a test keeps them equal.
GYM_IDS = ("JaxCraft-World-v0", "JaxCraft-CrossView-v0", "JaxCraft-Approach-v0", "JaxCraft-Break-v0",
           "JaxCraft-Interact-v0", "JaxCraft-Hunt-v0")


def register_gymnasium_ids() -> tuple[str, ...]:
    """Register every JaxCraft id with gymnasium (idempotent); returns the ids ( () without gymnasium)."""
    try:
        from gymnasium.envs.registration import register, registry
    except ImportError:  # gymnasium missing: nothing to register with
        return ()
    for env_id in GYM_IDS:
        if env_id not in registry:
            register(id=env_id, entry_point="jaxcraft.gym.single:JaxCraftGymEnv",
                     vector_entry_point="jaxcraft.gym.vec:JaxCraftVectorEnv", kwargs={"env_id": env_id})
    return GYM_IDS


register_gymnasium_ids()


def make_vec(env_id: str, num_envs: int = 8, **kwargs):
    """A `gymnasium.vector.VectorEnv` of `num_envs` JaxCraft envs stepped in one jitted call.

    Ids: JaxCraft-World-v0, JaxCraft-CrossView-v0, JaxCraft-{Approach,Break,Interact,Hunt}-v0.
    See `jaxcraft.gym.vec` for the options and the auto-reset semantics (gymnasium's NEXT_STEP).
    """
    from jaxcraft.gym.vec import make_vec as _make_vec   # lazy: `import jaxcraft` loads nothing (tests/test_layers.py)

    return _make_vec(env_id, num_envs=num_envs, **kwargs)


def load_policy(path, experiment=None, step=None):
    """The policy of any saved run (a run directory, or params saved by `jaxcraft pretrain`):
    `policy.act(obs, key)` on batched observations. See `jaxcraft.restore.load_policy`."""
    from jaxcraft.restore import load_policy as _load_policy   # lazy: `import jaxcraft` loads nothing

    return _load_policy(path, experiment, step)
