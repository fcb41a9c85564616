"""gymnasium's `module:id` hook: `gymnasium.make_vec("jaxcraft.gym.hook:JaxCraft-Approach-v0", 8)`.

gymnasium imports the module named before the colon and then looks the id up; gymnasium 1.x
reads no package entry points, so this module's only job is to call
`register_gymnasium_envs()` when gymnasium imports it. `import jaxcraft` registers the ids
too (`jaxcraft.register_gymnasium_ids`), so plain `gymnasium.make_vec("JaxCraft-Approach-v0", 8)` works
after it.
"""
from jaxcraft.gym.ids import register_gymnasium_envs

ENV_IDS = register_gymnasium_envs()
