"""Task families as data: what the target is and which event counts as success.

    approach  get within reach of the target block and look at it (crosshair on it)
    break     destroy the target block (hold attack for its hardness in ticks)
    interact  use the target block (toggle a lever / chest / lamp)
    hunt      kill the target mob

The target is one instance: distractors of the same kind are placed nearby, and only the
target's object id counts (`success`).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxcraft.tasks.config import DISTANCES, FAMILIES
from jaxcraft.world import blocks as B
from jaxcraft.world import mobs as mobs_lib
from jaxcraft.world.interact import Events

APPROACH, BREAK, INTERACT, HUNT = (FAMILIES.index(f) for f in ("approach", "break", "interact", "hunt"))
NUM_FAMILIES = len(FAMILIES)
NUM_DISTANCES = len(DISTANCES)
DISTANCE_BLOCKS = np.asarray(DISTANCES, np.int32)

# Target block kinds per family (hunt targets are mobs: any of mobs.MOB_KINDS).
_KINDS = {
    "approach": ("pumpkin", "melon", "lamp_off", "chest_closed", "diamond_ore", "gold_ore"),
    "break": ("pumpkin", "melon", "oak_log", "gravel"),
    "interact": ("lever_off", "chest_closed", "lamp_off"),
    "hunt": ("pumpkin",),  # unused: the target is a mob
}
KINDS_PER_FAMILY = max(len(v) for v in _KINDS.values())
# int32[NUM_FAMILIES, K]: block kind k of family f (rows padded by cycling their entries).
TARGET_BLOCKS = np.asarray([[B.block_id(_KINDS[f][k % len(_KINDS[f])]) for k in range(KINDS_PER_FAMILY)]
                            for f in FAMILIES], np.int32)
NUM_TARGET_KINDS = np.asarray([len(_KINDS[f]) if f != "hunt" else mobs_lib.NUM_MOB_KINDS for f in FAMILIES], np.int32)

# Blocks that make up the ground (not plants, crops or placed objects): task scenes stand on these.
GROUND = np.zeros(B.NUM_BLOCKS, bool)
for _name in ("bedrock", "stone", "dirt", "grass", "sand", "sandstone", "snow", "gravel", "coal_ore", "iron_ore",
              "gold_ore", "diamond_ore", "ice", "mossy_stone"):
    GROUND[B.block_id(_name)] = True

for _f, _names in _KINDS.items():   # every break target can be broken, every interact target used
    for _n in _names:
        if _f == "break":
            assert B.HARDNESS[B.block_id(_n)] < B.UNBREAKABLE, _n
        if _f == "interact":
            assert B.INTERACTABLE[B.block_id(_n)], _n


def success(family: jax.Array, events: Events, target_id: jax.Array, target_voxel: jax.Array,
            target_mob: jax.Array) -> jax.Array:
    """bool: this tick's events complete the task on the target (never on a distractor).

    target_voxel: flat voxel index (-1 for mob targets); target_mob: mob slot (-1 for blocks).
    """
    looked = (events.target_id == target_id) & (target_id > 0)
    broke = (events.broken_voxel == target_voxel) & (target_voxel >= 0)
    used = (events.used_voxel == target_voxel) & (target_voxel >= 0)
    killed = (events.killed_mob == target_mob) & (target_mob >= 0)
    return jnp.stack([looked, broke, used, killed])[family]
