"""Cross-view task scenes for Minetest, generated in Python from (family, distance, seed).

A scene is a square of grass of half-width R = distance + 6 around the agent's spawn at
(0, 0.5, 0) (feet; the ground's top face is y = 0.5), with

  * the target node on the ground at Manhattan distance `distance` from the spawn;
  * `num_distractors` nodes of the same kind elsewhere (never within 3 blocks of the target);
  * obstacles: tree trunks (with a leaf cap) and single rocks, ~1 per 60 and 1 per 80 columns;
  * a goal camera 2.5–5 blocks from the target centre, 1–3 above it (jaxcraft: 0.5–3; the
    player's feet must stay above the ground), looking at it with an
    8° jitter (as in jaxcraft/tasks/goal_camera.py); the first candidate whose eye is in air
    and whose line of sight to the target centre is free wins, otherwise the blocks on the
    first candidate's sight line are removed.

Coordinates are Minetest's (x east, y up, z north; yaw 0 looks along +z and grows turning
left; pitch > 0 looks down). Pure NumPy and deterministic per (family, distance, seed).
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

# jaxcraft's family names, spawn distances and task-id layout: one definition (bridge.crossview)
from bridge.crossview import DISTANCE_SLOTS, DISTANCES, FAMILIES, FAMILY_SLOTS  # noqa: F401
SUPPORTED_FAMILIES = ("approach", "break", "interact")  # hunt: no mobs in this scene
KINDS = {
    "approach": ("diamond_ore", "gold_ore", "mese_ore", "chest", "bookshelf"),
    "break": ("log", "gravel", "bookshelf", "gold_ore"),
    "interact": ("chest", "lamp", "lever"),
}
MOD = "jaxcraft_bridge"
MASK_NODE = f"{MOD}:mask"
FLOOR = "default:dirt_with_grass"
EYE_HEIGHT = 1.47            # Minetest 5.6 player eye height above the feet
TARGET_Y = 1
JITTER = math.radians(8.0)


def encode_task_id(seed: int, distance_index: int, family: int) -> int:
    """jaxcraft's task id packing (jaxcraft.tasks.synthesis.encode_task_id), in plain ints."""
    return (int(seed) * DISTANCE_SLOTS + int(distance_index)) * FAMILY_SLOTS + int(family)


def decode_task_id(task_id: int) -> tuple[int, int, int]:
    """(seed, distance index, family index) of a task id."""
    t = int(task_id)
    return t // (FAMILY_SLOTS * DISTANCE_SLOTS), (t // FAMILY_SLOTS) % DISTANCE_SLOTS, t % FAMILY_SLOTS


@dataclasses.dataclass(frozen=True)
class Pose:
    """Feet position and look (Minetest convention)."""

    x: float
    y: float
    z: float
    yaw: float
    pitch: float

    @property
    def eye(self) -> np.ndarray:
        return np.array([self.x, self.y + EYE_HEIGHT, self.z])

    def command(self, freeze: bool) -> str:
        return f"pose {self.x:.4f} {self.y:.4f} {self.z:.4f} {self.yaw:.5f} {self.pitch:.5f} {int(freeze)}"


@dataclasses.dataclass(frozen=True)
class Scene:
    task_id: int
    family: str
    distance: int
    seed: int
    kind: str
    half_width: int
    target: tuple[int, int, int]
    nodes: tuple[tuple[int, int, int, str], ...]
    spawn: Pose
    goal: Pose
    goal_clear: bool              # the goal camera saw the target without carving

    @property
    def target_node(self) -> str:
        return f"{MOD}:{self.kind}"

    def spec(self, reach: float) -> dict:
        """The mod's `scene` command."""
        r = self.half_width
        return {"min": [-r, -1, -r], "max": [r, 10, r], "floor": FLOOR, "nodes": [list(n) for n in self.nodes],
                "target": list(self.target), "reach": float(reach)}


def look_at(eye: np.ndarray, point: np.ndarray) -> tuple[float, float]:
    """(yaw, pitch) in Minetest's convention of a camera at `eye` looking at `point`."""
    d = np.asarray(point, float) - np.asarray(eye, float)
    return math.atan2(-d[0], d[2]), -math.atan2(d[1], math.hypot(d[0], d[2]))


def _segment_voxels(a: np.ndarray, b: np.ndarray, step: float = 0.05) -> set:
    n = max(2, int(np.linalg.norm(b - a) / step))
    pts = a[None] + np.linspace(0, 1, n)[:, None] * (b - a)[None]
    return {tuple(v) for v in np.floor(pts + 0.5).astype(int).tolist()}  # node (x,y,z) spans x±0.5


def synthesise(task_id: int, num_distractors: int = 3, candidates: int = 16) -> Scene:
    """The scene of a task id (see the module docstring)."""
    seed, d_idx, f_idx = decode_task_id(task_id)
    family, distance = FAMILIES[f_idx], DISTANCES[d_idx]
    if family not in SUPPORTED_FAMILIES:
        raise ValueError(f"Minetest tasks support families {SUPPORTED_FAMILIES}, not {family!r}")
    rng = np.random.default_rng([seed, d_idx, f_idx, 20260])
    R = distance + 6
    kind = KINDS[family][int(rng.integers(len(KINDS[family])))]
    dx = int(rng.integers(-distance, distance + 1))
    dz = (distance - abs(dx)) * (1 if rng.random() < 0.5 else -1)
    target = (dx, TARGET_Y, dz)
    occupied: dict[tuple, str] = {target: f"{MOD}:{kind}"}
    keep_free = {(0, 1, 0), (0, 2, 0)}

    def far(p, q, r):
        return max(abs(p[0] - q[0]), abs(p[2] - q[2])) >= r

    placed = []
    while len(placed) < num_distractors:
        p = (int(rng.integers(-R + 1, R)), TARGET_Y, int(rng.integers(-R + 1, R)))
        if p not in occupied and far(p, target, 3) and far(p, (0, 1, 0), 2):
            occupied[p] = f"{MOD}:{kind}"
            placed.append(p)
    area = (2 * R + 1) ** 2
    for _ in range(area // 60):   # trees
        x, z = (int(v) for v in rng.integers(-R + 1, R, 2))
        h = int(rng.integers(3, 5))
        cells = [(x, y, z) for y in range(1, h + 1)]
        if any(c in occupied for c in cells) or not far((x, 1, z), target, 3) or not far((x, 1, z), (0, 1, 0), 3):
            continue
        for c in cells:
            occupied[c] = "default:tree"
        for lx in (-1, 0, 1):
            for lz in (-1, 0, 1):
                c = (x + lx, h + 1, z + lz)
                occupied.setdefault(c, "default:leaves")
    for _ in range(area // 80):   # rocks
        p = (int(rng.integers(-R + 1, R)), 1, int(rng.integers(-R + 1, R)))
        if p not in occupied and far(p, target, 2) and far(p, (0, 1, 0), 2):
            occupied[p] = "default:stone" if rng.random() < 0.5 else "default:cobble"
    for c in keep_free:
        occupied.pop(c, None)

    centre = np.array(target, float)
    u = rng.random((candidates, 5))
    chosen, clear = None, False
    for i in range(candidates):
        r, phi = 2.5 + 2.5 * u[i, 0], 2 * math.pi * u[i, 1]
        eye = centre + np.array([r * math.sin(phi), 1.0 + 2.0 * u[i, 2], r * math.cos(phi)])
        vox = _segment_voxels(eye, centre) - {target}
        in_air = all(tuple(np.floor(eye + [0, dy, 0] + 0.5).astype(int)) not in occupied for dy in (0, -1.4))
        if chosen is None:
            chosen = (eye, u[i])
        if in_air and not any(v in occupied for v in vox):
            chosen, clear = (eye, u[i]), True
            break
    eye, ui = chosen
    if not clear:  # carve the sight line (and the body column) of the first candidate
        for v in _segment_voxels(eye, centre) | {tuple(np.floor(eye + [0, dy, 0] + 0.5).astype(int)) for dy in (0, -1.4)}:
            if v != target:
                occupied.pop(v, None)
    yaw, pitch = look_at(eye, centre)
    goal = Pose(float(eye[0]), float(eye[1] - EYE_HEIGHT), float(eye[2]),
                yaw + JITTER * (2 * ui[3] - 1), pitch + JITTER * (2 * ui[4] - 1))
    spawn = Pose(0.0, 0.5, 0.0, float(rng.uniform(-math.pi, math.pi)), 0.0)
    nodes = tuple((int(x), int(y), int(z), n) for (x, y, z), n in sorted(occupied.items()))
    return Scene(task_id=int(task_id), family=family, distance=distance, seed=seed, kind=kind, half_width=R,
                 target=target, nodes=nodes, spawn=spawn, goal=goal, goal_clear=clear)
