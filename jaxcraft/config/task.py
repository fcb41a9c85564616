"""The `task` section of an experiment: which cross-view tasks an env synthesises.

Plain, JAX-free dataclass; `jaxcraft.tasks.params` turns it into the static (shape) and
dynamic (pytree) parameters of the task env. The family names (`bridge.crossview.FAMILIES`) are
the keys of the `Family` table in `jaxcraft.tasks.families` (a test checks they agree).
"""
from __future__ import annotations

import dataclasses

from bridge.crossview import DISTANCES, FAMILIES   # the one list of each (JAX-free: the Minetest adapter reads it too)
from jaxcraft.config.fields import check_all, documented

# DISTANCES: spawn distances a task id can encode, in index order; the paper's are 20/40/60, 5 and
# 10 are easy curriculum stages.
PAPER_DISTANCES = (20, 40, 60)
SPLITS = ("train", "unseen", "unseen_seeds")


@dataclasses.dataclass(frozen=True)
class TaskConfig:
    """Cross-view task synthesis (ROCKET-3): families, spawn distances, split, reward, frames."""

    families: tuple[str, ...] = documented(FAMILIES, "Task families drawn at reset: any of approach, break, interact, hunt.")
    family_weights: tuple[float, ...] = documented((), "Sampling weight per entry of `families`; () = uniform.")
    distances: tuple[int, ...] = documented(PAPER_DISTANCES, "Agent spawn distances (Manhattan blocks from the target), any of 20, 40, 60 (the paper's) or 5, 10 (easy curriculum stages).")
    distance_weights: tuple[float, ...] = documented((), "Sampling weight per entry of `distances`; () = uniform (the paper's mixed curriculum). Hard-only: distances=(60,).")
    split: str = documented("train", "World split: train (train seeds + train biomes), unseen (held-out seeds + held-out biomes), unseen_seeds (held-out seeds, train biomes).")
    max_steps: int = documented(600, "Episode time limit in steps (paper: 600); success ends the episode earlier.")
    success_reward: float = documented(1.0, "Reward when the interaction happens on the target (the paper's binary reward).")
    shaping_distance: float = documented(0.0, "Potential-based shaping: reward per block of (eye-to-target) distance closed; 0 = off (paper).")
    shaping_visible: float = documented(0.0, "Reward per step while the target is in the agent's view; 0 = off (paper).")
    frame_size: int = documented(64, "Square size in pixels of the agent frame and of the goal image.")
    world_size: int = documented(64, "Horizontal world extent in blocks (square); 64 fits spawn distance 60 (Manhattan).")
    world_height: int = documented(32, "World height in blocks.")
    privileged_obs: bool = documented(False, "Observations also carry `privileged` float32[7] (distance, bearing, elevation, visibility, time left of the target), read only by a privileged critic (net.goal.privileged_critic); off keeps the observation (and older runs' checkpoints) as they were.")
    num_distractors: int = documented(3, "Other blocks/mobs of the target's kind placed as distractors.")
    view_distance: float = documented(32.0, "Fog end in blocks for the agent view and goal image.")

    def validate(self) -> None:
        """Raise ConfigError naming the first bad field."""
        bad = [f for f in self.families if f not in FAMILIES]
        checks = [
            ("families", bool(self.families) and not bad and len(set(self.families)) == len(self.families),
             f"must be distinct names from {FAMILIES}"),
            ("family_weights", not self.family_weights or (len(self.family_weights) == len(self.families)
                                                            and min(self.family_weights) >= 0 and sum(self.family_weights) > 0),
             "must be empty or one non-negative weight per family (not all zero)"),
            ("distances", bool(self.distances) and all(d in DISTANCES for d in self.distances)
             and len(set(self.distances)) == len(self.distances), f"must be distinct values from {DISTANCES}"),
            ("distance_weights", not self.distance_weights or (len(self.distance_weights) == len(self.distances)
                                                                and min(self.distance_weights) >= 0 and sum(self.distance_weights) > 0),
             "must be empty or one non-negative weight per distance (not all zero)"),
            ("split", self.split in SPLITS, f"must be one of {SPLITS}"),
            ("max_steps", self.max_steps >= 1, "must be >= 1"),
            ("frame_size", 16 <= self.frame_size <= 224, "must be in [16, 224]"),
            ("world_size", self.world_size >= 2 * 4 + max(self.distances or (0,)) // 2 + 2 and self.world_size <= 256,
             "must be in [max(distances)/2 + 10, 256] so the spawn distance fits"),
            ("world_height", 16 <= self.world_height <= 128, "must be in [16, 128]"),
            ("num_distractors", 0 <= self.num_distractors <= 6, "must be in [0, 6]"),
            ("view_distance", self.view_distance > 0, "must be > 0"),
        ]
        check_all("task", self, checks)
