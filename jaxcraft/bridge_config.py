"""The `bridge` section of an experiment: how out-of-process simulators are run.

Only read by the bridged trainer (env names `bridge:<adapter>`); the fused trainer ignores it.
"""
from __future__ import annotations

import dataclasses

from jaxcraft.ppo.config import documented


@dataclasses.dataclass(frozen=True)
class BridgeConfig:
    """Worker processes, async batching and fault policy of the simulator bridge."""

    num_workers: int = documented(2, "Simulator worker processes; env.num_envs are spread over them.")
    recv_batch_size: int = documented(0, "Envs per async recv() batch (EnvPool batch_size); 0 = env.num_envs (synchronous).")
    step_timeout: float = documented(60.0, "Seconds before a silent worker is declared hung and restarted.")
    on_simulator_error: str = documented("restart", "'restart' (episode reported truncated) or 'raise'.")
