"""Per-env trajectory assembly under out-of-order async returns (host side, numpy only).

Async `recv` hands back envs in any order and in any grouping, so each env's rollout is
built separately: a *fragment* is T consecutive steps of one env plus the value of the
observation after its last step (the bootstrap). Each received batch does two things for
its envs E (vectorised over E):

  1. `add_results`: the outcome of the step whose action was sent last —
     reward r_t, terminated_t, truncated_t (crashes are truncations), crashed_t, v_final_t
     (value of the ended episode's final observation where truncated), episode stats.
  2. `add_starts`: the policy's output on the new observation o_{t+1}: obs, reset
     (o starts an episode), carry before it, action, log π, value, params version.
     If the env's fragment already holds T finished steps, this value is its bootstrap
     and the fragment is emitted; the new step then opens the next fragment.

The first observation after a pool reset has no preceding step, so `add_results` is a
no-op for it. A fragment is a `jaxcraft.train.trajectory.Trajectory` of one env (leaves [T, ...], scalar
bootstrap value and env id); `trajectory.stack_fragments` turns B of them into the [T, B]
Trajectory the learner consumes.

A recurrent carry is kept only where the PPO update reads it, before each chunk of
`carry_every` (= `ppo.chunk_len`) steps: a fragment's carry is [T / carry_every, ...], as in
the fused rollout (a Transformer-XL carry is layers × memory × width floats per env, so one
per step would cost T times the memory for nothing).
"""
from __future__ import annotations

from typing import Any, NamedTuple, Optional

import jax
import numpy as np

from jaxcraft.train.trajectory import Trajectory


class StepStart(NamedTuple):
    """What the policy produced for a batch of envs [B, ...] (host arrays)."""

    obs: Any                  # o_t (pytree)
    reset: np.ndarray         # bool: o_t starts an episode
    carry: Any                # hidden state before o_t (pytree, `()` for feed-forward)
    action: np.ndarray
    log_prob: np.ndarray
    value: np.ndarray         # v(o_t) in reward units
    ref_logits: Optional[np.ndarray] = None
    version: Optional[np.ndarray] = None   # int: update count of the params that acted


class StepResult(NamedTuple):
    """The outcome of each env's last step [B] (host arrays)."""

    reward: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    crashed: np.ndarray
    v_final: np.ndarray       # v(final obs) where truncated (else ignored, stored as 0)
    episode_return: np.ndarray
    episode_length: np.ndarray
    success: Optional[np.ndarray] = None   # bool: the task succeeded (None: the simulator does not say)


_START_FIELDS = ("obs", "reset", "carry", "action", "log_prob", "value", "ref_logits", "version")
_RESULT_FIELDS = StepResult._fields


class TrajectoryAssembler:
    """Builds per-env fragments of `rollout_len` steps from batches of arbitrary env ids."""

    def __init__(self, num_envs: int, rollout_len: int, carry_every: int = 1):
        if num_envs < 1 or rollout_len < 1:
            raise ValueError(f"num_envs={num_envs} and rollout_len={rollout_len} must be >= 1")
        if carry_every < 1 or rollout_len % carry_every:
            raise ValueError(f"carry_every={carry_every} must be >= 1 and divide rollout_len={rollout_len}")
        self.num_envs, self.T, self.carry_every = num_envs, rollout_len, carry_every
        self._started = np.zeros(num_envs, np.int64)     # steps opened in the current fragment
        self._awaiting = np.zeros(num_envs, bool)        # the last opened step awaits its result
        self._seen = np.zeros(num_envs, bool)            # env has had an observation
        self._buf: dict[str, Any] = {}

    # -- helpers for the caller -------------------------------------------------------------
    def reset_flags(self, env_ids: np.ndarray, done: np.ndarray) -> np.ndarray:
        """reset_t for the new observations of `env_ids`: first observation or an episode end."""
        return ~self._seen[env_ids] | np.asarray(done, bool)

    # -- buffers ----------------------------------------------------------------------------
    def _alloc(self, name: str, like: Any, length: int) -> None:
        if name in self._buf:
            return
        N = self.num_envs
        self._buf[name] = jax.tree.map(lambda x: np.zeros((N, length) + np.shape(x)[1:], np.asarray(x).dtype), like)

    def _write(self, name: str, env_ids: np.ndarray, t: np.ndarray, value: Any) -> None:
        def put(buf, x):
            buf[env_ids, t] = x
        jax.tree.map(put, self._buf[name], value)

    def _read(self, name: str, e: int) -> Any:
        return jax.tree.map(lambda b: b[e].copy(), self._buf[name])

    # -- the two halves of a received batch ---------------------------------------------------
    def add_results(self, env_ids: np.ndarray, result: StepResult) -> None:
        env_ids = np.asarray(env_ids)
        mask = self._awaiting[env_ids]
        if not mask.any():
            return
        ids = env_ids[mask]
        t = self._started[ids] - 1
        res = result._replace(v_final=np.where(result.truncated, result.v_final, 0.0),
                              success=np.zeros(len(env_ids), bool) if result.success is None else result.success)
        for name in _RESULT_FIELDS:
            value = np.asarray(getattr(res, name))[mask]
            self._alloc(name, value, self.T)
            self._write(name, ids, t, value)
        self._awaiting[ids] = False

    def add_starts(self, env_ids: np.ndarray, start: StepStart) -> list[Trajectory]:
        """Open a step for each env; returns the fragments this completed (bootstrapped)."""
        env_ids = np.asarray(env_ids)
        if self._awaiting[env_ids].any():
            bad = env_ids[self._awaiting[env_ids]].tolist()
            raise RuntimeError(f"envs {bad}: a new step was opened before the last one's result arrived")
        if start.version is None:
            start = start._replace(version=np.zeros(len(env_ids), np.int64))
        out = []
        full = np.flatnonzero(self._started[env_ids] == self.T)
        for j in full.tolist():
            out.append(self._emit(int(env_ids[j]), float(start.value[j])))
        self._started[env_ids[full]] = 0
        t = self._started[env_ids]
        for name in _START_FIELDS:
            value = getattr(start, name)
            if value is None:
                continue
            if name == "carry":
                self._add_carry(env_ids, t, value)
                continue
            self._alloc(name, value, self.T)
            self._write(name, env_ids, t, value)
        self._started[env_ids] += 1
        self._awaiting[env_ids] = True
        self._seen[env_ids] = True
        return out

    def _add_carry(self, env_ids: np.ndarray, t: np.ndarray, carry: Any) -> None:
        """Keep the carry of the envs whose new step opens a chunk (t a multiple of carry_every)."""
        if not jax.tree.leaves(carry):
            return
        self._alloc("carry", carry, self.T // self.carry_every)
        at_start = t % self.carry_every == 0
        if at_start.any():
            self._write("carry", env_ids[at_start], t[at_start] // self.carry_every,
                        jax.tree.map(lambda x: np.asarray(x)[at_start], carry))

    def _emit(self, e: int, bootstrap: float) -> Trajectory:
        get = lambda name: self._read(name, e) if name in self._buf else None  # noqa: E731
        return Trajectory(obs=get("obs"), action=get("action"), log_prob=get("log_prob"), value=get("value"),
                          reward=get("reward"), terminated=get("terminated"), truncated=get("truncated"),
                          v_final=get("v_final"), reset=get("reset"), carry=get("carry") if "carry" in self._buf else (),
                          ref_logits=get("ref_logits"), episode_return=get("episode_return"),
                          episode_length=get("episode_length"), success=get("success"), bootstrap_value=bootstrap,
                          crashed=get("crashed"), env_ids=e, version=get("version"))
