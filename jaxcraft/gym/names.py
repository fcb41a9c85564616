"""The JaxCraft gymnasium ids and their registration, importable without JAX.

`import jaxcraft` calls `register()`, so `gymnasium.make("JaxCraft-Approach-v0")` and
`gymnasium.make_vec(...)` work after it, as gymnasium users expect (gymnasium 1.x loads no
plugins from package entry points). This module imports only gymnasium: the envs behind the
entry points (`jaxcraft.gym.single`, `jaxcraft.gym.vec`) are imported when an id is made.
`jaxcraft.gym.ids.ENV_IDS` (with the families of each id) is the source of truth; a test
keeps `GYM_IDS` equal to its keys.
"""
from __future__ import annotations

GYM_IDS = ("JaxCraft-World-v0", "JaxCraft-CrossView-v0", "JaxCraft-Approach-v0", "JaxCraft-Break-v0",
           "JaxCraft-Interact-v0", "JaxCraft-Hunt-v0")


def register() -> tuple[str, ...]:
    """Register every JaxCraft id with gymnasium (idempotent); returns the ids."""
    from gymnasium.envs.registration import register as gym_register, registry

    for env_id in GYM_IDS:
        if env_id not in registry:
            gym_register(id=env_id, entry_point="jaxcraft.gym.single:JaxCraftGymEnv",
                         vector_entry_point="jaxcraft.gym.vec:JaxCraftVectorEnv", kwargs={"env_id": env_id})
    return GYM_IDS
