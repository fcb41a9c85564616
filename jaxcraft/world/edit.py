"""Editing a world for task scenes (reset time, not per step): blocks, mobs, the agent.

All functions are pure and jittable; positions are world coordinates (feet for bodies).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxcraft.world import blocks as B
from jaxcraft.world.camera import Camera
from jaxcraft.world.params import WorldStatic
from jaxcraft.world.physics import EYE_HEIGHT, SKIN
from jaxcraft.world.state import Agent, Mobs, WorldState
from jaxcraft.world.voxels import SOLID_TABLE, compute_skip, refresh_skip, set_blocks

__all__ = ["set_blocks", "refresh_skip", "place_mob", "place_agent", "surface_height", "agent_camera",
           "standing_position", "empty_world"]


def surface_height(state: WorldState) -> jax.Array:
    """int32[X, Z]: y of the first air voxel above the highest solid one in each column."""
    solid = SOLID_TABLE[state.blocks]                       # [X, Y, Z]
    y = jnp.arange(state.blocks.shape[1])[None, :, None]
    return jnp.max(jnp.where(solid, y + 1, 0), axis=1).astype(jnp.int32)


def place_mob(state: WorldState, slot, kind, pos, health=None) -> WorldState:
    """Put a living mob of `kind` (mobs.MOB_KINDS index) in `slot` with its feet at pos[3]."""
    m = state.mobs
    health = m.health[slot] if health is None else health
    mobs = m.replace(pos=m.pos.at[slot].set(jnp.asarray(pos, jnp.float32)),
                     vel_y=m.vel_y.at[slot].set(0.0), kind=m.kind.at[slot].set(jnp.asarray(kind, jnp.int32)),
                     health=m.health.at[slot].set(health), alive=m.alive.at[slot].set(True),
                     walking=m.walking.at[slot].set(False))
    return state.replace(mobs=mobs)


def place_agent(state: WorldState, pos, yaw=None, pitch=None) -> WorldState:
    """Teleport the agent (feet at pos[3]); optionally set its view."""
    a = state.agent
    a = a.replace(pos=jnp.asarray(pos, jnp.float32), vel=jnp.zeros((3,), jnp.float32),
                  yaw=a.yaw if yaw is None else jnp.asarray(yaw, jnp.float32),
                  pitch=a.pitch if pitch is None else jnp.asarray(pitch, jnp.float32))
    return state.replace(agent=a, mining_voxel=jnp.asarray(-1, jnp.int32), mining_progress=jnp.zeros((), jnp.int32))


def agent_camera(state: WorldState) -> Camera:
    """The agent's first-person camera (eye 1.62 blocks above the feet)."""
    a = state.agent
    return Camera(a.pos + jnp.asarray([0.0, EYE_HEIGHT, 0.0], jnp.float32), a.yaw, a.pitch)


def standing_position(state: WorldState, x, z) -> jax.Array:
    """float32[3] feet position on top of column (x, z) (block centre)."""
    h = surface_height(state)[x, z]
    return jnp.stack([jnp.asarray(x, jnp.float32) + 0.5, h + SKIN, jnp.asarray(z, jnp.float32) + 0.5])


def empty_world(static: WorldStatic, health: float = 4.0) -> WorldState:
    """An all-air world (no bedrock), all mob slots dead, agent at the centre, yaw = pitch = 0.
    The starting point for hand-built scenes (tests, task scenes): add blocks with `set_blocks`."""
    M = static.max_mobs
    blocks = jnp.zeros(static.shape, jnp.uint8)
    agent = Agent(pos=jnp.asarray([static.size_x / 2, 1.0, static.size_z / 2], jnp.float32),
                  vel=jnp.zeros((3,), jnp.float32), yaw=jnp.zeros((), jnp.float32), pitch=jnp.zeros((), jnp.float32),
                  on_ground=jnp.zeros((), bool), prev_use=jnp.zeros((), bool))
    mobs = Mobs(pos=jnp.zeros((M, 3), jnp.float32), vel_y=jnp.zeros((M,), jnp.float32),
                heading=jnp.zeros((M,), jnp.float32), walking=jnp.zeros((M,), bool),
                health=jnp.full((M,), health, jnp.float32), alive=jnp.zeros((M,), bool),
                kind=jnp.zeros((M,), jnp.int32))
    return WorldState(blocks=blocks, skip=compute_skip(blocks), biome=jnp.zeros((static.size_x, static.size_z), jnp.uint8),
                      agent=agent, mobs=mobs, mining_voxel=jnp.asarray(-1, jnp.int32),
                      mining_progress=jnp.zeros((), jnp.int32), time=jnp.zeros((), jnp.int32))
