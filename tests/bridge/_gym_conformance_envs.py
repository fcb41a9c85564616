"""Small gymnasium envs for the BridgeVectorEnv conformance tests (importable by workers)."""
import gymnasium as gym
import numpy as np

COUNTER = {"steps": 0}  # module-level state shared by every env of one process


class InfoEnv(gym.Env):
    """Box obs, Discrete(2) actions; episodes of `length` steps; rich infos; call targets."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(self, length=5, render_mode=None, obs_dtype=np.float32):
        self.observation_space = gym.spaces.Box(-10, 10, (2,), obs_dtype)
        self.action_space = gym.spaces.Discrete(2)
        self.length, self.render_mode, self.level = length, render_mode, 0
        self.t = 0

    def _obs(self):
        return np.array([self.t, self.np_random.random()], self.observation_space.dtype)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        info = {"reset": True, "t": 0}
        if options:
            info["options"] = dict(options)
        return self._obs(), info

    def step(self, action):
        self.t += 1
        info = {"t": self.t, "arr": np.array([self.t, int(action)], np.int32)}
        if self.t % 2:
            info["odd"] = 1.5
        return self._obs(), float(action) + 0.5, self.t >= self.length, False, info

    def double(self, x, plus=0):
        return 2 * x + plus

    def render(self):
        return np.full((2, 2, 3), self.t, np.uint8)


class SharedStateEnv(InfoEnv):
    """Observation = a module-level counter this process increments: envs hosted in the
    same process interfere (what AsyncVectorEnv's one-env-per-process isolates)."""

    def _obs(self):
        return np.array([self.t, COUNTER["steps"]], np.float32)

    def step(self, action):
        COUNTER["steps"] += 1
        return super().step(action)


class DiscreteObsEnv(gym.Env):
    """Discrete observations with a declared int32 dtype."""

    def __init__(self):
        self.observation_space = gym.spaces.Discrete(5, dtype=np.int32)
        self.action_space = gym.spaces.Discrete(2)
        self.s = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.s = int(self.np_random.integers(5))
        return np.int32(self.s), {}

    def step(self, action):
        self.s = (self.s + 1 + int(action)) % 5
        return np.int32(self.s), 1.0, self.s == 0, False, {}


class EvenSpace(gym.Space):
    """A custom space: even integers in [0, 10]."""

    def __init__(self, seed=None):
        super().__init__((), np.int64, seed)

    def sample(self, mask=None, probability=None):
        return int(self.np_random.integers(0, 6)) * 2

    def contains(self, x):
        return isinstance(x, (int, np.integer)) and 0 <= x <= 10 and x % 2 == 0

    def __eq__(self, other):
        return isinstance(other, EvenSpace)


def general_space(kind):
    s = gym.spaces
    box = s.Box(0, 1, (2,), np.float32)
    return {
        "tuple": s.Tuple((box, s.Discrete(3))),
        "nested_dict": s.Dict({"a": box, "b": s.Dict({"c": s.Discrete(4), "d": box})}),
        "text": s.Text(6),
        "sequence": s.Sequence(box),
        "graph": s.Graph(node_space=box, edge_space=s.Discrete(3)),
        "oneof": s.OneOf((box, s.Discrete(3))),
        "custom": EvenSpace(),
    }[kind]


class SpaceEnv(gym.Env):
    """Observations sampled (seeded) from any space; Tuple actions when `tuple_action`."""

    def __init__(self, kind="tuple", tuple_action=False):
        self.observation_space = general_space(kind)
        self.action_space = (gym.spaces.Tuple((gym.spaces.Discrete(2), gym.spaces.Discrete(3)))
                             if tuple_action else gym.spaces.Discrete(2))
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.observation_space.seed(int(self.np_random.integers(2**31)))
        self.t = 0
        return self.observation_space.sample(), {}

    def step(self, action):
        assert self.action_space.contains(action), action
        self.t += 1
        return self.observation_space.sample(), 1.0, self.t >= 3, False, {}


class FailingEnv(InfoEnv):
    def step(self, action):
        if self.t == 1:
            raise ValueError("simulated failure at step 2")
        return super().step(action)


class ThreeActionEnv(InfoEnv):
    def __init__(self):
        super().__init__()
        self.action_space = gym.spaces.Discrete(3)
