"""The world and the cross-view tasks as gymnasium environments, and demos as Minari datasets.

    ids.py     gymnasium ids (JaxCraft-World-v0, JaxCraft-{Approach,…}-v0), their options and spaces
    names.py   the ids' registration, JAX-free: `import jaxcraft` makes it
    vec.py     `make_vec`: a `gymnasium.vector.VectorEnv` stepping the whole batch in one jitted call
    single.py  one env (`gymnasium.make`)          hook.py  `gymnasium.make_vec("jaxcraft.gym.hook:<id>")`
    minari.py  demos ⇄ Minari datasets (`jaxcraft demos --format minari`, `--demos minari:NAME`)
This package sits beside `jaxcraft.build` (it builds envs from task/world configs); nothing
below it imports it.
"""
