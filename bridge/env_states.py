"""Where every env is: HELD by the caller, IN_FLIGHT in a worker, or READY for recv.

`send` accepts only HELD envs and `recv` returns each READY env exactly once, so every
env sent is returned exactly once, across worker crashes too:

  HELD --send--> IN_FLIGHT --worker's DONE--> READY --recv--> HELD

When a worker is lost, its IN_FLIGHT and READY envs wait for the replacement's UP
message (`awaiting_start`), while its HELD envs report the crash on their next send
(`crash_on_send`): they become READY at once (or when the replacement is up).
"""
from __future__ import annotations

from collections import deque

import numpy as np

HELD, IN_FLIGHT, READY = 0, 1, 2


class EnvStates:
    def __init__(self, env_range: list[tuple[int, int]]):
        W = len(env_range)
        N = env_range[-1][1]
        bounds = [a for a, _ in env_range] + [N]
        self.env_range = env_range
        self.worker_of = np.repeat(np.arange(W), np.diff(bounds))
        self.state = np.full(N, HELD, np.int8)
        self.awaiting_start = np.zeros(N, bool)   # result becomes READY when the worker is up
        self.crash_on_send = np.zeros(N, bool)    # lost while HELD: next send reports the crash
        self.ready: deque[int] = deque()
        self.inflight = np.zeros(W, np.int64)

    def not_held(self, ids: np.ndarray) -> np.ndarray:
        if len(ids) == len(self.state):  # every env (a sync step): no gather
            return np.flatnonzero(self.state != HELD) if self.state.any() else ids[:0]
        return ids[self.state[ids] != HELD]

    def start_reset_all(self) -> None:
        """Every env goes in flight (after a drain: nothing is in flight or ready)."""
        self.crash_on_send[:] = False
        self.awaiting_start[:] = False
        self.ready.clear()
        self.state[:] = IN_FLIGHT
        for w, (start, stop) in enumerate(self.env_range):
            self.inflight[w] = stop - start

    def settle_lost(self, ids: np.ndarray, starting: np.ndarray) -> np.ndarray:
        """Sent envs whose simulator died while held: READY now (or once their worker is
        up, per `starting[w]`). Returns the ids that still need stepping."""
        lost = self.crash_on_send[ids]
        if not lost.any():
            return ids
        for e in ids[lost].tolist():
            self.crash_on_send[e] = False
            w = int(self.worker_of[e])
            if starting[w]:
                self.state[e], self.awaiting_start[e] = IN_FLIGHT, True
                self.inflight[w] += 1
            else:
                self.state[e] = READY
                self.ready.append(e)
        return ids[~lost]

    def sent(self, w: int, n: int) -> None:
        self.inflight[w] += n

    def on_results(self, w: int, ids: np.ndarray, up: bool) -> None:
        """A worker's DONE (or, with `up`, its UP) message for `ids`."""
        if up:
            ids = ids[self.awaiting_start[ids]]
            self.awaiting_start[ids] = False
        ids = ids[self.state[ids] == IN_FLIGHT]
        self.state[ids] = READY
        self.inflight[w] -= len(ids)
        self.ready.extend(ids.tolist())

    def take_ready(self, n: int, sort: bool) -> np.ndarray:
        ids = np.array([self.ready.popleft() for _ in range(n)], dtype=np.int64)
        if sort:
            ids.sort()
        self.state[ids] = HELD
        return ids

    def release_ready(self) -> None:
        """After a drain: READY envs go back to the caller's hands (they are discarded)."""
        self.state[self.state == READY] = HELD
        self.ready.clear()

    def on_worker_lost(self, w: int, views) -> None:
        """Worker w is gone: end each of its envs' episodes as truncated + crashed.

        A READY env whose episode had ended stays intact (its next obs comes from the new
        simulator anyway); every other env reports the crash, now or on its next send.
        """
        start, stop = self.env_range[w]
        ready_ids = set(self.ready)
        for e in range(start, stop):
            ended = bool(views.terminated[e] or views.truncated[e])
            if not (self.state[e] == READY and ended):
                views.mark_lost(e, completed=self.state[e] == READY)
            if self.state[e] == HELD:
                self.crash_on_send[e] = True
            else:
                self.state[e] = IN_FLIGHT
                self.awaiting_start[e] = True
                ready_ids.discard(e)
        if len(ready_ids) != len(self.ready):
            self.ready = deque(e for e in self.ready if e in ready_ids)
        self.inflight[w] = int(((self.state == IN_FLIGHT) & (self.worker_of == w)).sum())
