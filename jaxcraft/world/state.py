"""World state pytrees (flax.struct dataclasses): voxels, agent, mobs, mining progress.

Conventions used everywhere in jaxcraft.world:
  * voxel (x, y, z) occupies [x, x+1) × [y, y+1) × [z, z+1); y is up.
  * the voxel grid is indexed blocks[x, y, z]; its flat index is (x * size_y + y) * size_z + z.
  * object ids: 0 = sky/nothing, 1 + flat voxel index = that block, 1 + num_voxels + m = mob m
    (see `ids.py`).
  * yaw 0 looks along +z, yaw grows turning towards +x; pitch > 0 looks up (radians).
"""
from __future__ import annotations

import jax
from flax import struct


@struct.dataclass
class Agent:
    pos: jax.Array          # float32[3], centre of the feet
    vel: jax.Array          # float32[3], blocks/tick
    yaw: jax.Array          # float32, radians
    pitch: jax.Array        # float32, radians, clipped to ±89°
    on_ground: jax.Array    # bool
    prev_use: jax.Array     # bool, `use` was held last tick (use acts on the press only)


@struct.dataclass
class Mobs:
    pos: jax.Array          # float32[M, 3], centre of the feet
    vel_y: jax.Array        # float32[M]
    heading: jax.Array      # float32[M], radians (same convention as yaw)
    walking: jax.Array      # bool[M], wandering or standing still
    health: jax.Array       # float32[M]
    alive: jax.Array        # bool[M]
    kind: jax.Array         # int32[M], index into mobs.MOB_KINDS


@struct.dataclass
class WorldState:
    blocks: jax.Array       # uint8[X, Y, Z], block ids (blocks.py)
    skip: jax.Array         # uint8[X, Y, Z], empty-space distances for ray marching (voxels.py)
    biome: jax.Array        # uint8[X, Z], biome id per column (biomes.py)
    agent: Agent
    mobs: Mobs
    mining_voxel: jax.Array     # int32, flat index of the block being mined, -1 if none
    mining_progress: jax.Array  # int32, consecutive attack ticks on it
    time: jax.Array             # int32, ticks since reset
