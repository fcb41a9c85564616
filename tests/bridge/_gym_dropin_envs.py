"""Small gymnasium envs for tests/bridge/test_bridge_gym_dropin.py (importable by workers)."""
import gymnasium as gym
import numpy as np


class DtypeEnv(gym.Env):
    """Box(float32) actions; the info reports the type and dtype of the action the env got."""

    def __init__(self):
        self.observation_space = gym.spaces.Box(-1, 1, (2,), np.float32)
        self.action_space = gym.spaces.Box(-1, 1, (2,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}

    def step(self, action):
        info = {"dtype": str(np.asarray(action).dtype), "value": np.asarray(action, np.float64)}
        return np.zeros(2, np.float32), 0.0, False, False, info


class FailOnActionEnv(gym.Env):
    """Discrete(3) actions; an action >= 1 raises ValueError (gymnasium's own subenv-error test)."""

    def __init__(self):
        self.observation_space = gym.spaces.Box(-1, 1, (2,), np.float32)
        self.action_space = gym.spaces.Discrete(3)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}

    def step(self, action):
        if action >= 1:
            raise ValueError(f"Error in step with {action}")
        return np.zeros(2, np.float32), 0.0, False, False, {}
