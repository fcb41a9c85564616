"""The JaxCraft world: a JAX-native, Minecraft-like 3D voxel simulator.

Public API (see docs/world.md):
  JaxCraftEnv, WorldStatic, WorldParams, default_params      — the environment
  generate                                                      — world from a key
  Camera, make_camera, project, ray_directions                  — pinhole camera model
  render, render_mask, object_mask, Frame                       — RGB / depth / object ids
  voxel_id, mob_id, is_voxel_id, is_mob_id, voxel_of_id, mob_of_id, flat_index, SKY_ID
  set_blocks, place_mob, place_agent, surface_height, agent_camera, standing_position
  crosshair_target, Events                                      — interaction events
  actions (make_action, noop, decode, NAMES, NVEC), blocks, biomes, mobs — data tables
"""
from jaxcraft.world import actions, biomes, blocks, mobs
from jaxcraft.world.camera import Camera, make_camera, project, ray_directions
from jaxcraft.world.edit import (agent_camera, empty_world, place_agent, place_mob, set_blocks, standing_position,
                                 surface_height)
from jaxcraft.world.env import JaxCraftEnv
from jaxcraft.world.worldgen import generate
from jaxcraft.world.ids import (SKY_ID, flat_index, is_mob_id, is_voxel_id, mob_id, mob_of_id, unflatten_index,
                                voxel_id, voxel_of_id)
from jaxcraft.world.interact import Events, crosshair_target
from jaxcraft.world.params import WorldParams, WorldStatic, default_params
from jaxcraft.world.render import Frame, object_mask, render, render_mask
from jaxcraft.world.state import Agent, Mobs, WorldState

__all__ = [
    "JaxCraftEnv", "WorldStatic", "WorldParams", "default_params", "generate",
    "Camera", "make_camera", "project", "ray_directions", "Frame", "render", "render_mask", "object_mask",
    "SKY_ID", "flat_index", "unflatten_index", "voxel_id", "mob_id", "is_voxel_id", "is_mob_id", "voxel_of_id",
    "mob_of_id", "empty_world", "set_blocks", "place_mob", "place_agent", "surface_height", "agent_camera", "standing_position",
    "crosshair_target", "Events", "Agent", "Mobs", "WorldState", "actions", "biomes", "blocks", "mobs",
]
