"""Task families as data: one `Family` row per family, read by synthesis, success and teachers.

    approach  get within reach of the target block and look at it (crosshair on it)
    break     destroy the target block (hold attack for its hardness in ticks)
    interact  use the target block (toggle a lever / chest / lamp)
    hunt      kill the target mob

The target is one instance: distractors of the same kind are placed nearby, and only the
target's object id counts (`success`). To add a family, add a row to `FAMILY_TABLE` (and its
name to `bridge.crossview.FAMILIES`, the JAX-free list the observation schema and the Minetest
adapter read, in the same order); task ids keep room for `FAMILY_SLOTS` (bridge.crossview)
families, so the ids of existing families keep their tasks.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bridge.crossview import DISTANCE_SLOTS, DISTANCES, FAMILIES, FAMILY_SLOTS
from jaxcraft.world import blocks as B
from jaxcraft.world import mobs as mobs_lib
from jaxcraft.world.interact import Events

SUCCESS_EVENTS = ("looked", "broke", "used", "killed")   # the interaction events of `success`


class Family(NamedTuple):
    """One task family: what its target is, which event completes it, how a teacher acts on it."""

    name: str
    target: str                     # "block" (a placed block) or "mob" (mob slot 0)
    block_kinds: tuple[str, ...]    # candidate target blocks ("block" families)
    success_event: str              # one of SUCCESS_EVENTS, on the target
    attack: bool                    # teachers hold attack while the target is under the crosshair
    use: bool                       # teachers press use (once) on the target


FAMILY_TABLE = (
    Family("approach", "block", ("pumpkin", "melon", "lamp_off", "chest_closed", "diamond_ore", "gold_ore"),
           "looked", attack=False, use=False),
    Family("break", "block", ("pumpkin", "melon", "oak_log", "gravel"), "broke", attack=True, use=False),
    Family("interact", "block", ("lever_off", "chest_closed", "lamp_off"), "used", attack=False, use=True),
    Family("hunt", "mob", (), "killed", attack=True, use=False),
)
assert tuple(f.name for f in FAMILY_TABLE) == FAMILIES, "bridge.crossview.FAMILIES must list FAMILY_TABLE's names"

APPROACH, BREAK, INTERACT, HUNT = (FAMILIES.index(f) for f in ("approach", "break", "interact", "hunt"))
NUM_FAMILIES = len(FAMILY_TABLE)
NUM_DISTANCES = len(DISTANCES)
assert NUM_FAMILIES <= FAMILY_SLOTS and NUM_DISTANCES <= DISTANCE_SLOTS
DISTANCE_BLOCKS = np.asarray(DISTANCES, np.int32)

# Per-family columns of the table, as arrays indexed by family (jittable lookups).
MOB_TARGET = np.asarray([f.target == "mob" for f in FAMILY_TABLE])
ATTACKS = np.asarray([f.attack for f in FAMILY_TABLE])
USES = np.asarray([f.use for f in FAMILY_TABLE])
SUCCESS_EVENT = np.asarray([SUCCESS_EVENTS.index(f.success_event) for f in FAMILY_TABLE], np.int32)
KINDS_PER_FAMILY = max(len(f.block_kinds) for f in FAMILY_TABLE)
# int32[NUM_FAMILIES, K]: block kind k of family f (rows padded by cycling; mob families: unused pumpkins).
TARGET_BLOCKS = np.asarray([[B.block_id((f.block_kinds or ("pumpkin",))[k % len(f.block_kinds or ("pumpkin",))])
                             for k in range(KINDS_PER_FAMILY)] for f in FAMILY_TABLE], np.int32)
NUM_TARGET_KINDS = np.asarray([mobs_lib.NUM_MOB_KINDS if f.target == "mob" else len(f.block_kinds)
                               for f in FAMILY_TABLE], np.int32)

# Blocks that make up the ground (not plants, crops or placed objects): task scenes stand on these.
GROUND = np.zeros(B.NUM_BLOCKS, bool)
for _name in ("bedrock", "stone", "dirt", "grass", "sand", "sandstone", "snow", "gravel", "coal_ore", "iron_ore",
              "gold_ore", "diamond_ore", "ice", "mossy_stone"):
    GROUND[B.block_id(_name)] = True

for _f in FAMILY_TABLE:   # every broken target can be broken, every used target used
    for _n in _f.block_kinds:
        if _f.success_event == "broke":
            assert B.HARDNESS[B.block_id(_n)] < B.UNBREAKABLE, _n
        if _f.success_event == "used":
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
    return jnp.stack([looked, broke, used, killed])[jnp.asarray(SUCCESS_EVENT)[family]]
