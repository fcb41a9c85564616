"""The worker processes of a pool: spawn, one epoll over pipes and exits, reap, shut down.

Each worker has a duplex pipe (control messages, `protocol.py`) and a process sentinel;
both are registered once per start in one selector, so a single `select` reports
messages and deaths of every worker. Shutdown (also via `weakref.finalize`, so at exit
too) asks politely, then SIGKILLs what is still alive after 2 s, reaps every process and
unlinks the shared memory.
"""
from __future__ import annotations

import multiprocessing as mp
import selectors
import time
import weakref
from typing import Any, Callable

from bridge import protocol as P
from bridge.shm import SharedSlabs


class WorkerProcesses:
    def __init__(self, num_workers: int, start_method: str, slabs: SharedSlabs, owner: Any):
        self._ctx = mp.get_context(start_method)
        self._selector = selectors.DefaultSelector()
        self.procs: list[Any] = [None] * num_workers
        self.conns: list[Any] = [None] * num_workers
        self._finalizer = weakref.finalize(owner, _shutdown, self.procs, self.conns, slabs)

    def start(self, w: int, target: Callable, args: Any) -> None:
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        proc = self._ctx.Process(target=target, args=(args, child_conn),
                                 name=f"bridge-worker-{w}", daemon=True)
        proc.start()
        child_conn.close()
        self._selector.register(parent_conn, selectors.EVENT_READ, ("msg", w))
        self._selector.register(proc.sentinel, selectors.EVENT_READ, ("exit", w))
        self.procs[w], self.conns[w] = proc, parent_conn

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def post(self, w: int, msg: bytes) -> None:
        try:
            self.conns[w].send_bytes(msg)
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass  # the worker is dead; its sentinel fires in the next select

    def select(self, timeout: float) -> list[tuple[str, int]]:
        """("msg", w) or ("exit", w) for every ready pipe / dead process."""
        return [key.data for key, _ in self._selector.select(timeout=max(timeout, 0.0))]

    def receive(self, w: int) -> bytes:
        return self.conns[w].recv_bytes()

    def kill(self, w: int) -> None:
        self.procs[w].kill()
        self.procs[w].join(timeout=5.0)

    def release(self, w: int) -> None:
        """Unregister, close and reap a dead (or killed) worker's pipe and process."""
        for obj in (self.conns[w], self.procs[w].sentinel):
            try:
                self._selector.unregister(obj)
            except (KeyError, ValueError):
                pass
        try:
            self.conns[w].close()
        except OSError:
            pass
        try:
            self.procs[w].close()  # releases the sentinel fd (the process was joined)
        except ValueError:
            self.procs[w].kill()  # still alive after join's grace period: make sure
            self.procs[w].join()
            self.procs[w].close()
        self.procs[w] = self.conns[w] = None

    def close(self) -> None:
        for c in self.conns:
            try:
                c.send_bytes(P.CLOSE)
            except (OSError, AttributeError):
                pass
        self._finalizer()
        self._selector.close()


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
