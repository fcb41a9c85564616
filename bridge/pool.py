"""The pool: N simulators in W worker processes, stepped sync or EnvPool-style async.

    pool.reset()                     -> Batch of all envs (sync)
    pool.step(actions)               -> Batch of all envs, ordered by env id (sync)
    pool.send(actions, env_ids)      -> None; those envs start stepping
    pool.recv()                      -> Batch of the first `batch_size` envs that are ready

Every env is, at any time, in one of three states: HELD (its latest result was handed to
the caller, who owes it an action), IN_FLIGHT (a worker is stepping/resetting it) or
READY (its result is in the slabs, waiting for recv). `send` accepts only HELD envs and
`recv` returns each READY env exactly once, so every env sent is returned exactly once.

Auto-reset (same-step): in the Batch of the step that ends an episode, `terminated` or
`truncated` is set, `final_obs` holds that episode's last observation and
`episode_return`/`episode_length` its totals, while `obs` already holds the first
observation of the next episode. The next action applies to the new episode.

Faults (see docs/bridge.md):
  * a worker that dies (SIGKILL, segfault, os._exit) or hangs past `step_timeout`
    (`reset_timeout` while starting/resetting) is killed, reaped and restarted; each of its
    envs ends its episode with `truncated=True, crashed=True`, `final_obs` = its last
    observation, and the next observation comes from a fresh simulator. Other workers keep
    stepping throughout.
  * a simulator exception is, per `on_simulator_error`, either a per-env restart (same
    truncated/crashed report) or a `SimulatorError` raised by recv/step, after which the
    pool refuses further use (close it). Never a deadlock: recv raises instead of waiting
    for envs that nobody is stepping.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import selectors
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal, Mapping

import numpy as np

from bridge.shm import SharedSlabs, SlabLayout, aligned_empty, remove_stale_segments
from bridge.simulator import SimulatorFactory
from bridge.spec import EnvSpec, as_action_dict, validate_actions
from bridge.worker import PHASE_RESET, WorkerArgs, run_worker

HELD, IN_FLIGHT, READY = 0, 1, 2


@dataclass(frozen=True)
class PoolConfig:
    num_envs: int
    num_workers: int
    batch_size: int | None = None        # recv() size in async mode; None = num_envs
    seed: int = 0                        # reset() seeds env i with seed + i
    step_timeout: float = 60.0           # a step taking longer = hung worker
    reset_timeout: float = 300.0         # worker start-up and resets (Minecraft is slow)
    on_simulator_error: Literal["restart", "raise"] = "restart"
    max_worker_restarts: int = 1000      # across the pool's life; beyond it, raise
    validate_actions: bool = True
    flush_interval: float = 5e-4         # see worker.py
    start_method: str = "spawn"

    def __post_init__(self):
        if self.num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {self.num_envs}")
        if not 1 <= self.num_workers <= self.num_envs:
            raise ValueError(f"num_workers must be in [1, num_envs={self.num_envs}], "
                             f"got {self.num_workers}")
        if self.batch_size is not None and not 1 <= self.batch_size <= self.num_envs:
            raise ValueError(f"batch_size must be in [1, num_envs={self.num_envs}], "
                             f"got {self.batch_size}")
        if self.on_simulator_error not in ("restart", "raise"):
            raise ValueError(f"on_simulator_error must be 'restart' or 'raise', "
                             f"got {self.on_simulator_error!r}")
        if self.step_timeout <= 0 or self.reset_timeout <= 0:
            raise ValueError("step_timeout and reset_timeout must be > 0")


@dataclass(frozen=True)
class Batch:
    """Results of `len(env_ids)` envs; private numpy copies (safe to keep).

    obs[k], final_obs[k]: [B, *shape]; final_obs rows are zero unless the episode ended.
    reward, episode_return: float64 [B]; episode_length: int64 [B];
    terminated, truncated, crashed: bool [B] (crashed implies truncated).
    """

    env_ids: np.ndarray
    obs: dict[str, np.ndarray]
    reward: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    crashed: np.ndarray
    episode_return: np.ndarray
    episode_length: np.ndarray
    final_obs: dict[str, np.ndarray]
    shares_memory: bool = False  # True: obs are views into the slabs (see recv(copy=False))

    @property
    def done(self) -> np.ndarray:
        return self.terminated | self.truncated

    def __len__(self) -> int:
        return len(self.env_ids)


class SimulatorError(RuntimeError):
    """A simulator raised and the policy is 'raise' (or it could not be created)."""


class WorkerError(RuntimeError):
    """Workers keep failing beyond `max_worker_restarts`."""


class Pool:
    def __init__(self, factory: SimulatorFactory, config: PoolConfig, spec: EnvSpec | None = None):
        self.config = config
        self.factory = factory
        if spec is None:  # probe one instance in-process; pass `spec` for expensive simulators
            probe = factory(0)
            spec = probe.spec
            probe.close()
        self.spec = spec
        self.num_envs = config.num_envs
        self.batch_size = config.batch_size or config.num_envs
        remove_stale_segments()
        self._slabs = SharedSlabs.create(self._layout(spec, config))
        s = self._slabs
        self._obs = {k: s[f"obs/{k}"] for k in spec.observation}
        self._final_obs = {k: s[f"final_obs/{k}"] for k in spec.observation}
        self._action = {k: s[f"action/{k}"] for k in spec.action}
        self._reward, self._terminated = s["reward"], s["terminated"]
        self._truncated, self._crashed = s["truncated"], s["crashed"]
        self._ep_return, self._ep_length = s["episode_return"], s["episode_length"]
        self._hb_time, self._hb_phase = s["heartbeat_time"], s["heartbeat_phase"]

        W, N = config.num_workers, config.num_envs
        bounds = np.linspace(0, N, W + 1).round().astype(int)
        self._env_range = [(int(bounds[w]), int(bounds[w + 1])) for w in range(W)]
        self._worker_of = np.repeat(np.arange(W), np.diff(bounds))
        self._step_all_msg = [b"S" + np.arange(a, b, dtype=np.int32).tobytes()
                              for a, b in self._env_range]
        self._all_ids = np.arange(N)
        self._state = np.full(N, HELD, np.int8)
        self._needs_reset = True
        self._awaiting_start = np.zeros(N, bool)   # result becomes READY when the worker is up
        self._crash_on_send = np.zeros(N, bool)    # lost while HELD: next send reports the crash
        self._ready: deque[int] = deque()
        self._inflight = np.zeros(W, np.int64)
        self._starting = np.zeros(W, bool)
        self._busy_since = np.zeros(W)
        self._restarts = np.zeros(W, np.int64)
        self._broken: str | None = None
        self._closed = False
        self._ctx = mp.get_context(config.start_method)
        self._selector = selectors.DefaultSelector()
        self._procs: list[Any] = [None] * W
        self._conns: list[Any] = [None] * W
        self._finalizer = weakref.finalize(self, _shutdown, self._procs, self._conns, self._slabs)
        for w in range(W):
            self._spawn(w, initial_seeds=None)

    # ------------------------------------------------------------------ layout / workers
    @staticmethod
    def _layout(spec: EnvSpec, config: PoolConfig) -> SlabLayout:
        N, W = config.num_envs, config.num_workers
        fields: dict[str, tuple[tuple[int, ...], Any]] = {}
        for k, f in spec.observation.items():
            fields[f"obs/{k}"] = ((N, *f.shape), f.dtype)
            fields[f"final_obs/{k}"] = ((N, *f.shape), f.dtype)
        for k, f in spec.action.items():
            fields[f"action/{k}"] = ((N, *f.shape), f.dtype)
        fields.update({
            "reward": ((N,), np.float64), "terminated": ((N,), np.bool_),
            "truncated": ((N,), np.bool_), "crashed": ((N,), np.bool_),
            "episode_return": ((N,), np.float64), "episode_length": ((N,), np.int64),
            "heartbeat_time": ((W,), np.float64), "heartbeat_phase": ((W,), np.int8)})
        return SlabLayout.build(fields)

    def _spawn(self, w: int, initial_seeds: tuple[int, ...] | None) -> None:
        start, stop = self._env_range[w]
        args = WorkerArgs(
            worker_index=w, env_start=start, env_stop=stop, factory=self.factory,
            segment=self._slabs.name, layout=self._slabs.layout,
            obs_keys=tuple(self.spec.observation), action_keys=tuple(self.spec.action),
            parent_pid=os.getpid(),
            # PDEATHSIG fires when the *thread* that spawned us exits; only safe from main.
            use_pdeathsig=threading.current_thread() is threading.main_thread(),
            initial_seeds=initial_seeds,
            restart_on_error=self.config.on_simulator_error == "restart",
            flush_interval=self.config.flush_interval,
            restart_seed_base=self.config.seed + 1_000_003 * (1 + int(self._restarts[w])))
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        proc = self._ctx.Process(target=run_worker, args=(args, child_conn),
                                 name=f"bridge-worker-{w}", daemon=True)
        proc.start()
        child_conn.close()
        self._selector.register(parent_conn, selectors.EVENT_READ, ("msg", w))
        self._selector.register(proc.sentinel, selectors.EVENT_READ, ("exit", w))
        self._procs[w], self._conns[w] = proc, parent_conn
        self._busy_since[w] = time.monotonic()
        self._starting[w] = True  # until its b"U": start-up is judged by reset_timeout

    def worker_pids(self) -> list[int]:
        """Process ids of the current workers (for monitoring and fault tests)."""
        return [p.pid for p in self._procs]

    def worker_of(self, env_id: int) -> int:
        return int(self._worker_of[env_id])

    @property
    def broken(self) -> bool:
        """True once a 'raise'-policy simulator error poisoned the pool (close it and start a new one)."""
        return self._broken is not None

    @property
    def restart_counts(self) -> np.ndarray:
        return self._restarts.copy()

    # ------------------------------------------------------------------ public API
    def reset(self, seed: int | None = None) -> Batch:
        """Reset every env (env i gets `seed + i`; default `config.seed`); wait for all."""
        self.async_reset(seed)
        return self._collect(self.num_envs, sort=True)

    def async_reset(self, seed: int | None = None) -> None:
        """Start resetting every env; results come from recv(). Drains in-flight steps."""
        self._check_usable()
        self._drain()
        base = self.config.seed if seed is None else int(seed)
        self._crash_on_send[:] = False
        self._awaiting_start[:] = False
        self._ready.clear()
        for w, (start, stop) in enumerate(self._env_range):
            ids = np.arange(start, stop, dtype=np.int32)
            seeds = (base + ids.astype(np.int64)) % (2**63 - 1)
            self._state[start:stop] = IN_FLIGHT
            self._inflight[w] = stop - start
            self._post(w, b"R" + ids.tobytes() + seeds.astype(np.int64).tobytes())
        self._needs_reset = False

    def step(self, actions: Any, copy: bool = True) -> Batch:
        """Step every env with `actions` ([num_envs, ...] per field); wait for all."""
        self.send(actions)
        return self._collect(self.num_envs, sort=True, copy=copy)

    def send(self, actions: Any, env_ids: Any = None) -> None:
        """Give actions to envs previously returned by recv/reset/step (HELD envs)."""
        self._check_usable()
        if self._needs_reset:
            raise RuntimeError("call reset() or async_reset() before send()/step()")
        if env_ids is None:
            ids = self._all_ids
        else:
            ids = np.asarray(env_ids).reshape(-1)
            if ids.dtype.kind not in "iu":
                raise TypeError(f"env_ids must be integers, got dtype {ids.dtype}")
            if ids.size and (ids.min() < 0 or ids.max() >= self.num_envs):
                raise ValueError(f"env_ids out of range [0, {self.num_envs}): {ids.tolist()}")
            if len(np.unique(ids)) != len(ids):
                raise ValueError(f"env_ids has duplicates: {ids.tolist()}")
        not_held = ids[self._state[ids] != HELD]
        if not_held.size:
            raise RuntimeError(f"envs {not_held.tolist()} are already stepping or waiting "
                               f"to be received; send only envs returned by recv()")
        acts = as_action_dict(actions, self.spec)
        if self.config.validate_actions:
            acts = validate_actions(acts, self.spec, ids)
        for k, arr in self._action.items():
            arr[ids] = acts[k]
        lost = self._crash_on_send[ids]
        if lost.any():  # their simulator died while the caller held them
            for e in ids[lost].tolist():
                self._crash_on_send[e] = False
                w = self.worker_of(e)
                if self._starting[w]:
                    self._state[e], self._awaiting_start[e] = IN_FLIGHT, True
                    self._inflight[w] += 1
                else:
                    self._state[e] = READY
                    self._ready.append(e)
            ids = ids[~lost]
        if not ids.size:
            return
        self._state[ids] = IN_FLIGHT
        if ids is self._all_ids:  # sync step: every worker gets its whole block
            for w, (start, stop) in enumerate(self._env_range):
                self._inflight[w] += stop - start
                self._post(w, self._step_all_msg[w])
            return
        workers = self._worker_of[ids]
        for w in np.unique(workers).tolist():
            mine = ids[workers == w].astype(np.int32)
            self._inflight[w] += len(mine)
            self._post(w, b"S" + mine.tobytes())

    def recv(self, batch_size: int | None = None, timeout: float | None = None,
             copy: bool = True) -> Batch:
        """Return the first `batch_size` (default `config.batch_size`) envs that are ready.

        copy=False: when the returned env ids are a contiguous ascending range (always the
        case for step(); in async mode only by chance) `obs` are *views* of the slabs, valid
        until those envs are sent again — for a consumer that copies them right away (e.g.
        jaxcraft's bridge_arrays). Otherwise the rows are gathered into fresh arrays.
        """
        return self._collect(batch_size or self.batch_size, sort=False, timeout=timeout,
                             copy=copy)

    def close(self) -> None:
        """Stop workers (politely, then SIGKILL), reap them and unlink the shared memory."""
        if self._closed:
            return
        self._closed = True
        for c in self._conns:
            try:
                c.send_bytes(b"C")
            except (OSError, AttributeError):
                pass
        self._finalizer()
        self._selector.close()

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ internals
    def _check_usable(self) -> None:
        if self._closed:
            raise RuntimeError("pool is closed")
        if self._broken:
            raise SimulatorError(f"pool unusable after a simulator error (close it):\n{self._broken}")

    def _post(self, w: int, msg: bytes) -> None:
        self._busy_since[w] = time.monotonic()
        try:
            self._conns[w].send_bytes(msg)
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass  # the worker is dead; its sentinel fires in the next wait

    def _collect(self, n: int, sort: bool, timeout: float | None = None,
                 copy: bool = True) -> Batch:
        self._check_usable()
        if not 1 <= n <= self.num_envs:
            raise ValueError(f"batch_size must be in [1, {self.num_envs}], got {n}")
        deadline = None if timeout is None else time.monotonic() + timeout
        while len(self._ready) < n:
            waiting = int(self._inflight.sum())
            if len(self._ready) + waiting < n:
                raise RuntimeError(
                    f"recv() wants {n} envs but only {len(self._ready)} are ready and "
                    f"{waiting} in flight; send() actions for more envs first")
            self._poll(deadline)
        ids = np.array([self._ready.popleft() for _ in range(n)], dtype=np.int64)
        if sort:
            ids.sort()
        self._state[ids] = HELD
        return self._gather(ids, copy)

    def _drain(self) -> None:
        while self._inflight.sum():
            self._poll(None)
        self._state[self._state == READY] = HELD
        self._ready.clear()

    def _gather(self, ids: np.ndarray, copy: bool = True) -> Batch:
        """The one copy out of shared memory: gathers into fresh 64-byte-aligned arrays
        (aligned so that JAX on CPU adopts them without a second copy).

        Scalars are always copied; observations are slab views when `copy=False` and the
        ids form a contiguous ascending range (no gather at all).
        """
        contiguous = bool((np.diff(ids) == 1).all())
        views = not copy and contiguous
        if views:
            rows = slice(int(ids[0]), int(ids[-1]) + 1)
            obs = {k: a[rows] for k, a in self._obs.items()}
        else:
            obs = {}
            rows_list = ids.tolist()
            for k, a in self._obs.items():
                out = obs[k] = aligned_empty((len(ids), *a.shape[1:]), a.dtype)
                for j, e in enumerate(rows_list):  # row memcpy; ~3x faster than np.take
                    out[j] = a[e]
        term, trunc = self._terminated[ids], self._truncated[ids]
        done = term | trunc
        final = {}
        any_done = bool(done.any())
        for k, arr in self._final_obs.items():
            shape = (len(ids), *arr.shape[1:])
            if any_done:
                final[k] = np.zeros(shape, arr.dtype)
                final[k][done] = arr[ids[done]]
            else:  # the common case: a free read-only view of zeros, same shape
                final[k] = np.broadcast_to(np.zeros((1,) * len(shape), arr.dtype), shape)
        return Batch(env_ids=ids, obs=obs,
                     reward=self._reward[ids], terminated=term, truncated=trunc,
                     crashed=self._crashed[ids], episode_return=self._ep_return[ids],
                     episode_length=self._ep_length[ids], final_obs=final,
                     shares_memory=views)

    def _poll(self, deadline: float | None) -> None:
        """Wait for worker messages or deaths (bounded by the next hang deadline)."""
        now = time.monotonic()
        wait_s = 1.0
        for w in np.flatnonzero(self._inflight).tolist():
            wait_s = min(wait_s, self._hang_deadline(w) - now)
        if deadline is not None:
            if now >= deadline:
                raise TimeoutError("recv() timed out")
            wait_s = min(wait_s, deadline - now)
        dead = set()
        # One epoll over every pipe and process sentinel, registered once per worker start.
        for key, _ in self._selector.select(timeout=max(wait_s, 0.0)):
            kind, w = key.data
            if kind == "exit":
                dead.add(w)
                continue
            try:
                self._on_message(w, self._conns[w].recv_bytes())  # one message per wake-up
            except (EOFError, OSError):
                dead.add(w)
        for w in sorted(dead):
            proc = self._procs[w]
            proc.join(timeout=5.0)
            self._restart(w, f"worker {w} (pid {proc.pid}) died with exit code {proc.exitcode}")
        now = time.monotonic()
        for w in np.flatnonzero(self._inflight).tolist():
            if w not in dead and now > self._hang_deadline(w):
                proc = self._procs[w]
                proc.kill()
                proc.join(timeout=5.0)
                self._restart(w, f"worker {w} (pid {proc.pid}) hung")

    def _hang_deadline(self, w: int) -> float:
        slow = self._starting[w] or self._hb_phase[w] == PHASE_RESET
        limit = self.config.reset_timeout if slow else self.config.step_timeout
        return max(self._busy_since[w], self._hb_time[w]) + limit

    def _on_message(self, w: int, msg: bytes) -> None:
        tag = msg[:1]
        if tag == b"E":
            info = pickle.loads(msg[1:])
            self._broken = (f"simulator of env {info['env_id']} (worker {info['worker']}) raised "
                            f"during {info['during']}: {info['error']}\n{info['traceback']}")
            raise SimulatorError(self._broken)
        ids = np.frombuffer(msg, np.int32, offset=1)
        if tag == b"U":
            self._starting[w] = False
            ids = ids[self._awaiting_start[ids]]
            self._awaiting_start[ids] = False
        ids = ids[self._state[ids] == IN_FLIGHT]
        self._state[ids] = READY
        self._inflight[w] -= len(ids)
        self._ready.extend(ids.tolist())

    def _restart(self, w: int, reason: str) -> None:
        """Replace worker w; end each of its envs' episodes as truncated + crashed."""
        self._restarts[w] += 1
        if self._restarts.sum() > self.config.max_worker_restarts:
            self._broken = f"{reason}; exceeded max_worker_restarts={self.config.max_worker_restarts}"
            raise WorkerError(self._broken)
        for obj in (self._conns[w], self._procs[w].sentinel):
            try:
                self._selector.unregister(obj)
            except (KeyError, ValueError):
                pass
        try:
            self._conns[w].close()
        except OSError:
            pass
        try:
            self._procs[w].close()  # releases the sentinel fd (the process was joined)
        except ValueError:
            self._procs[w].kill()  # still alive after join's grace period: make sure
            self._procs[w].join()
            self._procs[w].close()
        self._procs[w] = self._conns[w] = None
        start, stop = self._env_range[w]
        ready_ids = set(self._ready)
        for e in range(start, stop):
            ended = bool(self._terminated[e] or self._truncated[e])
            if self._state[e] == READY and ended:
                pass  # a finished episode, intact; its next obs will come from a new sim
            else:
                for k, arr in self._obs.items():
                    self._final_obs[k][e] = arr[e]
                if self._state[e] != READY:
                    self._reward[e] = 0.0
                    self._terminated[e] = False
                self._truncated[e] = self._crashed[e] = True
            if self._state[e] == HELD:
                self._crash_on_send[e] = True
            else:
                self._state[e] = IN_FLIGHT
                self._awaiting_start[e] = True
                ready_ids.discard(e)
        if len(ready_ids) != len(self._ready):
            self._ready = deque(e for e in self._ready if e in ready_ids)
        self._inflight[w] = int(((self._state == IN_FLIGHT) & (self._worker_of == w)).sum())
        base = self.config.seed + 1_000_003 * int(self._restarts[w])
        seeds = tuple((base + e) % (2**31 - 1) for e in range(start, stop))
        self._spawn(w, initial_seeds=seeds)


def _shutdown(procs: list, conns: list, slabs: SharedSlabs) -> None:
    deadline = time.monotonic() + 2.0
    for p in procs:
        if p is not None:
            p.join(timeout=max(0.0, deadline - time.monotonic()))
    for p in procs:
        if p is not None and p.is_alive():
            p.kill()
            p.join(timeout=5.0)
    for c in conns:
        try:
            if c is not None:
                c.close()
        except OSError:
            pass
    slabs.close()
