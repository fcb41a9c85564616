"""Biomes as data: terrain shape, surface palette, vegetation and ore rates.

Kept as a table so that some biomes can be held out of training (`WorldParams.biome_enabled`)
and used only for zero-shot evaluation.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from jaxcraft.world.blocks import block_id


class Biome(NamedTuple):
    name: str
    base_height: float      # mean surface height, as a fraction of world height
    amplitude: float        # height variation, as a fraction of world height
    surface: str            # top block
    subsurface: str         # the few blocks below the top
    tree_density: float     # probability that a 3×3 cell of columns grows one tree
    log: str
    leaves: str             # "air" for leafless plants (cactus)
    trunk_height: int
    crop: str               # scattered surface block (pumpkin, melon, ...)
    crop_density: float


BIOMES: tuple[Biome, ...] = (
    Biome("plains", 0.30, 0.08, "grass", "dirt", 0.08, "oak_log", "oak_leaves", 4, "pumpkin", 0.006),
    Biome("forest", 0.33, 0.12, "grass", "dirt", 0.60, "oak_log", "oak_leaves", 5, "melon", 0.003),
    Biome("desert", 0.28, 0.06, "sand", "sandstone", 0.10, "cactus", "air", 3, "pumpkin", 0.0),
    Biome("snow", 0.34, 0.12, "snow", "dirt", 0.30, "spruce_log", "spruce_leaves", 5, "pumpkin", 0.0),
    Biome("stone_hills", 0.40, 0.30, "stone", "gravel", 0.06, "oak_log", "oak_leaves", 4, "melon", 0.0),
    # Held out of training by default: for zero-shot tests.
    Biome("birch_grove", 0.32, 0.10, "grass", "dirt", 0.50, "birch_log", "birch_leaves", 5, "melon", 0.003),
    Biome("mossy_tundra", 0.30, 0.10, "mossy_stone", "gravel", 0.08, "spruce_log", "spruce_leaves", 4, "pumpkin", 0.002),
)
NUM_BIOMES = len(BIOMES)
BIOME_ID: dict[str, int] = {b.name: i for i, b in enumerate(BIOMES)}
HELDOUT_BIOMES: tuple[str, ...] = ("birch_grove", "mossy_tundra")
TRAIN_BIOMES: tuple[str, ...] = tuple(b.name for b in BIOMES if b.name not in HELDOUT_BIOMES)


def biome_mask(names) -> np.ndarray:
    """bool[NUM_BIOMES] with True for the named biomes (clear error on unknown names)."""
    mask = np.zeros(NUM_BIOMES, bool)
    for n in names:
        if n not in BIOME_ID:
            raise ValueError(f"unknown biome {n!r}; known: {sorted(BIOME_ID)}")
        mask[BIOME_ID[n]] = True
    if not mask.any():
        raise ValueError("at least one biome must be enabled")
    return mask


def _col(fn, dtype) -> np.ndarray:
    return np.asarray([fn(b) for b in BIOMES], dtype)


BASE_HEIGHT = _col(lambda b: b.base_height, np.float32)
AMPLITUDE = _col(lambda b: b.amplitude, np.float32)
SURFACE = _col(lambda b: block_id(b.surface), np.int32)
SUBSURFACE = _col(lambda b: block_id(b.subsurface), np.int32)
TREE_DENSITY = _col(lambda b: b.tree_density, np.float32)
LOG = _col(lambda b: block_id(b.log), np.int32)
LEAVES = _col(lambda b: block_id(b.leaves), np.int32)
TRUNK_HEIGHT = _col(lambda b: b.trunk_height, np.int32)
CROP = _col(lambda b: block_id(b.crop), np.int32)
CROP_DENSITY = _col(lambda b: b.crop_density, np.float32)
