"""A dead pod host named in one jaxcraft line, before JAX's fatal abort.

When a process of a multi-process job dies, JAX's coordination service notices after
`--heartbeat-timeout` seconds and aborts every survivor from C++ with ~22 lines of "Terminating
process because the JAX distributed service detected fatal errors" (exit code 134); nothing in
Python runs first (jaxlib 0.10.2's `missed_heartbeat_callback` cannot take a Python callable: it
aborts with `std::bad_cast`). So each process keeps its own, earlier watch: a daemon thread writes
a counter to the coordination service's key-value store every `period` seconds and reads the
others'. A peer whose counter has not moved for `stale_after` seconds (half the heartbeat
timeout, so this fires first) is reported in one line — which process, the last checkpoint, how
to resume — and this process exits with `EXIT_PEER_LOST`. If the store itself is unreachable
(process 0, the coordinator, is gone), the line says so.

A collective that a dead peer breaks fails at once in the survivors (gloo: "Connection reset by
peer"), usually before the watch has seen the peer go quiet; the loop then calls `settle()`, which
waits for the watch's verdict (at most `stale_after` and a few periods) before the error is raised.

A process that leaves the loop normally (finished, preempted, an error of its own) first marks
itself done, so the others never mistake its exit for a death. The watch starts after the first
update has run: compiling can starve a process's threads for longer than any sane threshold.
"""
from __future__ import annotations

import os
import pathlib
import sys
import threading
import time
from typing import Callable, Optional

EXIT_PEER_LOST = 75
_PREFIX = "jaxcraft/pod_watch"


def _client():
    from jax._src import distributed   # the only handle on the job's key-value store
    return distributed.global_state.client


class PodWatch:
    """Heartbeats through the key-value store; `start()` after the first update, `done()` on any exit."""

    def __init__(self, process: int, num_processes: int, stale_after: float, describe_checkpoint: Callable[[], str],
                 period: float = 1.0, exit: Callable[[int], None] = os._exit, client=None):
        self.process, self.num_processes = process, num_processes
        self.stale_after, self.period = stale_after, period
        self.describe_checkpoint, self._exit = describe_checkpoint, exit
        self._kv = client
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        if self._thread is not None or self.num_processes < 2:
            return
        self._kv = self._kv or _client()
        self._thread = threading.Thread(target=self._run, name="jaxcraft-pod-watch", daemon=True)
        self._thread.start()

    def done(self) -> None:
        """This process leaves normally: stop watching and tell the others not to wait for it."""
        self._stop.set()
        if self._kv is not None:
            try:
                self._kv.key_value_set(f"{_PREFIX}/done/{self.process}", "1", allow_overwrite=True)
            except Exception:  # noqa: BLE001 - the store may already be gone; nothing to tell then
                pass

    def settle(self) -> None:
        """The loop failed (a collective, most often): if a peer has died, let the watch report it and
        exit first; return once the watch has seen every peer alive past the stale threshold."""
        if self._thread is not None and self._thread.is_alive() and not self._stop.is_set():
            self._thread.join(self.stale_after + 3 * self.period)

    def _run(self) -> None:
        beat, seen, changed = 0, {}, {}
        while not self._stop.wait(self.period):
            beat += 1
            now = time.monotonic()
            try:
                self._kv.key_value_set(f"{_PREFIX}/beat/{self.process}", str(beat), allow_overwrite=True)
                beats = dict(self._kv.key_value_dir_get(f"{_PREFIX}/beat/"))
                finished = dict(self._kv.key_value_dir_get(f"{_PREFIX}/done/"))
            except Exception as e:  # noqa: BLE001 - the coordinator (process 0) is gone or unreachable
                if self._stop.is_set():
                    return
                self._report(f"the job's coordinator (process 0) is unreachable ({type(e).__name__})")
                return
            for p in range(self.num_processes):
                if p == self.process or f"{_PREFIX}/done/{p}" in finished:
                    continue
                value = beats.get(f"{_PREFIX}/beat/{p}")
                if value != seen.get(p) or p not in changed:
                    seen[p], changed[p] = value, now
                elif now - changed[p] > self.stale_after and not self._stop.is_set():
                    self._report(f"process {p} of the pod stopped responding {now - changed[p]:.0f} s ago "
                                 "(killed, crashed or cut off)")
                    return

    def _report(self, what: str) -> None:
        print(f"jaxcraft: {what}; stopping process {self.process} too. {self.describe_checkpoint()} "
              "Rerun the same command on every host to resume.", file=sys.stderr, flush=True)
        self._exit(EXIT_PEER_LOST)


def checkpoint_description(directory: pathlib.Path) -> Callable[[], str]:
    """A callable naming the newest checkpoint in `directory` at the time it is called."""
    def describe() -> str:
        steps = sorted(int(p.name) for p in directory.iterdir() if p.name.isdigit()) if directory.is_dir() else []
        return (f"The last checkpoint is update {steps[-1]} in {directory}." if steps
                else f"No checkpoint was saved yet in {directory}.")
    return describe
