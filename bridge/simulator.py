"""The simulator protocol: what a worker hosts (adapters turn real simulators into this)."""
from __future__ import annotations

from typing import Callable, Mapping, Protocol, runtime_checkable

import numpy as np

from bridge.spec import EnvSpec

Observation = Mapping[str, np.ndarray]


@runtime_checkable
class Simulator(Protocol):
    """One environment instance. Observations and actions are flat dicts per `spec`."""

    spec: EnvSpec

    def reset(self, seed: int | None) -> Observation:
        """Start an episode; `seed=None` continues the simulator's own RNG (auto-reset).

        Called as `reset(seed, options=...)` only when the caller passed reset options.
        """

    def step(self, action: Mapping[str, np.ndarray]) -> tuple[Observation, float, bool, bool]:
        """Apply one action; return (obs, reward, terminated, truncated).

        `action` values are views into shared memory valid only during the call.
        """

    def close(self) -> None: ...


@runtime_checkable
class ReportsExtras(Protocol):
    """A simulator with results beyond its fixed-shape fields (infos, observations of
    spaces that do not fit a slab). The worker calls `take_extras()` after each command
    for the env and ships a non-None result to the pool (`Batch.extras[env_id]`);
    it returns what accumulated since the previous call."""

    def take_extras(self) -> object | None: ...


# `factory(env_index) -> Simulator`; must be picklable (sent to spawn-context workers),
# e.g. a module-level function, a functools.partial or a frozen dataclass with __call__.
SimulatorFactory = Callable[[int], Simulator]
