"""The pool: N simulators in W worker processes, stepped sync or EnvPool-style async.

    pool.reset()                     -> Batch of all envs (sync)
    pool.step(actions)               -> Batch of all envs, ordered by env id (sync)
    pool.send(actions, env_ids)      -> None; those envs start stepping
    pool.recv()                      -> Batch of the first `batch_size` envs that are ready

Env states (HELD / IN_FLIGHT / READY) live in `env_states.py`, the wire protocol in
`protocol.py`, the shared-memory fields and the gather in `slab_views.py`.

Auto-reset (same-step): in the Batch of the step that ends an episode, `terminated` or
`truncated` is set, `final_obs` holds that episode's last observation and
`episode_return`/`episode_length` its totals, while `obs` already holds the first
observation of the next episode. The next action applies to the new episode.

Faults (see docs/bridge.md):
  * a worker that dies (SIGKILL, segfault, os._exit), hangs past `step_timeout`
    (`reset_timeout` while starting/resetting) or stops heartbeating for `step_timeout`
    (SIGSTOP, any phase) is killed, reaped and restarted; each of its
    envs ends its episode with `truncated=True, crashed=True`, `final_obs` = its last
    observation, and the next observation comes from a fresh simulator. Other workers keep
    stepping throughout.
  * a simulator exception is, per `on_simulator_error`, either a per-env restart (same
    truncated/crashed report) or a `SimulatorError` raised by recv/step, after which the
    pool refuses further use (`broken`; close it). A failure that repeats without
    progress (`max_consecutive_failures`), a worker that never came up, or restarts
    beyond `max_restarts_per_minute` raise instead of looping. Never a deadlock: recv raises instead
    of waiting for envs that nobody is stepping.
"""
from __future__ import annotations

import os
import threading
import time
from typing import Any

import numpy as np

from bridge import protocol as P
from bridge.batch import Batch
from bridge.config import PoolConfig
from bridge.env_states import HELD, IN_FLIGHT, READY, EnvStates  # noqa: F401 (re-exported)
from bridge.errors import SimulatorError, WorkerError
from bridge.handoff import AdaptiveSpin
from bridge.processes import WorkerProcesses
from bridge.restart_budget import RestartBudget
from bridge.shm import SharedSlabs, remove_stale_segments
from bridge.simulator import SimulatorFactory
from bridge.slab_views import SlabViews
from bridge.spec import EnvSpec, as_action_dict, validate_actions
from bridge.worker import PHASE_RESET, WorkerArgs, run_worker

__all__ = ["Batch", "Pool", "PoolConfig", "SimulatorError", "WorkerError"]


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
        W, N = config.num_workers, config.num_envs
        self._slabs = SharedSlabs.create(SlabViews.layout(spec, N, W))
        self._views = SlabViews(self._slabs, spec.observation, spec.action)
        self._obs = self._views.obs  # the observation slabs (tests check views against them)
        bounds = np.linspace(0, N, W + 1).round().astype(int)
        self._env_range = [(int(bounds[w]), int(bounds[w + 1])) for w in range(W)]
        self._envs = EnvStates(self._env_range)
        self._step_all_msg = [P.encode_ids(P.STEP, np.arange(a, b)) for a, b in self._env_range]
        self._all_ids = np.arange(N)
        self._needs_reset = True
        self._starting = np.zeros(W, bool)
        self._busy_since = np.zeros(W)
        self._spawned_at = np.zeros(W)
        self._cpu_seen = np.full(W, -1.0)   # worker CPU time at the last liveness look
        self._cpu_alive = np.zeros(W)       # when that CPU time was seen advancing
        self._budget = RestartBudget(config, W)
        self._restarts = self._budget.restarts
        self._fatal: list[str] = [""] * W             # a worker's own last words (FATAL)
        self._extras: dict[int, Any] = {}             # EXTRAS not yet handed out
        self._calling = np.zeros(W, bool)             # a CALL awaits this worker's RESULT
        self._results: dict[int, dict] = {}
        self._broken: str | None = None
        self._closed = False
        # Hand-off (handoff.py): commands posted to / messages received from each worker,
        # mirrored by the workers' counters in the slab; the pool spins on done_seq.
        self._cmd_seq = self._views.cmd_seq
        self._done_col = self._views.done_seq[:, 0]
        self._done_seen = np.zeros(W, np.uint64)
        self._spin = AdaptiveSpin(config.spin_us) if config.spin_us > 0 else None
        self._workers = WorkerProcesses(W, config.start_method, self._slabs, self)
        for w in range(W):
            self._spawn(w, initial_seeds=None)

    # ------------------------------------------------------------------ workers
    def _spawn(self, w: int, initial_seeds: tuple[int, ...] | None) -> None:
        start, stop = self._env_range[w]
        args = WorkerArgs(
            worker_index=w, env_start=start, env_stop=stop, factory=self.factory,
            segment=self._slabs.name, layout=self._slabs.layout,
            obs_fields=dict(self.spec.observation), action_keys=tuple(self.spec.action),
            parent_pid=os.getpid(),
            # PDEATHSIG fires when the *thread* that spawned us exits; only safe from main.
            use_pdeathsig=threading.current_thread() is threading.main_thread(),
            initial_seeds=initial_seeds,
            restart_on_error=self.config.on_simulator_error == "restart",
            flush_interval=self.config.flush_interval,
            restart_seed_base=self.config.seed + 1_000_003 * (1 + int(self._restarts[w])),
            max_consecutive_failures=self.config.max_consecutive_failures,
            auto_reset=self.config.auto_reset, spin_us=self.config.spin_us)
        self._views.alive_time[w] = 0.0
        self._cmd_seq[w, 0] = self._done_col[w] = self._done_seen[w] = 0  # a fresh pipe
        self._spawned_at[w] = time.monotonic()
        self._cpu_seen[w], self._cpu_alive[w] = -1.0, 0.0
        self._fatal[w] = ""
        self._workers.start(w, run_worker, args)
        self._busy_since[w] = time.monotonic()
        self._starting[w] = True  # until its UP: start-up is judged by reset_timeout

    def worker_pids(self) -> list[int]:
        """Process ids of the current workers (for monitoring and fault tests)."""
        return self._workers.pids()

    def worker_of(self, env_id: int) -> int:
        return int(self._envs.worker_of[env_id])

    @property
    def broken(self) -> bool:
        """True once a 'raise'-policy simulator error poisoned the pool (close it and start a new one)."""
        return self._broken is not None

    @property
    def restart_counts(self) -> np.ndarray:
        return self._restarts.copy()

    @property
    def broken(self) -> bool:
        """True once a simulator error (policy 'raise') or exhausted restarts poisoned the
        pool: every further call raises; close it and build a new one."""
        return self._broken is not None

    # ------------------------------------------------------------------ public API
    def reset(self, seed: int | None = None) -> Batch:
        """Reset every env (env i gets `seed + i`; default `config.seed`); wait for all."""
        self.async_reset(seed)
        return self._collect(self.num_envs, sort=True)

    def async_reset(self, seed: int | None = None) -> None:
        """Start resetting every env; results come from recv(). Drains in-flight steps."""
        self.drain()
        base = self.config.seed if seed is None else int(seed)
        self._envs.start_reset_all()
        for w, (start, stop) in enumerate(self._env_range):
            ids = np.arange(start, stop, dtype=np.int64)
            self._post(w, P.encode_reset(ids, (base + ids) % (2**63 - 1)), fresh=True)
        self._needs_reset = False

    def reset_envs(self, env_ids: Any, seeds: Any, options: Any = None) -> None:
        """Start resetting some held envs with one seed each (None = continue its RNG) and
        `options` passed to every reset; results come from recv()."""
        self._check_usable()
        ids = self._check_ids(env_ids)
        seeds = [-1 if s is None else int(s) for s in seeds]
        if len(seeds) != len(ids):
            raise ValueError(f"{len(seeds)} seeds for {len(ids)} envs")
        if any(s < -1 for s in seeds):
            raise ValueError(f"seeds must be >= 0 or None, got {seeds}")
        envs = self._envs
        envs.crash_on_send[ids] = False  # a reset supersedes a pending crash report
        envs.state[ids] = IN_FLIGHT
        workers = envs.worker_of[ids]
        seeds_arr = np.asarray(seeds, np.int64)
        for w in np.unique(workers).tolist():
            mine = workers == w
            self._post(w, P.encode_reset(ids[mine], seeds_arr[mine], options),
                       fresh=not envs.inflight[w])
            envs.sent(w, int(mine.sum()))
        self._needs_reset = False

    def call(self, method: str, calls: Any) -> dict[int, tuple[bool, Any]]:
        """`simulator.<method>(*args)` for each `env_id: args` of `calls`, in the workers;
        returns `{env_id: (ok, result or exception)}`. Only while no env is in flight."""
        self._check_usable()
        if self._envs.inflight.any() or self._envs.ready:
            raise RuntimeError("call() needs every env held by the caller (recv them first)")
        by_worker: dict[int, dict] = {}
        for e, args in dict(calls).items():
            by_worker.setdefault(self.worker_of(int(e)), {})[int(e)] = tuple(args)
        self._results = {}
        for w, mine in by_worker.items():
            self._calling[w] = True
            self._post(w, P.encode_pickled(P.CALL, (method, mine)), fresh=True)
        while self._calling.any():
            self._poll(None)
        out: dict[int, tuple[bool, Any]] = {}
        for res in self._results.values():
            out.update(res)
        return out

    def step(self, actions: Any, copy: bool = True) -> Batch:
        """Step every env with `actions` ([num_envs, ...] per field); wait for all."""
        self.send(actions)
        return self._collect(self.num_envs, sort=True, copy=copy)

    def _check_ids(self, env_ids: Any) -> np.ndarray:
        """Validated held env ids (None = all)."""
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
        not_held = self._envs.not_held(ids)
        if not_held.size:
            raise RuntimeError(f"envs {not_held.tolist()} are already stepping or waiting "
                               f"to be received; send only envs returned by recv()")
        return ids

    def send(self, actions: Any, env_ids: Any = None, objects: Any = None) -> None:
        """Give actions to envs previously returned by recv/reset/step (HELD envs).

        `objects`: one action object per env, pickled to the workers instead of written
        to the slabs (for action spaces that have no fixed-shape fields; `actions` unused).
        """
        self._check_usable()
        if self._needs_reset:
            raise RuntimeError("call reset() or async_reset() before send()/step()")
        ids = self._check_ids(env_ids)
        envs = self._envs
        if objects is None:
            acts = as_action_dict(actions, self.spec)
            if self.config.validate_actions:
                acts = validate_actions(acts, self.spec, ids)
            rows = slice(None) if ids is self._all_ids else ids
            for k, arr in self._views.action.items():
                arr[rows] = acts[k]
        else:
            objects = list(objects)
            if len(objects) != len(ids):
                raise ValueError(f"{len(objects)} action objects for {len(ids)} envs")
            obj_of = dict(zip(ids.tolist(), objects))
        all_ids = ids is self._all_ids
        if envs.crash_on_send.any():  # some env's simulator died while the caller held it
            ids = envs.settle_lost(ids, self._starting)
        if not ids.size:
            return
        envs.state[slice(None) if ids is self._all_ids else ids] = IN_FLIGHT
        if objects is not None:
            workers = envs.worker_of[ids]
            for w in np.unique(workers).tolist():
                mine = ids[workers == w].tolist()
                self._post(w, P.encode_pickled(P.ACT, (mine, [obj_of[e] for e in mine])),
                           fresh=not envs.inflight[w])
                envs.sent(w, len(mine))
            return
        if all_ids and len(ids) == self.num_envs:  # sync step: every worker, whole block
            for w, (start, stop) in enumerate(self._env_range):
                self._post(w, self._step_all_msg[w], fresh=not envs.inflight[w])
                envs.sent(w, stop - start)
            return
        workers = envs.worker_of[ids]
        for w in np.unique(workers).tolist():
            mine = ids[workers == w]
            self._post(w, P.encode_ids(P.STEP, mine), fresh=not envs.inflight[w])
            envs.sent(w, len(mine))

    def recv(self, batch_size: int | None = None, timeout: float | None = None,
             copy: bool = True, ordered: bool = False) -> Batch:
        """Return the first `batch_size` (default `config.batch_size`) envs that are ready.

        copy=False: when the returned env ids are a contiguous ascending range (always the
        case for step(); in async mode only by chance) `obs` are *views* of the slabs, valid
        until those envs are sent again — for a consumer that copies them right away (e.g.
        jaxcraft's bridge_arrays). Otherwise the rows are gathered into fresh arrays.
        ordered=True: the batch is sorted by env id (not by readiness).
        """
        return self._collect(batch_size or self.batch_size, sort=ordered, timeout=timeout,
                             copy=copy)

    def drain(self, timeout: float | None = None) -> bool:
        """Wait (at most `timeout` s) until no env is in flight; their results are discarded
        and every env is the caller's again. True if none is left in flight.

        For an orderly stop, before close(): a worker reads CLOSE only after the step or
        reset it is running, and close() SIGKILLs a worker still busy 2 s later, which skips
        its simulators' own clean-up (a Minetest instance's directory, for one).
        """
        self._check_usable()
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while self._envs.inflight.sum():
                self._poll(deadline)
        except TimeoutError:
            return False
        self._envs.release_ready()
        return True

    def close(self) -> None:
        """Stop workers (politely, then SIGKILL), reap them and unlink the shared memory."""
        if self._closed:
            return
        self._closed = True
        self._workers.close()

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

    def _post(self, w: int, msg: bytes, fresh: bool) -> None:
        """Send a command; `fresh`: the worker was idle, so its busy clock starts now (a
        worker still busy keeps its clock, so a long reset is not judged as a step)."""
        if fresh:
            self._busy_since[w] = time.monotonic()
        self._workers.post(w, msg)
        self._cmd_seq[w, 0] += 1  # after the pipe write (handoff.py)

    def _collect(self, n: int, sort: bool, timeout: float | None = None,
                 copy: bool = True) -> Batch:
        self._check_usable()
        if not 1 <= n <= self.num_envs:
            raise ValueError(f"batch_size must be in [1, {self.num_envs}], got {n}")
        deadline = None if timeout is None else time.monotonic() + timeout
        envs = self._envs
        while len(envs.ready) < n:
            waiting = int(envs.inflight.sum())
            if len(envs.ready) + waiting < n:
                raise RuntimeError(
                    f"recv() wants {n} envs but only {len(envs.ready)} are ready and "
                    f"{waiting} in flight; send() actions for more envs first")
            self._poll(deadline)
        ids = envs.take_ready(n, sort)
        extras = None
        if self._extras:
            extras = {e: self._extras.pop(e) for e in ids.tolist() if e in self._extras}
        return self._views.gather(ids, copy, extras, ascending=sort)

    def _news(self) -> bool:
        """A worker sent a message the pool has not read yet (its counter moved)."""
        return bool((self._done_col != self._done_seen).any())

    def _poll(self, deadline: float | None) -> None:
        """Wait for worker messages or deaths (bounded by the next hang deadline).

        With `spin_us > 0`, first spin on the workers' message counters (handoff.py); a
        hit is followed by a non-blocking epoll, a miss by the blocking one, so deaths,
        hangs and timeouts are judged by the same code either way.
        """
        inflight = self._envs.inflight
        if self._calling.any():  # a worker answering a CALL is busy too (hang detection)
            inflight = inflight + self._calling
        if deadline is not None and time.monotonic() >= deadline:
            raise TimeoutError("recv() timed out")
        spin, events = self._spin, None
        if spin is not None:
            t0 = time.perf_counter()
            if spin.spin(self._news):
                events = self._workers.select(0.0)
        if events is None or not events:
            now = time.monotonic()
            wait_s = 1.0
            for w in np.flatnonzero(inflight).tolist():
                wait_s = min(wait_s, self._hang_deadline(w) - now)
            if deadline is not None:
                wait_s = min(wait_s, deadline - now)
            events = self._workers.select(wait_s)
        if spin is not None:
            spin.observe(time.perf_counter() - t0)
        dead = set()
        # One epoll over every pipe and process sentinel, registered once per worker start.
        for kind, w in events:
            if kind == "exit":
                dead.add(w)
                continue
            try:
                msg = self._workers.receive(w)  # one message per wake-up
            except (EOFError, OSError):
                dead.add(w)
                continue
            self._done_seen[w] += 1
            self._on_message(w, msg)
        for w in sorted(dead):
            proc = self._workers.procs[w]
            proc.join(timeout=5.0)
            self._restart(w, f"worker {w} (pid {proc.pid}) died with exit code {proc.exitcode}",
                          died=True)
        now = time.monotonic()
        for w in np.flatnonzero(inflight).tolist():
            if w not in dead and now > self._hang_deadline(w):
                proc = self._workers.procs[w]
                self._workers.kill(w)
                self._restart(w, f"worker {w} (pid {proc.pid}) hung (no progress or no "
                                 f"heartbeat within its timeout)", died=False)

    def _hang_deadline(self, w: int) -> float:
        """When worker w counts as hung.

        Progress: `step_timeout` after the later of its command and its last heartbeat —
        `reset_timeout` while starting, or while its heartbeat says it is resetting *for
        this command* (a RESET stamp older than the command is stale, not a reset).
        Liveness: `step_timeout` after its liveness thread's last stamp, whatever the
        phase (a SIGSTOPped or frozen process stops stamping) — unless /proc shows the
        process running and its CPU time advancing (a long C call holding the GIL, e.g.
        a JIT compile), which buys it another `step_timeout`.
        """
        v, busy = self._views, self._busy_since[w]
        fresh_reset = v.hb_phase[w] == PHASE_RESET and v.hb_time[w] >= busy
        slow = self._starting[w] or fresh_reset
        limit = self.config.reset_timeout if slow else self.config.step_timeout
        progress = max(busy, v.hb_time[w]) + limit
        alive = max(v.alive_time[w], self._cpu_alive[w])
        if alive < self._spawned_at[w]:  # its liveness thread does not run yet
            return progress
        deadline = alive + self.config.step_timeout
        if time.monotonic() > deadline:  # no stamp: stopped, or holding the GIL? Look.
            state, cpu = _process_state(self._workers.procs[w].pid)
            if state not in ("T", "t", "") and cpu != self._cpu_seen[w]:
                # Running and burning CPU (e.g. a long C call holding the GIL): alive.
                self._cpu_seen[w], self._cpu_alive[w] = cpu, time.monotonic()
                deadline = self._cpu_alive[w] + self.config.step_timeout
        return min(progress, deadline)

    def _on_message(self, w: int, msg: bytes) -> None:
        tag = P.tag_of(msg)
        if tag == P.ERROR:
            info = P.decode_error(msg)
            self._broken = (f"simulator of env {info['env_id']} (worker {info['worker']}) raised "
                            f"during {info['during']}: {info['error']}\n{info['traceback']}")
            raise SimulatorError(self._broken, info.get("exception"), info["env_id"],
                                 info["traceback"])
        if tag == P.EXTRAS:
            self._extras.update(P.decode_pickled(msg))
            return
        if tag == P.RESULT:
            self._results[w] = P.decode_pickled(msg)
            self._calling[w] = False
            return
        if tag == P.FATAL:
            self._fatal[w] = P.decode_fatal(msg)
            return
        up = tag == P.UP
        if up:
            self._starting[w] = False
            self._budget.on_up(w)
        else:
            self._budget.on_progress(w)  # it completed work: earlier deaths were not in a row
        self._envs.on_results(w, P.decode_ids(msg), up)

    def _restart(self, w: int, reason: str, died: bool) -> None:
        """Replace worker w; end each of its envs' episodes as truncated + crashed.

        Raises WorkerError (and poisons the pool) instead when restarting cannot help
        (see restart_budget.py).
        """
        if self._fatal[w]:
            reason += f"; its error: {self._fatal[w]}"
        failure = self._budget.charge(w, reason, died)
        if failure is not None:
            self._fail(failure)
        self._workers.release(w)
        if self._calling[w]:  # a CALL it will never answer
            start, stop = self._env_range[w]
            self._results[w] = {e: (False, WorkerError(reason)) for e in range(start, stop)}
            self._calling[w] = False
        for e in range(*self._env_range[w]):
            self._extras.pop(e, None)
        self._envs.on_worker_lost(w, self._views)
        start, stop = self._env_range[w]
        base = self.config.seed + 1_000_003 * int(self._restarts[w])
        seeds = tuple((base + e) % (2**31 - 1) for e in range(start, stop))
        self._spawn(w, initial_seeds=seeds)

    def _fail(self, message: str) -> None:
        self._broken = message
        raise WorkerError(message)


def _process_state(pid: int) -> tuple[str, float]:
    """(state letter, user + system CPU ticks) of a process from /proc; ("", -1) if gone.

    "T"/"t" = stopped (SIGSTOP) or traced: it cannot be making progress.
    """
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return fields[0], float(int(fields[11]) + int(fields[12]))
    except (OSError, IndexError, ValueError):
        return "", -1.0
