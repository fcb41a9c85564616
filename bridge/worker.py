"""Worker process: hosts K simulators, steps them on command, writes results to the slabs.

Control path: the messages of `bridge.protocol` on a duplex pipe (bytes only — arrays
never cross it). Results are written to the slabs *before* their ids are sent. Completed ids are flushed every `flush_interval`
seconds (or when the command is done), so fast simulators batch their messages while
slow ones report each env as soon as it is ready (what lets the pool hide stragglers).

Heartbeat: the worker stamps `heartbeat_time[w]` (CLOCK_MONOTONIC, shared by all
processes) before every simulator call and while idle, and `heartbeat_phase[w]` says
whether it is idle, stepping or resetting, so the pool can tell a hung simulator from a
slow reset.
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
from typing import Any

import numpy as np

from bridge import protocol as P
from bridge.shm import SharedSlabs, SlabLayout
from bridge.simulator import SimulatorFactory
from bridge.slab_views import SlabViews

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
    obs_keys: tuple[str, ...]
    action_keys: tuple[str, ...]
    parent_pid: int
    use_pdeathsig: bool
    initial_seeds: tuple[int, ...] | None  # set when restarting after a crash
    restart_on_error: bool
    flush_interval: float
    restart_seed_base: int


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

    def poll():
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(_PARENT_POLL_S)

    threading.Thread(target=poll, name="bridge-parent-watch", daemon=True).start()


class _Host:
    """The K simulators of one worker and their slab rows."""

    def __init__(self, args: WorkerArgs, slabs: SharedSlabs, conn):
        self.a = args
        self.conn = conn
        v = SlabViews(slabs, args.obs_keys, args.action_keys)
        self.obs, self.final_obs, self.action = v.obs, v.final_obs, v.action
        self.reward, self.terminated, self.truncated = v.reward, v.terminated, v.truncated
        self.crashed, self.ep_return, self.ep_length = v.crashed, v.ep_return, v.ep_length
        self.hb_time, self.hb_phase = v.hb_time, v.hb_phase
        self.sims: dict[int, Any] = {}
        self.run_return: dict[int, float] = {}
        self.run_length: dict[int, int] = {}
        self.local_restarts = 0
        self.pending: list[int] = []
        self.last_flush = time.monotonic()

    def beat(self, phase: int) -> None:
        self.hb_time[self.a.worker_index] = time.monotonic()
        self.hb_phase[self.a.worker_index] = phase

    def write_obs(self, target: dict[str, np.ndarray], e: int, obs) -> None:
        for k, arr in target.items():
            arr[e] = obs[k]

    def make_all(self) -> None:
        self.beat(PHASE_RESET)
        for e in range(self.a.env_start, self.a.env_stop):
            self.sims[e] = self.a.factory(e)
            self.run_return[e], self.run_length[e] = 0.0, 0

    def reset_env(self, e: int, seed: int | None, write_scalars: bool) -> None:
        self.beat(PHASE_RESET)
        self.write_obs(self.obs, e, self.sims[e].reset(seed))
        self.run_return[e], self.run_length[e] = 0.0, 0
        if write_scalars:
            self.reward[e] = 0.0
            self.terminated[e] = self.truncated[e] = self.crashed[e] = False
            self.ep_return[e], self.ep_length[e] = 0.0, 0

    def step_env(self, e: int) -> bool:
        """Step env e with its slab action; auto-reset on episode end. False = error reported."""
        self.beat(PHASE_STEP)
        sim = self.sims[e]
        action = {k: arr[e] for k, arr in self.action.items()}
        try:
            obs, reward, terminated, truncated = sim.step(action)
        except Exception as exc:  # a simulator bug or crash surfaced as an exception
            return self.on_sim_error(e, exc, "step")
        reward = float(reward)
        self.run_return[e] += reward
        self.run_length[e] += 1
        self.reward[e] = reward
        self.terminated[e] = bool(terminated)
        self.truncated[e] = bool(truncated)
        self.crashed[e] = False
        self.ep_return[e] = self.run_return[e]
        self.ep_length[e] = self.run_length[e]
        if terminated or truncated:
            self.write_obs(self.final_obs, e, obs)
            try:
                self.reset_env(e, None, write_scalars=False)
            except Exception as exc:
                return self.on_sim_error(e, exc, "reset")
        else:
            self.write_obs(self.obs, e, obs)
        return True

    def on_sim_error(self, e: int, exc: BaseException, during: str) -> bool:
        tb = traceback.format_exc()
        if not self.a.restart_on_error:
            self.flush()
            self.conn.send_bytes(P.encode_error(e, self.a.worker_index, during,
                                                f"{type(exc).__name__}: {exc}", tb))
            return False
        # Policy "restart": replace this simulator, report its episode as truncated.
        for k, arr in self.obs.items():
            self.final_obs[k][e] = arr[e]
        try:
            self.sims[e].close()
        except Exception:
            pass
        self.local_restarts += 1
        seed = (self.a.restart_seed_base + e + 7919 * self.local_restarts) % (2**31 - 1)
        self.beat(PHASE_RESET)
        self.sims[e] = self.a.factory(e)
        self.reward[e] = 0.0
        self.terminated[e] = False
        self.truncated[e] = self.crashed[e] = True
        self.ep_return[e] = self.run_return[e]
        self.ep_length[e] = self.run_length[e]
        self.reset_env(e, seed, write_scalars=False)
        return True

    def done(self, e: int) -> None:
        self.pending.append(e)
        if time.monotonic() - self.last_flush >= self.a.flush_interval:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.conn.send_bytes(P.encode_ids(P.DONE, self.pending))
            self.pending = []
        self.last_flush = time.monotonic()


def run_worker(args: WorkerArgs, conn) -> None:
    """Entry point of a worker process (spawn context)."""
    _watch_parent(args.parent_pid, args.use_pdeathsig)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the pool's to handle
    slabs = SharedSlabs.attach(args.segment, args.layout)
    host = _Host(args, slabs, conn)
    try:
        host.make_all()
        if args.initial_seeds is not None:
            for e, s in zip(range(args.env_start, args.env_stop), args.initial_seeds):
                host.reset_env(e, seed_or_none(s), write_scalars=False)
            host.pending = list(range(args.env_start, args.env_stop))
        conn.send_bytes(P.encode_ids(P.UP, host.pending))  # "I am up"
        host.pending = []
    except Exception as exc:
        conn.send_bytes(P.encode_error(args.env_start, args.worker_index, "start",
                                       f"{type(exc).__name__}: {exc}", traceback.format_exc()))
        return
    try:
        while True:
            host.beat(PHASE_IDLE)
            msg = conn.recv_bytes()  # blocking; the parent-watch thread handles orphaning
            cmd = P.tag_of(msg)
            if cmd == P.STEP:
                for e in P.decode_ids(msg).tolist():
                    if host.step_env(e):
                        host.done(e)
                host.flush()
            elif cmd == P.RESET:
                ids, seeds = P.decode_reset(msg)
                for e, s in zip(ids, seeds):
                    try:
                        host.reset_env(e, seed_or_none(s), write_scalars=True)
                    except Exception as exc:
                        if not host.on_sim_error(e, exc, "reset"):
                            continue
                    host.done(e)
                host.flush()
            elif cmd == P.CLOSE:
                break
    except (EOFError, OSError, KeyboardInterrupt):
        pass  # pool went away
    finally:
        for sim in host.sims.values():
            try:
                sim.close()
            except Exception:
                pass
        host.sims.clear()
        host.__dict__.clear()  # drop slab views before unmapping
        slabs.close()
