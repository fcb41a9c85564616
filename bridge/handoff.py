"""The hand-off between pool and workers: spin on shared-memory counters, then block.

Every control message still travels on the worker's pipe (so nothing is ever lost and a
blocking read always completes), but each side also counts the messages it has *sent*
in a per-worker counter in the slab (`cmd_seq[w]` pool → worker, `done_seq[w]` worker →
pool), bumped right *after* the pipe write (and after the slab rows the message names).
A waiting side first polls the other side's counter for a short, adaptive time: when it
moves, the message is already in the pipe and is read without sleeping. Only when the
budget runs out does it fall back to the blocking wait (the worker's `recv_bytes`, the
pool's epoll over every pipe and process sentinel), so an idle or oversubscribed
machine does not burn its cores, and every death and hang is still seen by the same
epoll and deadlines as before (a spin lasts at most `spin_us`).

Why both: waking a process blocked in `read`/`epoll_wait` costs a scheduler round trip
(hundreds of µs on a busy machine), reading a counter in shared memory ~0.1 µs. PufferLib's
Multiprocessing backend spins without bound (fast with spare cores, starving when workers
outnumber them); EnvPool spins on a lock-free queue before sleeping on a semaphore, Sample
Factory blocks on queues. This is the second design, with a self-tuning budget.

Ordering: on x86 (TSO) stores become visible to other processes in program order, so the
writer's payload-then-counter and the reader's counter-then-payload order is all it takes;
the counters are only ever written by one side.

Adaptive budget (`AdaptiveSpin`): after every wait, the time it took (spin and block
included) is observed. A wait that finished within `max_us` keeps (or raises) the budget
to twice that time, capped at `max_us`; a longer one halves it, down to a floor. So
steady fast hand-offs spin and long waits (a slow simulator, a busy policy, more
processes than cores stretching every hand-off) stop spinning; every `_PROBE_EVERY`-th
wait spins the full `max_us` again to notice when hand-offs become fast again. While
spinning the process yields its core (`sched_yield`) every few polls, so a worker that
needs the core gets it.
"""
from __future__ import annotations

import os
import resource
import time
from typing import Callable

import numpy as np

_YIELD_EVERY = 16      # polls between sched_yield calls
_BACKOFF_MIN, _BACKOFF_MAX = 8, 1024  # waits that block outright after a preempted spin
_PROBE_EVERY = 64      # waits between full-budget probes once the budget has shrunk
_FLOOR_FRACTION = 1 / 32
MAX_SPIN_US = 10_000  # PoolConfig's bound: a spin never delays fault detection by more


def _noop() -> None:
    pass


_yield = getattr(os, "sched_yield", _noop)
_RUSAGE = getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF)


def _preemptions() -> int:
    """Involuntary context switches of this thread so far (the kernel took its core)."""
    return resource.getrusage(_RUSAGE).ru_nivcsw


class AdaptiveSpin:
    """Poll a condition for a bounded, self-tuning time (see the module docstring)."""

    def __init__(self, max_us: float):
        self.max_s = float(max_us) * 1e-6
        self.floor_s = self.max_s * _FLOOR_FRACTION
        self.budget_s = self.max_s
        self._since_probe = 0
        self._backoff = 0   # waits to block outright after being preempted while spinning
        self._skip = 0
        self.hits = 0       # waits that ended while spinning
        self.misses = 0     # waits that fell back to blocking (spin spent or skipped)
        self.preempted = 0  # spins during which this thread lost its core

    def spin(self, ready: Callable[[], bool]) -> bool:
        """True as soon as `ready()` is; False once the budget is spent (then block)."""
        if ready():
            self.hits += 1
            return True
        if self._skip:  # recently preempted while spinning: the cores are contended
            self._skip -= 1
            self.misses += 1
            return False
        budget = self.budget_s
        if budget < self.max_s:
            self._since_probe += 1
            if self._since_probe >= _PROBE_EVERY:
                self._since_probe, budget = 0, self.max_s
        clock = time.perf_counter
        c0 = _preemptions()
        deadline = clock() + budget
        polls = 0
        while True:
            if ready():
                hit = True
                break
            polls += 1
            if polls % _YIELD_EVERY == 0:
                _yield()  # free if nobody else wants this core; a preemption if someone does
            if clock() >= deadline:
                hit = False
                break
        if _preemptions() != c0:
            # Another runnable thread took this core while we spun: spinning now steals
            # from it (or from our own workers). Block for a while, longer each time.
            self.preempted += 1
            self._backoff = min(max(2 * self._backoff, _BACKOFF_MIN), _BACKOFF_MAX)
            self._skip = self._backoff
        elif self._backoff:
            self._backoff //= 2
        if hit:
            self.hits += 1
        else:
            self.misses += 1
        return hit

    def observe(self, waited_s: float) -> None:
        """A wait took `waited_s` in all (spin and block): tune the next budget."""
        if waited_s <= self.max_s:
            twice = 2.0 * waited_s
            if twice > self.budget_s:
                self.budget_s = min(self.max_s, twice)
        else:
            self.budget_s = max(self.floor_s, 0.5 * self.budget_s)


class SignalledConn:
    """A worker's end of its pipe, with the counters of `handoff`.

    `send_bytes` writes to the pipe, then bumps `sent[w]`; `recv_bytes` spins on
    `received_by_peer[w]` (the pool's count of commands posted) before the blocking read.
    """

    def __init__(self, conn, sent: np.ndarray, posted: np.ndarray, w: int, spin_us: float):
        self._conn = conn
        self._sent = sent
        self._posted = posted
        self._w = w
        self._received = 0
        self._spin = AdaptiveSpin(spin_us) if spin_us > 0 else None

    def _news(self) -> bool:
        return self._posted[self._w, 0] > self._received

    def send_bytes(self, msg: bytes) -> None:
        self._conn.send_bytes(msg)
        self._sent[self._w, 0] += 1  # payload first, counter last

    def recv_bytes(self) -> bytes:
        spin = self._spin
        if spin is None:
            msg = self._conn.recv_bytes()
        else:
            t0 = time.perf_counter()
            spin.spin(self._news)
            msg = self._conn.recv_bytes()  # immediate after a hit; the blocking wait after a miss
            spin.observe(time.perf_counter() - t0)
        self._received += 1
        return msg

    def close(self) -> None:
        self._conn.close()
