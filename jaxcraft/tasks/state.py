"""Task state: the world plus the one task the episode is about."""
from __future__ import annotations

import jax
from flax import struct

from jaxcraft.world.camera import Camera
from jaxcraft.world.state import WorldState


@struct.dataclass
class Task:
    """T = ⟨first view, goal image, goal mask, interaction⟩ and what success is judged on."""

    task_id: jax.Array        # int32, (seed · DISTANCE_SLOTS + distance index) · FAMILY_SLOTS + family
                              # (families.py's slots; synthesis.encode_task_id)
    family: jax.Array         # int32 index into FAMILIES
    distance: jax.Array       # int32 spawn distance in blocks (Manhattan, 20/40/60)
    target_id: jax.Array      # int32 object id of the target (a voxel or mob slot 0)
    target_voxel: jax.Array   # int32 flat voxel index of a block target, -1 for a mob
    target_mob: jax.Array     # int32 mob slot of a mob target, -1 for a block
    target_kind: jax.Array    # int32 block kind (blocks.py) or mob kind (mobs.py)
    goal_rgb: jax.Array       # uint8[H, W, 3] the target seen from the goal camera
    goal_mask: jax.Array      # uint8[H, W] 1 exactly on the target's pixels of goal_rgb
    goal_camera: Camera
    camera_clear: jax.Array   # bool: the goal camera saw the target without carving a line of sight
    prev_distance: jax.Array  # float32 eye-to-target distance after the last step (shaping)


@struct.dataclass
class TaskState:
    world: WorldState
    task: Task
    success: jax.Array        # bool, the task was completed (ends the episode)
