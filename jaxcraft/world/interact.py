"""What the crosshair touches: looked-at block or mob within reach, mining, attacking, using.

Minecraft rules, simplified: holding `attack` on the same block for `hardness` consecutive
ticks breaks it (switching target or releasing restarts the count); each attack tick on a
mob takes 1 health; pressing `use` (on the press, not while held) toggles an interactable.
Every event names its exact target so tasks can judge success on one specific object.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxcraft.world import blocks as B
from jaxcraft.world import mobs as mobs_lib
from jaxcraft.world.camera import Camera, basis
from jaxcraft.world.ids import mob_id
from jaxcraft.world.params import WorldParams, WorldStatic
from jaxcraft.world.render import cast
from jaxcraft.world.state import WorldState
from jaxcraft.world.voxels import remove_block

CROSSHAIR_STEPS = 16   # enough voxel crossings for a 4.5-block reach


class Target(NamedTuple):
    obj_id: jax.Array    # int32 object id under the crosshair within reach (0: none)
    voxel: jax.Array     # int32 flat voxel index, -1 if the target is not a block
    mob: jax.Array       # int32 mob slot, -1 if the target is not a mob
    distance: jax.Array  # float32 distance from the eye (inf if none)


class Events(NamedTuple):
    broken_voxel: jax.Array   # int32 flat index of the block broken this tick, -1 if none
    broken_block: jax.Array   # int32 its kind before breaking, -1 if none
    used_voxel: jax.Array     # int32 flat index of the block used this tick, -1 if none
    used_block: jax.Array     # int32 its kind before use, -1 if none
    hit_mob: jax.Array        # int32 mob slot attacked this tick, -1 if none
    killed_mob: jax.Array     # int32 mob slot killed this tick, -1 if none
    target_id: jax.Array      # int32 object id under the crosshair within reach, 0 if none


def crosshair_target(static: WorldStatic, state: WorldState, cam: Camera, reach: jax.Array) -> Target:
    """The block or mob at the screen centre, if within `reach` of the eye."""
    _, _, fwd = basis(cam.yaw, cam.pitch)
    dirs = tuple(fwd[a][None] for a in range(3))          # unit length: t is distance
    t, oid, _ = cast(static, state, cam.pos, dirs, CROSSHAIR_STEPS)
    t, oid = t[0], oid[0]
    ok = (oid > 0) & (t <= reach)
    oid = jnp.where(ok, oid, 0)
    is_mob = oid > static.num_voxels
    return Target(obj_id=oid,
                  voxel=jnp.where(ok & ~is_mob, oid - 1, -1),
                  mob=jnp.where(ok & is_mob, oid - 1 - static.num_voxels, -1),
                  distance=jnp.where(ok, t, jnp.inf))


def interact(static: WorldStatic, params: WorldParams, state: WorldState, target: Target,
             attack: jax.Array, use: jax.Array) -> tuple[WorldState, Events]:
    """Apply attack/use to the target; returns the new state and this tick's events."""
    flat_blocks = state.blocks.reshape(-1)
    kind = jnp.where(target.voxel >= 0, flat_blocks[jnp.maximum(target.voxel, 0)], B.AIR).astype(jnp.int32)

    # Mining: count consecutive attack ticks on the same voxel.
    mining = attack & (target.voxel >= 0)
    progress = jnp.where(mining, jnp.where(target.voxel == state.mining_voxel, state.mining_progress + 1, 1), 0)
    broken = mining & (progress >= params.hardness[kind])
    state = remove_block(state, target.voxel, broken)
    state = state.replace(mining_voxel=jnp.where(mining & ~broken, target.voxel, -1),
                          mining_progress=jnp.where(broken, 0, progress))

    # Attacking a mob.
    hitting = attack & (target.mob >= 0)
    mobs, killed = mobs_lib.damage(state.mobs, target.mob, 1.0, hitting)
    state = state.replace(mobs=mobs)

    # Using an interactable (on the press only).
    pressed = use & ~state.agent.prev_use
    usable = jnp.asarray(B.INTERACTABLE)[kind]
    used = pressed & (target.voxel >= 0) & usable
    new_kind = jnp.asarray(B.USE_RESULT)[kind].astype(jnp.uint8)
    idx = jnp.where(used, target.voxel, state.blocks.size)
    blocks = state.blocks.reshape(-1).at[idx].set(new_kind, mode="drop").reshape(state.blocks.shape)
    state = state.replace(blocks=blocks, agent=state.agent.replace(prev_use=use))

    none = jnp.asarray(-1, jnp.int32)
    events = Events(
        broken_voxel=jnp.where(broken, target.voxel, none), broken_block=jnp.where(broken, kind, none),
        used_voxel=jnp.where(used, target.voxel, none), used_block=jnp.where(used, kind, none),
        hit_mob=jnp.where(hitting, target.mob, none), killed_mob=jnp.where(killed, target.mob, none),
        target_id=target.obj_id)
    return state, events
