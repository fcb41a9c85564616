"""Task-env parameters: static shapes apart from dynamic numbers, built from a `TaskConfig`."""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxcraft.config.task import DISTANCES, FAMILIES, TaskConfig
from jaxcraft.world import biomes
from jaxcraft.world.params import WorldParams, WorldStatic, default_params

SPLIT_CODE = {"train": 0, "unseen": 1, "unseen_seeds": 2}
# Seeds per split: task ids are (seed · DISTANCE_SLOTS + distance) · FAMILY_SLOTS + family
# (families.py), so each split has SEEDS_PER_SPLIT · 12 ≈ 12.6 M distinct tasks today, and ids
# stay below 2^31 with room for 16 families × 8 distances (2^20 · 128 = 2^27).
SEEDS_PER_SPLIT = 1 << 20


def split_biomes(split: str) -> tuple[str, ...]:
    """Biomes enabled in a split: unseen worlds use only the held-out palettes."""
    return biomes.HELDOUT_BIOMES if split == "unseen" else biomes.TRAIN_BIOMES


@dataclasses.dataclass(frozen=True)
class TaskStatic:
    """Shapes and loop lengths of task synthesis (hashable; changing them recompiles)."""

    num_distractors: int = 3
    camera_candidates: int = 8     # goal cameras tried per task (first unoccluded one wins)
    plaza_radius: int = 2          # columns around the target cleared to flat ground
    privileged_obs: bool = False   # the observation also carries `privileged` (value-only; env.privileged_observation)


@struct.dataclass
class TaskParams:
    """Dynamic task parameters (a pytree): sampling weights, split, reward terms."""

    family_probs: jax.Array       # float32[len(FAMILIES)] over FAMILIES
    distance_probs: jax.Array     # float32[len(DISTANCES)] over DISTANCES
    split_code: jax.Array         # int32, SPLIT_CODE[split]: which seed domain
    success_reward: jax.Array     # float32
    shaping_distance: jax.Array   # float32, reward per block of distance closed
    shaping_visible: jax.Array    # float32, reward per step with the target in view


@struct.dataclass
class TaskEnvParams:
    world: WorldParams
    task: TaskParams
    max_steps_in_episode: jax.Array   # int32 time limit (paper: 600)


def _probs(names, chosen, weights) -> np.ndarray:
    p = np.zeros(len(names), np.float32)
    w = weights or (1.0,) * len(chosen)
    for c, wi in zip(chosen, w):
        p[list(names).index(c)] = wi
    return p / p.sum()


def from_config(config: TaskConfig) -> tuple[WorldStatic, TaskStatic, TaskEnvParams]:
    """(world static, task static, dynamic params) of a task config (validated here)."""
    config.validate()
    world_static = WorldStatic(size_x=config.world_size, size_z=config.world_size, size_y=config.world_height,
                               height=config.frame_size, width=config.frame_size,
                               view_distance=config.view_distance, max_mobs=1 + max(config.num_distractors, 3))
    task_static = TaskStatic(num_distractors=config.num_distractors, privileged_obs=config.privileged_obs)
    world = default_params().replace(
        biome_enabled=jnp.asarray(biomes.biome_mask(split_biomes(config.split))),
        max_steps_in_episode=jnp.asarray(config.max_steps, jnp.int32))
    f32 = lambda x: jnp.asarray(x, jnp.float32)
    task = TaskParams(family_probs=f32(_probs(FAMILIES, config.families, config.family_weights)),
                      distance_probs=f32(_probs([str(d) for d in DISTANCES], [str(d) for d in config.distances],
                                                config.distance_weights)),
                      split_code=jnp.asarray(SPLIT_CODE[config.split], jnp.int32),
                      success_reward=f32(config.success_reward), shaping_distance=f32(config.shaping_distance),
                      shaping_visible=f32(config.shaping_visible))
    return world_static, task_static, TaskEnvParams(world=world, task=task,
                                                    max_steps_in_episode=jnp.asarray(config.max_steps, jnp.int32))


def with_split(params: TaskEnvParams, split: str) -> TaskEnvParams:
    """The same params on another world split (no recompilation: only dynamic values change)."""
    if split not in SPLIT_CODE:
        raise ValueError(f"unknown split {split!r}; choose one of {sorted(SPLIT_CODE)}")
    return params.replace(world=params.world.replace(biome_enabled=jnp.asarray(biomes.biome_mask(split_biomes(split)))),
                          task=params.task.replace(split_code=jnp.asarray(SPLIT_CODE[split], jnp.int32)))
