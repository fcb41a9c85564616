"""A test env whose reward becomes NaN after a fixed number of steps (for the divergence test)."""
import jax.numpy as jnp
from flax import struct

from jaxcraft.envs import Discrete, Box, Environment
from jaxcraft.registry import ENVS


@struct.dataclass
class _State:
    t: jnp.ndarray


@struct.dataclass
class _Params:
    nan_after: int = 40
    max_steps_in_episode: int = 10_000


class NaNAfter(Environment):
    @property
    def default_params(self):
        return _Params()

    def reset_env(self, key, params):
        return jnp.zeros((2,), jnp.float32), _State(t=jnp.zeros((), jnp.int32))

    def step_env(self, key, state, action, params):
        t = state.t + 1
        reward = jnp.where(t > params.nan_after, jnp.nan, 1.0)
        obs = jnp.stack([t.astype(jnp.float32) / 100.0, action.astype(jnp.float32)])
        return obs, _State(t=t), reward, jnp.zeros((), bool), t >= params.max_steps_in_episode, {}

    def action_space(self, params=None):
        return Discrete(2)

    def observation_space(self, params=None):
        return Box(-1.0, 1.0, (2,))


def register() -> None:
    """Register the test env (explicitly, by the test that uses it)."""
    ENVS.register("test:nan-after-40", lambda cfg: (NaNAfter(), _Params()))
