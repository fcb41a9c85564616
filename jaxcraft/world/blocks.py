"""Block kinds as data: id, colours, hardness, solidity, use-toggles, built-in reward.

Everything the simulator knows about a block lives in the `BLOCKS` table so that new
kinds (or held-out ones) are added here and nowhere else. Ids are small integers
stored in a uint8 voxel grid; AIR is 0.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


class BlockKind(NamedTuple):
    name: str
    top: tuple[int, int, int]    # RGB of the top face
    side: tuple[int, int, int]   # RGB of the side/bottom faces
    hardness: int                # attack ticks to break (UNBREAKABLE: never)
    solid: bool = True
    use_to: str | None = None    # name of the block this one turns into when used
    reward: float = 0.0          # built-in reward for breaking it (pre-task training signal)


UNBREAKABLE = 10_000

BLOCKS: tuple[BlockKind, ...] = (
    BlockKind("air", (0, 0, 0), (0, 0, 0), 0, solid=False),
    BlockKind("bedrock", (60, 60, 60), (60, 60, 60), UNBREAKABLE),
    BlockKind("stone", (125, 125, 125), (118, 118, 118), 8),
    BlockKind("dirt", (134, 96, 67), (134, 96, 67), 3),
    BlockKind("grass", (95, 159, 53), (120, 100, 65), 3),
    BlockKind("sand", (219, 207, 163), (210, 198, 155), 3),
    BlockKind("sandstone", (216, 202, 155), (200, 186, 140), 6),
    BlockKind("snow", (240, 248, 250), (225, 232, 236), 2),
    BlockKind("gravel", (136, 126, 126), (128, 118, 118), 3),
    BlockKind("oak_log", (160, 130, 78), (102, 81, 49), 5, reward=1.0),
    BlockKind("oak_leaves", (60, 132, 38), (55, 122, 34), 1),
    BlockKind("spruce_log", (110, 86, 54), (58, 42, 26), 5, reward=1.0),
    BlockKind("spruce_leaves", (46, 86, 52), (42, 78, 48), 1),
    BlockKind("birch_log", (200, 190, 150), (215, 215, 205), 5, reward=1.0),
    BlockKind("birch_leaves", (110, 150, 70), (100, 140, 64), 1),
    BlockKind("cactus", (90, 140, 50), (70, 120, 40), 2),
    BlockKind("coal_ore", (70, 70, 70), (70, 70, 70), 10, reward=1.0),
    BlockKind("iron_ore", (190, 160, 140), (190, 160, 140), 12, reward=1.0),
    BlockKind("gold_ore", (230, 200, 60), (230, 200, 60), 12, reward=1.0),
    BlockKind("diamond_ore", (90, 220, 225), (90, 220, 225), 14, reward=1.0),
    BlockKind("pumpkin", (200, 120, 20), (225, 135, 25), 3, reward=1.0),
    BlockKind("melon", (130, 170, 40), (110, 150, 35), 3, reward=1.0),
    BlockKind("lever_off", (150, 150, 150), (90, 70, 50), 2, use_to="lever_on"),
    BlockKind("lever_on", (200, 40, 40), (90, 70, 50), 2, use_to="lever_off"),
    BlockKind("chest_closed", (160, 110, 40), (140, 95, 35), 4, use_to="chest_open"),
    BlockKind("chest_open", (60, 40, 20), (140, 95, 35), 4, use_to="chest_closed"),
    BlockKind("lamp_off", (110, 70, 40), (100, 64, 36), 2, use_to="lamp_on"),
    BlockKind("lamp_on", (255, 230, 140), (250, 210, 120), 2, use_to="lamp_off"),
    BlockKind("ice", (160, 190, 250), (150, 180, 240), 2),
    BlockKind("mossy_stone", (100, 125, 95), (105, 120, 100), 8),
)

NUM_BLOCKS = len(BLOCKS)
assert NUM_BLOCKS <= 256, "voxel grid is uint8"
BLOCK_ID: dict[str, int] = {b.name: i for i, b in enumerate(BLOCKS)}
AIR = BLOCK_ID["air"]


def block_id(name: str) -> int:
    """Id of a block kind by name, with a clear error for unknown names."""
    try:
        return BLOCK_ID[name]
    except KeyError:
        raise ValueError(f"unknown block kind {name!r}; known: {sorted(BLOCK_ID)}") from None


for _b in BLOCKS:  # catch typos in use_to at import time
    if _b.use_to is not None and _b.use_to not in BLOCK_ID:
        raise ValueError(f"block {_b.name!r}: use_to {_b.use_to!r} is not a block kind")


def _table(fn, dtype) -> np.ndarray:
    return np.asarray([fn(b) for b in BLOCKS], dtype)


# Plain NumPy tables (turned into jnp where traced); index with a block id.
TOP_RGB = _table(lambda b: b.top, np.float32) / 255.0          # [NUM_BLOCKS, 3]
SIDE_RGB = _table(lambda b: b.side, np.float32) / 255.0        # [NUM_BLOCKS, 3]
HARDNESS = _table(lambda b: b.hardness, np.int32)              # [NUM_BLOCKS]
SOLID = _table(lambda b: b.solid, bool)                        # [NUM_BLOCKS]
BREAK_REWARD = _table(lambda b: b.reward, np.float32)          # [NUM_BLOCKS]
USE_RESULT = _table(lambda b: BLOCK_ID[b.use_to] if b.use_to else BLOCK_ID[b.name], np.int32)
INTERACTABLE = USE_RESULT != np.arange(NUM_BLOCKS)             # [NUM_BLOCKS]

