"""Task synthesis from a task id: world, target, distractors, goal camera, agent spawn.

A straight, branchless pipeline (ROCKET-3's synthesis steps, with an exact mask):
  id → (seed, distance, family) → world from the split's seed domain and biomes
     → target column p₀ and agent column at exactly the Manhattan spawn distance
     → a flat "plaza" of ground around p₀ with the target on it (a block, or mob slot 0)
     → distractors of the same kind 4–10 blocks away
     → goal camera that sees the target unoccluded → goal image + exact mask
     → agent on the surface with a random heading.
The same id always gives the same task (for the same world/task shapes).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxcraft.tasks import families as F
from jaxcraft.tasks.goal_camera import goal_camera, render_views
from jaxcraft.tasks.params import SEEDS_PER_SPLIT, TaskEnvParams, TaskStatic
from jaxcraft.tasks.state import Task, TaskState
from jaxcraft.world import blocks as B
from jaxcraft.world import mobs as mobs_lib
from jaxcraft.world import rng
from jaxcraft.world.edit import agent_camera, surface_height
from jaxcraft.world.ids import flat_index, mob_id, unflatten_index
from jaxcraft.world.params import WorldStatic
from jaxcraft.world.render import Frame, object_mask
from jaxcraft.world.physics import SKIN
from jaxcraft.world.state import WorldState
from jaxcraft.world.voxels import compute_skip
from jaxcraft.world.worldgen import generate

MARGIN = 4                         # columns kept free between a task's points and the world edge
DISTRACTOR_RADIUS = (4.0, 10.0)    # blocks from the target
_TASK_DOMAIN = 0x7A5C              # key of all task ids (split and seed are folded in)


def encode_task_id(seed, distance_index, family) -> jax.Array:
    """int32 id of (seed, distance index into DISTANCES, family index into FAMILIES).

    id = (seed · DISTANCE_SLOTS + distance_index) · FAMILY_SLOTS + family: the slots leave room
    for families and distances added later, so every existing id keeps its task.
    """
    return (jnp.asarray(seed, jnp.int32) * F.DISTANCE_SLOTS + distance_index) * F.FAMILY_SLOTS + family


def decode_task_id(task_id) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(seed, distance index, family) of a task id."""
    task_id = jnp.asarray(task_id, jnp.int32)
    return task_id // (F.FAMILY_SLOTS * F.DISTANCE_SLOTS), (task_id // F.FAMILY_SLOTS) % F.DISTANCE_SLOTS, \
        task_id % F.FAMILY_SLOTS


def sample_task_id(key: jax.Array, params: TaskEnvParams) -> jax.Array:
    """A task id drawn with the params' family and distance weights (uniform over seeds)."""
    k_f, k_d, k_s = jax.random.split(key, 3)
    family = jax.random.choice(k_f, F.NUM_FAMILIES, p=params.task.family_probs)
    dist = jax.random.choice(k_d, F.NUM_DISTANCES, p=params.task.distance_probs)
    seed = jax.random.randint(k_s, (), 0, SEEDS_PER_SPLIT)
    return encode_task_id(seed, dist, family)


def ground_height(blocks: jax.Array) -> jax.Array:
    """int32[X, Z]: y of the first voxel above the highest *ground* block (ignores plants)."""
    g = jnp.asarray(F.GROUND)[blocks]
    y = jnp.arange(blocks.shape[1])[None, :, None]
    return jnp.max(jnp.where(g, y + 1, 0), axis=1).astype(jnp.int32)


def spawn_layout(seed: jax.Array, size: int, distance: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(target column int32[2], agent column int32[2]) exactly `distance` apart (Manhattan),
    both at least MARGIN columns from the edge of a size×size world."""
    u = rng.uniform(seed, (6,))
    lo, span = MARGIN, size - 1 - 2 * MARGIN
    d_min, d_max = jnp.maximum(0, distance - span), jnp.minimum(distance, span)
    dx = d_min + jnp.floor(u[0] * (d_max - d_min + 1)).astype(jnp.int32)
    dx = jnp.minimum(dx, d_max)
    delta = jnp.stack([dx, distance - dx])                              # |Δx|, |Δz|
    base = lo + jnp.floor(u[1:3] * (span - delta + 1)).astype(jnp.int32)
    base = jnp.minimum(base, lo + span - delta)
    agent_far = u[3:5] < 0.5                                            # the sign of Δ per axis
    target = base + jnp.where(agent_far, 0, delta)
    agent = base + jnp.where(agent_far, delta, 0)
    return target, agent


def _plaza(blocks: jax.Array, col: jax.Array, h0: jax.Array, radius: int) -> jax.Array:
    """Flatten the columns within `radius` of `col` to ground level h0 (clear above, fill below)."""
    X, Y, Z = blocks.shape
    cx, cz = jnp.arange(X)[:, None], jnp.arange(Z)[None, :]
    area = ((jnp.abs(cx - col[0]) <= radius) & (jnp.abs(cz - col[1]) <= radius))[:, None, :]
    y = jnp.arange(Y)[None, :, None]
    floor_kind = blocks[col[0], jnp.maximum(h0 - 1, 0), col[1]]
    blocks = jnp.where(area & (y >= h0), jnp.uint8(B.AIR), blocks)
    return jnp.where(area & (y < h0) & (blocks == B.AIR), floor_kind, blocks)


def _distractor_columns(seed: jax.Array, col: jax.Array, n: int, size: int) -> jax.Array:
    u = rng.uniform(seed, (n, 2))
    r = DISTRACTOR_RADIUS[0] + (DISTRACTOR_RADIUS[1] - DISTRACTOR_RADIUS[0]) * u[:, 0]
    a = 2.0 * jnp.pi * u[:, 1]
    off = jnp.round(jnp.stack([r * jnp.cos(a), r * jnp.sin(a)], -1)).astype(jnp.int32)
    return jnp.clip(col + off, 1, size - 2)


def synthesise(static: WorldStatic, tstatic: TaskStatic, params: TaskEnvParams,
               task_id: jax.Array) -> tuple[TaskState, Frame]:
    """The task with this id and the agent's first frame (pure and jittable; see the module doc).

    The goal image and the first frame come from one batched render (`render_views`).
    """
    seed, d_idx, family = decode_task_id(task_id)
    key = jax.random.fold_in(jax.random.fold_in(jax.random.key(_TASK_DOMAIN), params.task.split_code), seed)
    # One world per seed (all families and distances share it); the layout is per task id.
    k_world, k_rest = jax.random.split(key)
    k_rest = jax.random.fold_in(k_rest, d_idx * F.FAMILY_SLOTS + family)
    s = rng.seeds(k_rest, 8)
    distance = jnp.asarray(F.DISTANCE_BLOCKS)[d_idx]
    mob_target = jnp.asarray(F.MOB_TARGET)[family]   # the family's target is mob slot 0, not a placed block (hunt)
    world = generate(static, params.world, k_world)
    Y = static.size_y

    # Target column on a flat plaza of ground; agent column at the spawn distance.
    col, agent_col = spawn_layout(s[0], static.size_x, distance)
    h0 = jnp.minimum(ground_height(world.blocks)[col[0], col[1]], Y - 6)
    blocks = _plaza(world.blocks, col, h0, tstatic.plaza_radius)
    kind_idx = rng.randint(s[1], (), 0, F.NUM_TARGET_KINDS[0]) % jnp.asarray(F.NUM_TARGET_KINDS)[family]
    block_kind = jnp.asarray(F.TARGET_BLOCKS)[family, kind_idx]
    mob_kind = rng.randint(s[1], (), 0, mobs_lib.NUM_MOB_KINDS)
    target_xyz = jnp.stack([col[0], h0, col[1]])
    blocks = blocks.at[col[0], h0, col[1]].set(jnp.where(mob_target, blocks[col[0], h0, col[1]], block_kind.astype(jnp.uint8)))

    # Distractors of the target's kind on the surface 4-10 blocks away.
    nd = tstatic.num_distractors
    dcols = _distractor_columns(s[2], col, nd, static.size_x)
    sh = surface_height(world.replace(blocks=blocks))
    dy = sh[dcols[:, 0], dcols[:, 1]]
    put = (~mob_target) & (dy < Y)
    flat = jnp.where(put, flat_index(static, jnp.stack([dcols[:, 0], dy, dcols[:, 1]], -1)), blocks.size)
    blocks = blocks.reshape(-1).at[flat].set(block_kind.astype(jnp.uint8), mode="drop").reshape(blocks.shape)

    # Mobs: a mob target in slot 0, distractors of its kind in slots 1..nd.
    m = world.mobs
    mob_cols = jnp.concatenate([col[None], dcols], 0)
    sh = surface_height(world.replace(blocks=blocks))
    mob_pos = jnp.stack([mob_cols[:, 0] + 0.5, sh[mob_cols[:, 0], mob_cols[:, 1]] + SKIN, mob_cols[:, 1] + 0.5], -1)
    mob_pos = mob_pos.at[0, 1].set(h0 + SKIN)
    slots = jnp.arange(m.pos.shape[0])
    placed = mob_target & (slots <= nd)
    idx = jnp.minimum(slots, nd)
    m = m.replace(pos=jnp.where(placed[:, None], mob_pos[idx].astype(jnp.float32), m.pos),
                  kind=jnp.where(placed, mob_kind, m.kind),
                  alive=m.alive | placed, vel_y=jnp.where(placed, 0.0, m.vel_y),
                  health=jnp.where(placed, params.world.mob_health, m.health))
    # Unless the target is a mob, no mob may stand on the plaza and hide it.
    on_plaza = jnp.all(jnp.abs(jnp.floor(m.pos[:, [0, 2]]).astype(jnp.int32) - col) <= tstatic.plaza_radius, -1)
    m = m.replace(alive=m.alive & ~(on_plaza & ~mob_target))

    # Agent on the surface of its column, random heading (the target usually starts out of view).
    sh = surface_height(world.replace(blocks=blocks))
    agent_pos = jnp.stack([agent_col[0] + 0.5, sh[agent_col[0], agent_col[1]] + SKIN, agent_col[1] + 0.5])
    agent = world.agent.replace(pos=agent_pos.astype(jnp.float32), vel=jnp.zeros((3,), jnp.float32),
                                yaw=rng.uniform(s[3], (), -jnp.pi, jnp.pi), pitch=jnp.zeros((), jnp.float32))
    world = world.replace(blocks=blocks, skip=compute_skip(blocks), mobs=m, agent=agent)

    # Goal camera, image and exact mask.
    half_h = jnp.asarray(mobs_lib.HEIGHT)[mob_kind] / 2.0
    centre = jnp.where(mob_target, m.pos[0] + jnp.stack([0.0, half_h, 0.0]),
                       target_xyz.astype(jnp.float32) + 0.5)
    target_flat = jnp.where(mob_target, -1, flat_index(static, target_xyz))
    target_id = jnp.where(mob_target, mob_id(static, 0), target_flat + 1)
    world, cam, clear = goal_camera(static, world, s[4], centre, target_id, target_flat, tstatic.camera_candidates)
    agent_cam = agent_camera(world)
    goal, first = render_views(static, world, [cam, agent_cam])
    eye = agent_cam.pos
    task = Task(task_id=jnp.asarray(task_id, jnp.int32), family=family, distance=distance, target_id=target_id,
                target_voxel=target_flat, target_mob=jnp.where(mob_target, 0, -1),
                target_kind=jnp.where(mob_target, mob_kind, block_kind), goal_rgb=goal.rgb,
                goal_mask=object_mask(goal, target_id).astype(jnp.uint8),
                goal_camera=cam, camera_clear=clear, prev_distance=jnp.linalg.norm(centre - eye))
    return TaskState(world=world, task=task, success=jnp.zeros((), bool)), first


def target_centre(static: WorldStatic, world: WorldState, task: Task) -> jax.Array:
    """float32[3] current centre of the target (mobs move; blocks do not)."""
    m = jnp.maximum(task.target_mob, 0)
    mob_c = world.mobs.pos[m] + jnp.stack([0.0, jnp.asarray(mobs_lib.HEIGHT)[world.mobs.kind[m]] / 2.0, 0.0])
    block_c = unflatten_index(static, jnp.maximum(task.target_voxel, 0)).astype(jnp.float32) + 0.5
    return jnp.where(task.target_mob >= 0, mob_c, block_c)
