"""Worker process: hosts K simulators, steps them on command, writes results to the slabs.

Control path: the messages of `bridge.protocol` on a duplex pipe (bytes only — arrays
never cross it). Results are checked against the spec (`obs_check.py`) and written to
the slabs *before* their ids are sent. Completed ids are flushed every `flush_interval`
seconds (or when the command is done), so fast simulators batch their messages while
slow ones report each env as soon as it is ready (what lets the pool hide stragglers).

Heartbeats (CLOCK_MONOTONIC, shared by all processes):
  * progress: the main thread stamps `heartbeat_time[w]` before every simulator call and
    while idle, and `heartbeat_phase[w]` says whether it is idle, stepping or resetting,
    so the pool can tell a hung simulator from a slow reset;
  * liveness: a thread stamps `alive_time[w]` every 0.25 s, from before the simulators
    are built, so a stopped or frozen process (SIGSTOP, a deadlock holding the GIL) is
    seen within `step_timeout` whatever phase it was in.

Hand-off (`handoff.py`): every message to the pool is followed by a bump of
`done_seq[w]` in the slab, and the wait for the next command first spins on `cmd_seq[w]`
for an adaptive time of at most `spin_us`, then blocks on the pipe.

Faults: a simulator that raises (or breaks its spec) is, per policy, reported (ERROR) or
rebuilt; one that fails `max_consecutive_failures` times in a row without completing a
step is reported whatever the policy, with its first error. Any other exception is
reported as FATAL before the worker exits, so the pool can name it.
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from bridge import protocol as P
from bridge.handoff import SignalledConn
from bridge.obs_check import check_observation, check_reward
from bridge.shm import SharedSlabs, SlabLayout
from bridge.simulator import ReportsExtras, SimulatorFactory
from bridge.slab_views import SlabViews
from bridge.spec import ArraySpec

PHASE_IDLE, PHASE_STEP, PHASE_RESET = 0, 1, 2
_PR_SET_PDEATHSIG = 1
_PARENT_POLL_S = 0.25


@dataclass(frozen=True)
class WorkerArgs:
    worker_index: int
    env_start: int
    env_stop: int
    factory: SimulatorFactory
    segment: str
    layout: SlabLayout
    obs_fields: Mapping[str, ArraySpec]
    action_keys: tuple[str, ...]
    parent_pid: int
    use_pdeathsig: bool
    initial_seeds: tuple[int, ...] | None  # set when restarting after a crash
    restart_on_error: bool
    flush_interval: float
    restart_seed_base: int
    max_consecutive_failures: int
    auto_reset: bool = True  # False: episode ends are the simulator's business (see pool)
    spin_us: float = 0.0     # hand-off: spin before blocking for the next command (handoff.py)


def seed_or_none(s: int) -> int | None:
    return None if s < 0 else int(s)


def _watch_parent(parent_pid: int, use_pdeathsig: bool) -> None:
    """Exit as soon as the pool's process is gone (we own nothing that needs cleanup)."""
    if use_pdeathsig and sys.platform.startswith("linux"):
        # The kernel kills us even if a simulator is stuck in C code holding the GIL.
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:
        os._exit(1)


def _start_liveness(parent_pid: int, alive: np.ndarray, w: int) -> None:
    """Stamp `alive[w]` now and every 0.25 s; exit if the parent is gone."""
    alive[w] = time.monotonic()

    def poll():
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            alive[w] = time.monotonic()
            time.sleep(_PARENT_POLL_S)

    threading.Thread(target=poll, name="bridge-liveness", daemon=True).start()


class _Host:
    """The K simulators of one worker and their slab rows."""

    def __init__(self, args: WorkerArgs, views: SlabViews, conn):
        self.a = args
        self.conn = conn
        self.v = views
        self.sims: dict[int, Any] = {}
        self.run_return: dict[int, float] = {}
        self.run_length: dict[int, int] = {}
        self.failures: dict[int, int] = {}        # consecutive failures per env
        self.first_error: dict[int, str] = {}     # the first of them (what the user needs)
        self.local_restarts = 0
        self.has_extras: dict[int, bool] = {}
        self.extras: dict[int, Any] = {}          # to send before the DONE naming them
        self.pending: list[int] = []
        self.last_flush = time.monotonic()

    def beat(self, phase: int) -> None:
        self.v.hb_time[self.a.worker_index] = time.monotonic()
        self.v.hb_phase[self.a.worker_index] = phase

    def write_obs(self, target: dict[str, np.ndarray], e: int, obs) -> None:
        checked = check_observation(obs, self.a.obs_fields)
        for k, arr in target.items():
            arr[e] = checked[k]

    def make_all(self) -> None:
        self.beat(PHASE_RESET)
        for e in range(self.a.env_start, self.a.env_stop):
            self.build(e)
            self.run_return[e], self.run_length[e] = 0.0, 0

    def build(self, e: int) -> None:
        sim = self.sims[e] = self.a.factory(e)
        self.has_extras[e] = isinstance(sim, ReportsExtras)

    def collect_extras(self, e: int) -> None:
        if self.has_extras.get(e):
            x = self.sims[e].take_extras()
            if x is not None:
                self.extras[e] = x

    def reset_env(self, e: int, seed: int | None, write_scalars: bool, options: Any = None) -> None:
        self.beat(PHASE_RESET)
        sim = self.sims[e]
        obs = sim.reset(seed) if options is None else sim.reset(seed, options=options)
        self.write_obs(self.v.obs, e, obs)
        self.run_return[e], self.run_length[e] = 0.0, 0
        if write_scalars:
            v = self.v
            v.reward[e] = 0.0
            v.terminated[e] = v.truncated[e] = v.crashed[e] = False
            v.ep_return[e], v.ep_length[e] = 0.0, 0

    def step_env(self, e: int, action: Any = None) -> bool:
        """Step env e with its slab action (or `action`, an object sent with ACT);
        auto-reset on episode end. False = error reported."""
        self.beat(PHASE_STEP)
        v = self.v
        sim = self.sims[e]
        if action is None:
            action = {k: arr[e] for k, arr in v.action.items()}
        try:
            obs, reward, terminated, truncated = sim.step(action)
            reward = check_reward(reward)
            ended = bool(terminated) or bool(truncated)
            # Checked before anything is written: a bad result leaves the row untouched.
            self.write_obs(v.final_obs if ended and self.a.auto_reset else v.obs, e, obs)
        except Exception as exc:  # a simulator bug, crash or spec violation
            return self.on_sim_error(e, exc, "step")
        self.failures[e] = 0
        self.run_return[e] += reward
        self.run_length[e] += 1
        v.reward[e] = reward
        v.terminated[e] = bool(terminated)
        v.truncated[e] = bool(truncated)
        v.crashed[e] = False
        v.ep_return[e] = self.run_return[e]
        v.ep_length[e] = self.run_length[e]
        if ended and not self.a.auto_reset:
            self.run_return[e], self.run_length[e] = 0.0, 0
        elif ended:
            try:
                self.reset_env(e, None, write_scalars=False)
            except Exception as exc:
                return self.on_sim_error(e, exc, "reset")
        return True

    def report(self, e: int, during: str, error: str, tb: str,
               exc: BaseException | None = None) -> bool:
        self.flush()
        self.conn.send_bytes(P.encode_error(e, self.a.worker_index, during, error, tb, exc))
        return False

    def on_sim_error(self, e: int, exc: BaseException, during: str) -> bool:
        tb = traceback.format_exc()
        text = f"{type(exc).__name__}: {exc}"
        if not self.a.restart_on_error:
            return self.report(e, during, text, tb, exc)
        n = self.failures[e] = self.failures.get(e, 0) + 1
        if n == 1:
            self.first_error[e] = f"during {during}: {text}\n{tb}"
        if n >= self.a.max_consecutive_failures:  # deterministic: rebuilding will not help
            return self.report(e, f"{during} ({n} times in a row, rebuilt after each; first "
                               f"failure below)", self.first_error[e], "")
        # Policy "restart": replace this simulator, report its episode as truncated.
        v = self.v
        for k, arr in v.obs.items():
            v.final_obs[k][e] = arr[e]
        try:
            self.sims[e].close()
        except Exception:
            pass
        self.local_restarts += 1
        seed = (self.a.restart_seed_base + e + 7919 * self.local_restarts) % (2**31 - 1)
        self.beat(PHASE_RESET)
        try:
            self.build(e)
            v.reward[e] = 0.0
            v.terminated[e] = False
            v.truncated[e] = v.crashed[e] = True
            v.ep_return[e] = self.run_return[e]
            v.ep_length[e] = self.run_length[e]
            self.reset_env(e, seed, write_scalars=False)
        except Exception as exc2:  # cannot even rebuild it: a clear error, not a loop
            return self.report(e, f"rebuild after a failed {during}",
                               f"{type(exc2).__name__}: {exc2}", traceback.format_exc())
        return True

    def call(self, method: str, calls: Mapping[int, tuple]) -> dict[int, tuple[bool, Any]]:
        """CALL: `sim.<method>(*args)` per env; exceptions are returned, not raised."""
        out: dict[int, tuple[bool, Any]] = {}
        for e, args in calls.items():
            self.beat(PHASE_STEP)
            try:
                out[e] = (True, getattr(self.sims[e], method)(*args))
            except Exception as exc:
                out[e] = (False, exc)
        try:
            P.encode_pickled(P.RESULT, out)
        except Exception:  # unpicklable results or exceptions: send their text instead
            out = {e: (ok, v if _picklable(v) else RuntimeError(f"{type(v).__name__}: {v}"))
                   for e, (ok, v) in out.items()}
        return out

    def done(self, e: int) -> None:
        self.collect_extras(e)
        self.pending.append(e)
        if time.monotonic() - self.last_flush >= self.a.flush_interval:
            self.flush()

    def flush(self) -> None:
        if self.extras:
            self.conn.send_bytes(P.encode_pickled(P.EXTRAS, self.extras))
            self.extras = {}
        if self.pending:
            self.conn.send_bytes(P.encode_ids(P.DONE, self.pending))
            self.pending = []
        self.last_flush = time.monotonic()


def _picklable(v: Any) -> bool:
    try:
        P.encode_pickled(P.RESULT, v)
        return True
    except Exception:
        return False


def run_worker(args: WorkerArgs, conn) -> None:
    """Entry point of a worker process (spawn context)."""
    _watch_parent(args.parent_pid, args.use_pdeathsig)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the pool's to handle
    slabs = SharedSlabs.attach(args.segment, args.layout)
    views = SlabViews(slabs, args.obs_fields, args.action_keys)
    _start_liveness(args.parent_pid, views.alive_time, args.worker_index)
    # Every message out bumps done_seq[w] after the pipe write; every read spins on
    # cmd_seq[w] first (handoff.py).
    conn = SignalledConn(conn, views.done_seq, views.cmd_seq, args.worker_index, args.spin_us)
    host = _Host(args, views, conn)
    try:
        host.make_all()
        if args.initial_seeds is not None:
            for e, s in zip(range(args.env_start, args.env_stop), args.initial_seeds):
                host.reset_env(e, seed_or_none(s), write_scalars=False)
            host.pending = list(range(args.env_start, args.env_stop))
            for e in host.pending:
                host.collect_extras(e)
        if host.extras:
            conn.send_bytes(P.encode_pickled(P.EXTRAS, host.extras))
            host.extras = {}
        host.beat(PHASE_IDLE)
        conn.send_bytes(P.encode_ids(P.UP, host.pending))  # "I am up"
        host.pending = []
    except Exception as exc:
        conn.send_bytes(P.encode_error(args.env_start, args.worker_index, "start",
                                       f"{type(exc).__name__}: {exc}", traceback.format_exc()))
        return
    try:
        while True:
            host.beat(PHASE_IDLE)
            msg = conn.recv_bytes()  # spin, then block; the liveness thread handles orphaning
            cmd = P.tag_of(msg)
            if cmd == P.STEP:
                for e in P.decode_ids(msg).tolist():
                    if host.step_env(e):
                        host.done(e)
                host.flush()
            elif cmd == P.ACT:
                ids, objects = P.decode_pickled(msg)
                for e, obj in zip(ids, objects):
                    if host.step_env(e, obj):
                        host.done(e)
                host.flush()
            elif cmd == P.CALL:
                method, calls = P.decode_pickled(msg)
                conn.send_bytes(P.encode_pickled(P.RESULT, host.call(method, calls)))
            elif cmd == P.RESET:
                ids, seeds, options = P.decode_reset(msg)
                for e, s in zip(ids, seeds):
                    try:
                        host.reset_env(e, seed_or_none(s), write_scalars=True, options=options)
                    except Exception as exc:
                        if not host.on_sim_error(e, exc, "reset"):
                            continue
                    host.done(e)
                host.flush()
            elif cmd == P.CLOSE:
                break
    except (EOFError, OSError, KeyboardInterrupt):
        pass  # pool went away
    except Exception as exc:  # a bug outside any simulator call: name it, then die
        try:
            conn.send_bytes(P.encode_fatal(f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
        except OSError:
            pass
        raise
    finally:
        for sim in host.sims.values():
            try:
                sim.close()
            except Exception:
                pass
        host.sims.clear()
        host.__dict__.clear()  # drop slab views before unmapping
        conn.__dict__.clear()
        views.__dict__.clear()
        slabs.close()
