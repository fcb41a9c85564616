"""The one trajectory type: what acting produces and the learner consumes.

A `Trajectory` is time-major: every per-step leaf is [T, B, ...] (a single env's fragment,
as the bridged assembler builds it, is the same type with leaves [T, ...]). Step t holds
o_t (obs), the policy's a_t, log π(a_t|o_t), v(o_t) and its carry *before* o_t, then the
outcome of the step: r_t, terminated_t, truncated_t, v_final_t (v of the ended episode's
last observation where truncated, else 0) and the ended episode's stats where done.
`bootstrap_value` [B] is v(o_T), the observation after the last step.

Source-specific extras ride along (None where a source has none): `crashed` (a bridged
simulator died: its episode was truncated), `env_ids` [B] (which bridged env a column is)
and `version` [T, B] (update count of the params that acted; bridged policy lag).
"""
from __future__ import annotations

from typing import Any, NamedTuple, Optional, Sequence

import jax
import numpy as np


class Trajectory(NamedTuple):
    obs: Any                           # o_t (pytree)
    action: Any                        # a_t
    log_prob: Any                      # log π_old(a_t | o_t)
    value: Any                         # v(o_t), reward units
    reward: Any                        # r_t
    terminated: Any                    # bool: o_{t+1} is terminal (no bootstrap)
    truncated: Any                     # bool: the episode was cut (bootstrap from v_final)
    v_final: Any                       # v(o_final) where truncated, else 0
    reset: Any                         # bool: o_t starts an episode
    carry: Any                         # hidden state before o_t (`()` for feed-forward nets); both
                                       # trainers keep it before each PPO chunk only: [T/L, B, ...]
    ref_logits: Optional[Any]          # frozen reference policy's logits at o_t (KL term); None = off
    episode_return: Any                # return of the episode that ended at t (valid where done)
    episode_length: Any                # its length
    success: Any                       # bool: the task succeeded at t (task envs; False elsewhere)
    bootstrap_value: Any               # v(o_T) [B] (a fragment: scalar)
    crashed: Optional[Any] = None      # bool: a simulator crash ended the episode (bridged)
    env_ids: Optional[Any] = None      # [B] bridged env id of each column
    version: Optional[Any] = None      # params version that acted (bridged)
    guided: Optional[Any] = None       # bool: a teacher acted at t (`run.guide`); a_t is the teacher's
    guided_episode: Optional[Any] = None  # bool: the episode at t started with guided steps

    @property
    def done(self) -> Any:
        """bool [T, B]: an episode ended at step t."""
        return self.terminated | self.truncated


def stack_fragments(fragments: Sequence[Trajectory]) -> Trajectory:
    """B single-env fragments (leaves [T, ...], scalar bootstrap/env id) → one [T, B] Trajectory
    in fragment order (host numpy arrays)."""
    if not fragments:
        raise ValueError("stack_fragments needs at least one fragment")
    f0 = fragments[0]

    def field(name: str):
        if getattr(f0, name) is None:
            return None
        return jax.tree.map(lambda *xs: np.stack(xs, axis=1), *[getattr(f, name) for f in fragments])

    stacked = {name: field(name) for name in Trajectory._fields if name not in ("bootstrap_value", "env_ids", "carry")}
    return Trajectory(**stacked, carry=field("carry") if jax.tree.leaves(f0.carry) else (),
                      bootstrap_value=np.array([f.bootstrap_value for f in fragments], np.float32),
                      env_ids=np.array([f.env_ids for f in fragments], np.int64))
