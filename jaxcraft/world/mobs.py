"""Passive mobs: kinds as data, random wandering with the shared box physics, damage, death.

Each mob slot holds one animal; dead slots stay dead (hidden, frozen) until reset.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxcraft.world import physics, rng
from jaxcraft.world.params import WorldParams, WorldStatic
from jaxcraft.world.state import Mobs


class MobKind(NamedTuple):
    name: str
    half_width: float   # <= 0.5 (physics limit)
    height: float       # <= 2.0
    colour: tuple[int, int, int]


MOB_KINDS: tuple[MobKind, ...] = (
    MobKind("pig", 0.45, 0.9, (240, 160, 160)),
    MobKind("cow", 0.45, 1.4, (90, 60, 40)),
    MobKind("sheep", 0.45, 1.3, (235, 235, 235)),
    MobKind("chicken", 0.2, 0.7, (250, 250, 120)),
)
NUM_MOB_KINDS = len(MOB_KINDS)
MOB_KIND_ID = {k.name: i for i, k in enumerate(MOB_KINDS)}
HALF_WIDTH = np.asarray([k.half_width for k in MOB_KINDS], np.float32)
HEIGHT = np.asarray([k.height for k in MOB_KINDS], np.float32)
COLOUR = np.asarray([k.colour for k in MOB_KINDS], np.float32) / 255.0
assert (HALF_WIDTH <= 0.5).all() and (HEIGHT <= 2.0).all(), "mob boxes exceed the physics limits"

TURN_PROB = 0.03   # per tick: pick a new heading / walk-or-stand


def mob_boxes(mobs: Mobs) -> tuple[jax.Array, jax.Array]:
    """(lo, hi) float32[M, 3] world-space boxes of the mob slots."""
    hw = jnp.asarray(HALF_WIDTH)[mobs.kind]
    h = jnp.asarray(HEIGHT)[mobs.kind]
    ext_lo = jnp.stack([hw, jnp.zeros_like(hw), hw], -1)
    ext_hi = jnp.stack([hw, h, hw], -1)
    return mobs.pos - ext_lo, mobs.pos + ext_hi


def _one_mob(static, blocks, params: WorldParams, u, pos, vel_y, heading, walking, kind, alive):
    turn = u[0] < TURN_PROB
    heading = jnp.where(turn, (2.0 * u[1] - 1.0) * jnp.pi, heading)
    walking = jnp.where(turn, u[2] < 0.6, walking)
    fwd, _ = physics.horizontal_heading(heading)
    speed = jnp.where(walking, params.mob_speed, 0.0)
    vel = jnp.stack([fwd[0] * speed, vel_y, fwd[2] * speed])
    hw = jnp.asarray(HALF_WIDTH)[kind]
    h = jnp.asarray(HEIGHT)[kind]
    new_pos, new_vel, on_ground, hit_wall = physics.move_body(
        static, blocks, pos, vel, hw, h, params.gravity, params.drag)
    # Hop up one-block steps the way Minecraft animals do.
    new_vel = new_vel.at[1].set(jnp.where(on_ground & hit_wall, params.jump_velocity, new_vel[1]))
    pos = jnp.where(alive, new_pos, pos)
    return pos, jnp.where(alive, new_vel[1], vel_y), heading, walking


def step_mobs(static: WorldStatic, blocks: jax.Array, params: WorldParams, key: jax.Array, mobs: Mobs) -> Mobs:
    """Wander every living mob one tick."""
    u = rng.uniform(rng.seeds(key, 1)[0], (mobs.pos.shape[0], 3))
    pos, vel_y, heading, walking = jax.vmap(_one_mob, in_axes=(None, None, None, 0, 0, 0, 0, 0, 0, 0))(
        static, blocks, params, u, mobs.pos, mobs.vel_y, mobs.heading, mobs.walking, mobs.kind, mobs.alive)
    return mobs.replace(pos=pos, vel_y=vel_y, heading=heading, walking=walking)


def damage(mobs: Mobs, slot: jax.Array, amount: jax.Array, do: jax.Array) -> tuple[Mobs, jax.Array]:
    """Take `amount` health from mob `slot` when `do`; returns (mobs, killed: bool)."""
    hit = do & (jnp.arange(mobs.alive.shape[0]) == slot) & mobs.alive
    health = mobs.health - jnp.where(hit, amount, 0.0)
    dies = hit & (health <= 0)
    return mobs.replace(health=health, alive=mobs.alive & ~dies), jnp.any(dies)
