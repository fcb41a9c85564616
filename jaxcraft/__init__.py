"""jaxcraft: JAX-native RL for visuomotor agents in Minecraft-like 3D worlds."""
__version__ = "0.1.0"


def _register_gymnasium_ids() -> None:
    """`gymnasium.make("JaxCraft-Approach-v0")` / `make_vec` work after `import jaxcraft` (cheap:
    imports gymnasium, not JAX; see jaxcraft/gym/names.py)."""
    try:
        from jaxcraft.gym.names import register
    except ImportError:  # gymnasium missing: nothing to register with
        return
    register()


_register_gymnasium_ids()


def make_vec(env_id: str, num_envs: int = 8, **kwargs):
    """A `gymnasium.vector.VectorEnv` of `num_envs` JaxCraft envs stepped in one jitted call.

    Ids: JaxCraft-World-v0, JaxCraft-CrossView-v0, JaxCraft-{Approach,Break,Interact,Hunt}-v0.
    See `jaxcraft.gym.vec` for the options and the auto-reset semantics (gymnasium's NEXT_STEP).
    """
    from jaxcraft.gym.vec import make_vec as _make_vec

    return _make_vec(env_id, num_envs=num_envs, **kwargs)
