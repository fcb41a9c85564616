"""World parameters: static shapes (hashable, baked into the compiled program) apart
from dynamic numbers (a pytree that can be changed without recompiling)."""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxcraft.world import biomes, blocks


@dataclasses.dataclass(frozen=True)
class WorldStatic:
    """Everything that fixes an array shape or a loop length. Changing it recompiles.

    size_x/size_z: horizontal world extent in blocks; size_y: height.
    height/width: agent frame in pixels. fov_y_deg: vertical field of view (Minecraft's 70°).
    render_steps: voxel-traversal steps per ray (each skips a whole empty box; see render.py).
    view_distance: fog end, in blocks (planar depth); beyond it the sky shows.
    max_mobs: mob slots per world. num_interactables: levers/chests/lamps placed per world.
    """

    size_x: int = 64
    size_y: int = 32
    size_z: int = 64
    height: int = 64
    width: int = 64
    fov_y_deg: float = 70.0
    render_steps: int = 14
    view_distance: float = 32.0
    max_mobs: int = 4
    num_interactables: int = 6

    def __post_init__(self):
        for name in ("size_x", "size_y", "size_z", "height", "width", "render_steps", "max_mobs"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"WorldStatic.{name} must be a positive int, got {v!r}")
        if min(self.size_x, self.size_z) < 8 or self.size_y < 8:
            raise ValueError(f"world must be at least 8x8x8 blocks, got {self.shape}")
        if max(self.size_x, self.size_y, self.size_z) > 1024:
            raise ValueError(f"world side > 1024 blocks not supported, got {self.shape}")
        if not 10.0 <= self.fov_y_deg <= 150.0:
            raise ValueError(f"fov_y_deg must be in [10, 150], got {self.fov_y_deg}")
        if self.view_distance <= 0:
            raise ValueError(f"view_distance must be > 0, got {self.view_distance}")
        if self.num_interactables < 0:
            raise ValueError(f"num_interactables must be >= 0, got {self.num_interactables}")

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.size_x, self.size_y, self.size_z)

    @property
    def num_voxels(self) -> int:
        return self.size_x * self.size_y * self.size_z


@struct.dataclass
class WorldParams:
    """Dynamic parameters (a pytree: may differ per env or change between runs)."""

    max_steps_in_episode: jax.Array   # int32, time-limit truncation (paper: 600)
    hardness: jax.Array               # int32[NUM_BLOCKS], attack ticks to break
    break_reward: jax.Array           # float32[NUM_BLOCKS], built-in reward per broken block
    kill_reward: jax.Array            # float32, built-in reward per killed mob
    use_reward: jax.Array             # float32, built-in reward per toggled interactable
    biome_enabled: jax.Array          # bool[NUM_BIOMES]; held-out biomes are False
    gravity: jax.Array                # blocks/tick^2 (Minecraft: 0.08)
    drag: jax.Array                   # vertical velocity kept per tick (0.98)
    jump_velocity: jax.Array          # blocks/tick (0.42: clears 1 block, not 2)
    walk_speed: jax.Array             # blocks/tick (4.317 m/s at 20 ticks/s)
    sprint_factor: jax.Array
    sneak_factor: jax.Array
    reach: jax.Array                  # blocks, attack/use distance from the eye
    mob_health: jax.Array             # float32, hit points of a fresh mob (1 per attack tick)
    mob_speed: jax.Array              # blocks/tick of a wandering mob


def default_params(train_biomes_only: bool = True) -> WorldParams:
    names = biomes.TRAIN_BIOMES if train_biomes_only else tuple(b.name for b in biomes.BIOMES)
    f = lambda x: jnp.asarray(x, jnp.float32)
    return WorldParams(
        max_steps_in_episode=jnp.asarray(600, jnp.int32),
        hardness=jnp.asarray(blocks.HARDNESS),
        break_reward=jnp.asarray(blocks.BREAK_REWARD),
        kill_reward=f(1.0),
        use_reward=f(0.5),
        biome_enabled=jnp.asarray(biomes.biome_mask(names)),
        gravity=f(0.08), drag=f(0.98), jump_velocity=f(0.42),
        walk_speed=f(4.317 / 20.0), sprint_factor=f(1.3), sneak_factor=f(0.3),
        reach=f(4.5), mob_health=f(4.0), mob_speed=f(0.05),
    )
