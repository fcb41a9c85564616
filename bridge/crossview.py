"""The cross-view task contract as plain data (NumPy only, no JAX): one definition for the JAX
task env and for simulator adapters alike.

    from bridge.crossview import ObservationSchema
    schema = ObservationSchema(frame=(64, 64))            # families: FAMILIES; privileged: off
    schema.shape("goal_rgb"), schema.num_families, schema.policy_keys, schema.value_keys

It lives in `bridge/` because that is the one place both sides may import: `bridge/` never imports
JAX or jaxcraft (so the Minetest adapter can use it in its worker processes), and jaxcraft may import
`bridge/` (the bottom layer of docs/architecture.md). It holds

  * the task families' names in task-id order (`FAMILIES`; `jaxcraft.tasks.families.FAMILY_TABLE`
    has one row per name, a test checks they agree) and the task-id layout (distances, slots);
  * the factored action: 9 buttons and the mu-law camera bins (`camera_bin_degrees`), read by
    `jaxcraft.world.actions` and the Minetest adapter;
  * the observation schema: field names, shapes from the frame size, dtypes and bounds, the number of
    families, which fields are constant over an episode (the goal), and which keys the policy reads
    and which the value function reads (Brax's policy/value observation keys: a value-only field such
    as `privileged` is never needed to act, so envs without it still run every policy).

Each consumer turns the schema into its own type: `jaxcraft.envs.spaces.schema_spaces` (jaxcraft
spaces), `ObservationSchema.array_specs` (bridge `ArraySpec`s), the gymnasium facade its gym spaces.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from bridge.spec import ArraySpec

# -- task families and ids ---------------------------------------------------------------------
FAMILIES = ("approach", "break", "interact", "hunt")
# Spawn distances a task id can encode, in index order (new ones are appended: ids keep their tasks).
DISTANCES = (20, 40, 60, 5, 10)
FAMILY_SLOTS = 16      # task-id room for families (existing ids keep their tasks when one is added)
DISTANCE_SLOTS = 8     # … and for spawn distances

# -- the factored action (VPT/MineRL-like; jaxcraft.world.actions documents it) ----------------
BUTTONS = ("forward", "back", "left", "right", "jump", "sneak", "sprint", "attack", "use")
CAMERA_BINS = 11
CAMERA_MAX_DEG = 10.0
CAMERA_MU = 10.0
NVEC = (2,) * len(BUTTONS) + (CAMERA_BINS, CAMERA_BINS)


def camera_bin_degrees() -> np.ndarray:
    """float32[11]: degrees of camera rotation per bin (VPT's mu-law quantiser decoded)."""
    x = (np.arange(CAMERA_BINS) * 2.0 - (CAMERA_BINS - 1)) / (CAMERA_BINS - 1)
    deg = np.sign(x) * (np.power(1.0 + CAMERA_MU, np.abs(x)) - 1.0) / CAMERA_MU * CAMERA_MAX_DEG
    return deg.astype(np.float32)


# -- the observation schema --------------------------------------------------------------------
RGB, GOAL_RGB, GOAL_MASK, FAMILY, PRIVILEGED = "rgb", "goal_rgb", "goal_mask", "family", "privileged"
PRIVILEGED_SIZE = 7    # jaxcraft.tasks.env.privileged_observation documents its entries


@dataclasses.dataclass(frozen=True)
class Field:
    """One observation field, independent of the frame size: its shape is (H, W) + `tail` when
    `framed`, else `tail`. A `category` field holds an index in [0, n) (a Discrete space; its n is
    the schema's number of families), others are boxes in [low, high]."""

    name: str
    dtype: str                  # NumPy dtype name
    tail: tuple[int, ...]
    framed: bool
    low: float = 0
    high: float = 0
    category: bool = False
    per_episode: bool = False   # constant over an episode (the goal): demos keep one per episode
    value_only: bool = False    # read only by a value function, never by the policy

    def shape(self, frame: tuple[int, int]) -> tuple[int, ...]:
        return (tuple(frame) if self.framed else ()) + self.tail


LAYOUT = (
    Field(RGB, "uint8", (3,), framed=True, low=0, high=255),
    Field(GOAL_RGB, "uint8", (3,), framed=True, low=0, high=255, per_episode=True),
    Field(GOAL_MASK, "uint8", (), framed=True, low=0, high=1, per_episode=True),
    Field(FAMILY, "int32", (), framed=False, category=True, per_episode=True),
    Field(PRIVILEGED, "float32", (PRIVILEGED_SIZE,), framed=False, low=-1.0, high=math.inf, value_only=True),
)
LAYOUT_BY_NAME = {f.name: f for f in LAYOUT}
POLICY_KEYS = tuple(f.name for f in LAYOUT if not f.value_only)
VALUE_ONLY_KEYS = tuple(f.name for f in LAYOUT if f.value_only)
PER_EPISODE_KEYS = tuple(f.name for f in LAYOUT if f.per_episode)


@dataclasses.dataclass(frozen=True)
class ObservationSchema:
    """The cross-view task observation of one frame size: see the module doc.

    families: the family table's names (their count is the `family` field's range); privileged:
    whether the observation also carries the value-only `privileged` vector."""

    frame: tuple[int, int]
    families: tuple[str, ...] = FAMILIES
    privileged: bool = False

    def __post_init__(self):
        object.__setattr__(self, "frame", tuple(int(s) for s in self.frame))
        object.__setattr__(self, "families", tuple(self.families))
        if len(self.frame) != 2 or min(self.frame) < 1:
            raise ValueError(f"ObservationSchema.frame={self.frame!r}: must be (height, width) >= 1")
        if not self.families or len(set(self.families)) != len(self.families) or len(self.families) > FAMILY_SLOTS:
            raise ValueError(f"ObservationSchema.families={self.families!r}: must be 1..{FAMILY_SLOTS} distinct names")

    @property
    def num_families(self) -> int:
        return len(self.families)

    @property
    def fields(self) -> tuple[Field, ...]:
        """The fields this observation carries, in order (the family field's range resolved)."""
        return tuple(dataclasses.replace(f, high=self.num_families - 1) if f.category else f
                     for f in LAYOUT if self.privileged or not f.value_only)

    @property
    def policy_keys(self) -> tuple[str, ...]:
        """The keys a policy reads (Brax's `policy_obs_key`, for a dict)."""
        return POLICY_KEYS

    @property
    def value_keys(self) -> tuple[str, ...]:
        """The keys a value function reads: the policy's and the value-only ones it carries."""
        return tuple(f.name for f in self.fields)

    def shape(self, name: str) -> tuple[int, ...]:
        return LAYOUT_BY_NAME[name].shape(self.frame)

    def array_specs(self) -> dict[str, ArraySpec]:
        """The fields as bridge `ArraySpec`s (inclusive bounds), e.g. for a simulator's `EnvSpec`."""
        return {f.name: ArraySpec(f.shape(self.frame), np.dtype(f.dtype), f.low, f.high) for f in self.fields}
