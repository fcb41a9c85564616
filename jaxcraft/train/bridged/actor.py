"""The actor thread of the bridged trainer (Sebulba-style acting while the learner updates).

Loop: `pool.recv()` the first `batch_size` ready envs → jitted inference on the mesh with
the latest published params (per-env recurrent state in a device-side table indexed by env
id) → `pool.send(actions)` right away (the simulators step while we do the bookkeeping) →
`TrajectoryAssembler` turns the batch into per-env fragments → a bounded queue.

The queue holds at most `capacity` finished fragments (one learner batch): when it is
full the actor waits, so the simulators run at most one batch ahead of the learner
("double buffering"). The learner's `take` drops fragments acted by params more than
`max_lag` updates old and reports the lag of the ones it keeps.

Errors in the thread (e.g. `SimulatorError` with on_simulator_error="raise") are re-raised
by `take`; `stop()` never blocks for longer than one recv poll plus one inference.
"""
from __future__ import annotations

import collections
import dataclasses
import threading
import time
from typing import Any, Callable, Optional

import jax
import numpy as np
from jax.sharding import Mesh

from bridge import Pool
from jaxcraft.train.bridged.arrays import batch_to_jax
from jaxcraft.train.bridged.envs import BridgedEnv
from jaxcraft.train.trajectory import Trajectory
from jaxcraft.train.bridged.trajectory_assembly import StepResult, StepStart, TrajectoryAssembler

RECV_POLL_S = 0.25  # how often a waiting actor checks for stop()


class ActorFailed(RuntimeError):
    """The actor thread stopped with an error (the cause is chained)."""


@dataclasses.dataclass
class ActorCounters:
    """Cumulative host-side counts since the actor started."""

    env_steps: int = 0           # results received (all envs)
    episodes: int = 0            # episodes ended (terminated or truncated)
    lost_episodes: int = 0       # episodes ended by a crashed/restarted simulator
    dropped_fragments: int = 0   # fragments older than max_lag, not trained on
    batches: int = 0             # recv batches
    inference_s: float = 0.0     # time in act_fn incl. device_get
    recv_s: float = 0.0          # time waiting in pool.recv
    blocked_s: float = 0.0       # time waiting for the learner (queue full)


class Actor:
    """Owns the acting side of one run; `start()` → `take()`… → `stop()`."""

    def __init__(self, pool: Pool, env: BridgedEnv, act_fn: Callable, tables: Any, key: jax.Array,
                 rollout_len: int, capacity: int, mesh: Mesh, reset_seed: int, carry_every: int = 1):
        self.pool, self.env, self.act_fn = pool, env, act_fn
        self.mesh = mesh
        self.assembler = TrajectoryAssembler(pool.num_envs, rollout_len, carry_every)
        self.capacity = capacity
        self.counters = ActorCounters()
        self._tables = tables
        self._key = key
        self._reset_seed = reset_seed
        self._params: Optional[tuple[Any, int]] = None
        self._queue: collections.deque[Trajectory] = collections.deque()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._main, name="jaxcraft-bridged-actor", daemon=True)

    # -- learner side ---------------------------------------------------------------------
    def publish(self, bundle: Any, version: int) -> None:
        """Make (params, value_norm, ref_params) of update `version` the acting policy."""
        self._params = (bundle, int(version))  # one reference swap: atomic for the reader

    def start(self) -> "Actor":
        if self._params is None:
            raise RuntimeError("publish() params before start()")
        self._thread.start()
        return self

    def take(self, n: int, version: int, max_lag: Optional[int]) -> tuple[list[Trajectory], np.ndarray]:
        """The next `n` fragments (completion order) with lag ≤ max_lag, and their lags."""
        got, lags = [], []
        with self._cond:
            while len(got) < n:
                while not self._queue:
                    self._check_alive()
                    self._cond.wait(0.5)
                frag = self._queue.popleft()
                self._cond.notify_all()
                lag = version - int(frag.version.min())
                if max_lag is not None and lag > max_lag:
                    self.counters.dropped_fragments += 1
                    continue
                got.append(frag)
                lags.append(lag)
        return got, np.asarray(lags, np.int64)

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def error(self) -> Optional[BaseException]:
        return self._error

    def _check_alive(self) -> None:
        if self._error is not None:
            raise ActorFailed(f"the bridged actor thread failed: {type(self._error).__name__}: "
                              f"{self._error}") from self._error
        if not self._thread.is_alive():
            raise ActorFailed("the bridged actor thread is not running (stopped or never started)")

    # -- actor thread ---------------------------------------------------------------------
    def _main(self) -> None:
        try:
            self.pool.async_reset(self._reset_seed)
            step = 0
            while not self._stop.is_set():
                t0 = time.perf_counter()
                try:
                    batch = self.pool.recv(timeout=RECV_POLL_S)
                except TimeoutError:
                    self.counters.recv_s += time.perf_counter() - t0
                    continue
                t1 = time.perf_counter()
                self.counters.recv_s += t1 - t0
                frags = self._act(batch, step)
                step += 1
                self.counters.inference_s += time.perf_counter() - t1
                t2 = time.perf_counter()
                with self._cond:
                    self._queue.extend(frags)
                    self._cond.notify_all()
                    while len(self._queue) >= self.capacity and not self._stop.is_set():
                        self._cond.wait(RECV_POLL_S)
                self.counters.blocked_s += time.perf_counter() - t2
        except BaseException as e:  # noqa: BLE001 - handed to the learner thread
            self._error = e
        finally:
            with self._cond:
                self._cond.notify_all()

    def _act(self, batch, step: int) -> list[Trajectory]:
        bundle, version = self._params
        ids = batch.env_ids
        done = batch.terminated | batch.truncated
        reset = self.assembler.reset_flags(ids, done)
        dev = batch_to_jax(batch, self.mesh, include_final_obs=True)
        reset_dev = jax.device_put(reset, dev["truncated"].sharding)
        key = jax.random.fold_in(self._key, step)
        self._tables, out = self.act_fn(bundle, self._tables, key, dev["env_ids"],
                                        self.env.policy_obs(dev["obs"]), self.env.policy_obs(dev["final_obs"]),
                                        reset_dev, dev["truncated"])
        out = jax.device_get(out)
        self.pool.send(self.env.to_bridge_action(out["action"]), ids)  # simulators step from here on
        self.assembler.add_results(ids, StepResult(
            reward=batch.reward.astype(np.float32), terminated=batch.terminated, truncated=batch.truncated,
            crashed=batch.crashed, v_final=out["v_final"], episode_return=batch.episode_return.astype(np.float32),
            episode_length=batch.episode_length.astype(np.int32)))
        c = self.counters
        c.batches += 1
        c.env_steps += int((~reset | done).sum())  # not the first observations after a reset
        c.episodes += int(done.sum())
        c.lost_episodes += int(batch.crashed.sum())
        return self.assembler.add_starts(ids, StepStart(
            obs=self.env.policy_obs(batch.obs), reset=reset, carry=out["carry"], action=out["action"],
            log_prob=out["log_prob"], value=out["value"], ref_logits=out.get("ref_logits"),
            version=np.full(len(ids), version, np.int64)))

