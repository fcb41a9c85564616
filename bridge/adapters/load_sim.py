"""Synthetic simulators for tests and benchmarks (gymnasium envs, so peers can run them too).

* `NullSimEnv`: returns a constant frame instantly — measures pure bridge overhead.
* `LoadSimEnv`: per-step latency drawn from a lognormal, optional hangs and crashes,
  observations that depend on seed and action history. Everything is deterministic per
  seed (latencies, hangs and crashes included), so runs are reproducible.
"""
from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from typing import Literal

import gymnasium as gym
import numpy as np

from bridge.adapters.gymnasium_env import GymnasiumSimulator


class SimulatedCrash(RuntimeError):
    """Raised by LoadSimEnv when crash_kind='exception'."""


@dataclass(frozen=True)
class LoadSimConfig:
    frame_shape: tuple[int, ...] = (64, 64, 3)
    num_actions: int = 4
    latency_median_s: float = 0.0      # 0 = no sleep
    latency_sigma: float = 0.5         # lognormal shape: heavier tail = worse stragglers
    busy_wait: bool = False            # burn CPU instead of sleeping (a CPU-bound simulator)
    episode_length: int = 200          # truncation
    terminate_prob: float = 0.01       # per-step chance of termination
    hang_prob: float = 0.0             # per-step chance to hang for hang_seconds
    hang_seconds: float = 3600.0
    crash_prob: float = 0.0            # per-step chance to crash
    crash_kind: Literal["exception", "sigkill", "segfault"] = "exception"
    hang_action: int | None = None     # this action always hangs (targeted fault tests)
    crash_action: int | None = None    # this action always crashes

    def __post_init__(self):
        if self.num_actions < 1 or self.episode_length < 1:
            raise ValueError("num_actions and episode_length must be >= 1")
        if self.crash_kind not in ("exception", "sigkill", "segfault"):
            raise ValueError(f"unknown crash_kind {self.crash_kind!r}")


class LoadSimEnv(gym.Env):
    metadata = {"render_modes": []}

    def __init__(self, config: LoadSimConfig = LoadSimConfig()):
        self.config = config
        self.observation_space = gym.spaces.Dict({
            "pov": gym.spaces.Box(0, 255, config.frame_shape, np.uint8),
            "state": gym.spaces.Box(-2**31, 2**31 - 1, (2,), np.int64)})
        self.action_space = gym.spaces.Discrete(config.num_actions)
        self._frame = np.zeros(config.frame_shape, np.uint8)
        self._t = 0
        self._h = 0

    def _obs(self):
        # The whole frame changes every step (like a rendered game), cheaply.
        self._frame[...] = self._h % 251
        self._frame.reshape(-1)[0] = self._t % 256
        return {"pov": self._frame.copy(), "state": np.array([self._t, self._h], np.int64)}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        self._h = int(self.np_random.integers(0, 2**20))
        return self._obs(), {}

    def step(self, action):
        c = self.config
        a = int(action)
        if not 0 <= a < c.num_actions:
            raise ValueError(f"action {a} outside [0, {c.num_actions})")
        rng = self.np_random
        u_hang, u_crash, u_term, noise = rng.random(4)
        if c.latency_median_s > 0:
            delay = float(rng.lognormal(np.log(c.latency_median_s), c.latency_sigma))
            if c.busy_wait:
                end = time.perf_counter() + delay
                while time.perf_counter() < end:
                    pass
            else:
                time.sleep(delay)
        if a == c.hang_action or u_hang < c.hang_prob:
            time.sleep(c.hang_seconds)
        if a == c.crash_action or u_crash < c.crash_prob:
            self._crash()
        self._t += 1
        self._h = (self._h * 31 + a + 1) % (2**31 - 1)
        reward = float(noise) + 0.1 * a
        terminated = bool(u_term < c.terminate_prob)
        truncated = self._t >= c.episode_length and not terminated
        return self._obs(), reward, terminated, truncated, {}

    def _crash(self):
        kind = self.config.crash_kind
        if kind == "exception":
            raise SimulatedCrash(f"simulated crash at step {self._t}")
        os.kill(os.getpid(), signal.SIGKILL if kind == "sigkill" else signal.SIGSEGV)
        time.sleep(60)


class NullSimEnv(gym.Env):
    """Zero work per step: the same frame every time (what bridge overhead costs)."""

    metadata = {"render_modes": []}

    def __init__(self, frame_shape: tuple[int, ...] = (64, 64, 3), episode_length: int = 1000):
        self.observation_space = gym.spaces.Dict(
            {"pov": gym.spaces.Box(0, 255, frame_shape, np.uint8)})
        self.action_space = gym.spaces.Discrete(4)
        self._obs = {"pov": np.zeros(frame_shape, np.uint8)}
        self._episode_length = episode_length
        self._t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        return self._obs, {}

    def step(self, action):
        self._t += 1
        return self._obs, 0.0, False, self._t >= self._episode_length, {}


@dataclass(frozen=True)
class LoadSimFactory:
    config: LoadSimConfig = LoadSimConfig()

    def gym_env(self) -> LoadSimEnv:
        return LoadSimEnv(self.config)

    def __call__(self, env_index: int) -> GymnasiumSimulator:
        return GymnasiumSimulator(self.gym_env(), name="load_sim")


@dataclass(frozen=True)
class NullSimFactory:
    frame_shape: tuple[int, ...] = (64, 64, 3)
    episode_length: int = 1000

    def gym_env(self) -> NullSimEnv:
        return NullSimEnv(self.frame_shape, self.episode_length)

    def __call__(self, env_index: int) -> GymnasiumSimulator:
        return GymnasiumSimulator(self.gym_env(), name="null_sim")
