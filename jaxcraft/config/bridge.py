"""The `bridge` section of an experiment: how out-of-process simulators are run.

Only read by the bridged trainer (env names `bridge:<adapter>`, see
`jaxcraft.train.bridged.envs`); the fused trainer ignores it. Options of one adapter sit in
their own small section (`bridge.load`).
"""
from __future__ import annotations

import dataclasses

from jaxcraft.config.fields import check_all, documented


@dataclasses.dataclass(frozen=True)
class BridgeLoadConfig:
    """The `bridge.load` section: options of the synthetic-load adapter (`bridge:load`) only.

    Not `bridge.adapters.load_sim.LoadSimConfig` (the adapter's own, fuller settings), which
    `jaxcraft.train.bridged.envs` builds from this section and the experiment's env section.
    """

    latency_s: float = documented(0.0, "Median simulated step latency in seconds (lognormal).")
    busy_wait: bool = documented(False, "Burn CPU instead of sleeping during the simulated latency.")
    terminate_prob: float = documented(0.01, "Per-step chance that an episode terminates (0 = episodes end only by truncation).")


@dataclasses.dataclass(frozen=True)
class BridgeConfig:
    """Worker processes, async batching, policy lag and fault policy of the simulator bridge."""

    num_workers: int = documented(2, "Simulator worker processes (per host in a multi-process job); the host's envs are spread over them.")
    recv_batch_size: int = documented(0, "Envs per async recv() batch (EnvPool batch_size), capped at env.num_envs; 0 = env.num_envs (synchronous). Must be divisible by the device count. Multi-process: per host, of the host's env.num_envs / processes envs and its devices.")
    step_timeout: float = documented(60.0, "Seconds before a silent worker is declared hung and restarted.")
    reset_timeout: float = documented(300.0, "Seconds a worker may take to start or reset its simulators.")
    on_simulator_error: str = documented("restart", "'restart' (episode reported truncated) or 'raise'.")
    max_policy_lag: int = documented(2, "Drop (and count in `dropped_fragments`) rollout fragments acted by params more than this many updates older than the params being updated.")
    frame_size: int = documented(0, "Square frame size for adapters that render frames (crafter, load, null, minerl); 0 = the adapter's default.")
    obs_key: str = documented("", "Observation field the policy sees; '' = the only field, or the whole dict for multi-field specs.")
    load: BridgeLoadConfig = documented(BridgeLoadConfig(), "Options of bridge:load.")

    def check(self, num_envs: int, num_devices: int) -> None:
        """Raise ConfigError naming the first bad field (cross-checked against env.num_envs)."""
        batch = min(self.recv_batch_size, num_envs) or num_envs  # capped: tiny smoke runs keep the config
        checks = [
            ("num_workers", 1 <= self.num_workers <= num_envs, f"must be in [1, env.num_envs={num_envs}]"),
            ("recv_batch_size", self.recv_batch_size >= 0, "must be >= 0"),
            ("recv_batch_size", batch % num_devices == 0, f"(= {batch}) must be divisible by the device count {num_devices}"),
            ("step_timeout", self.step_timeout > 0, "must be > 0"),
            ("reset_timeout", self.reset_timeout > 0, "must be > 0"),
            ("on_simulator_error", self.on_simulator_error in ("restart", "raise"), "must be 'restart' or 'raise'"),
            ("max_policy_lag", self.max_policy_lag >= 0, "must be >= 0"),
            ("frame_size", self.frame_size >= 0, "must be >= 0"),
            ("load.latency_s", self.load.latency_s >= 0, "must be >= 0"),
            ("load.terminate_prob", 0 <= self.load.terminate_prob <= 1, "must be in [0, 1]"),
        ]
        check_all("bridge", self, checks)
