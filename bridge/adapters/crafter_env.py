"""Crafter (danijar/crafter, optional extra `jaxcraft[crafter]`) as a gymnasium env.

Crafter has the old gym API (`reset() -> obs`, `step -> obs, reward, done, info`) and is
seeded at construction. `CrafterEnv.reset(seed)` reseeds it the way its constructor would,
so a given seed always generates the same world. `done` with `discount == 0` (death) is
`terminated`; the length limit is `truncated`.
"""
from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from bridge.adapters.gymnasium_env import GymnasiumSimulator


class CrafterEnv(gym.Env):
    metadata = {"render_modes": []}

    def __init__(self, size: int = 64, area: int = 64, view: int = 9, length: int = 10000,
                 reward: bool = True, seed: int = 0):
        try:
            import crafter
        except ImportError as exc:  # optional extra
            raise ImportError("Crafter is not installed: pip install 'jaxcraft[crafter]'") from exc
        self._env = crafter.Env(area=(area, area), view=(view, view), size=(size, size),
                                reward=reward, length=length, seed=seed)
        self.observation_space = gym.spaces.Box(0, 255, (size, size, 3), np.uint8)
        self.action_space = gym.spaces.Discrete(len(crafter.constants.actions))

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if seed is not None:
            # Crafter seeds episode k's world with hash((seed, k)); restart the count.
            self._env._seed = int(seed)
            self._env._episode = 0
        return self._env.reset(), {}

    def step(self, action):
        obs, reward, done, info = self._env.step(int(action))
        dead = info["discount"] == 0
        return obs, float(reward), bool(done and dead), bool(done and not dead), {}


@dataclass(frozen=True)
class CrafterFactory:
    size: int = 64
    area: int = 64
    length: int = 10000

    def gym_env(self) -> CrafterEnv:
        return CrafterEnv(size=self.size, area=self.area, length=self.length)

    def __call__(self, env_index: int) -> GymnasiumSimulator:
        return GymnasiumSimulator(self.gym_env(), name="crafter")
