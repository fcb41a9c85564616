"""The pool's error types (bad actions raise `bridge.spec.InvalidActionError`)."""
from __future__ import annotations


class SimulatorError(RuntimeError):
    """A simulator raised (or broke its spec) and the policy is 'raise', a simulator kept
    failing right after being rebuilt, or it could not be created at all.

    `original`: the simulator's own exception when it could be sent across (else None);
    `env_id` and `traceback` (the simulator's, as text) when a simulator raised.
    """

    def __init__(self, message: str, original: BaseException | None = None,
                 env_id: int | None = None, traceback: str | None = None):
        super().__init__(message)
        self.original = original
        self.env_id, self.traceback = env_id, traceback


class WorkerError(RuntimeError):
    """Workers keep dying: the same worker without progress between deaths, or more
    restarts than the pool's budget allows."""
