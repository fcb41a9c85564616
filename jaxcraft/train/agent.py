"""One agent assembly: what every user of a network builds around it, built in one place.

    agent = make_agent(config, network, Spaces.of_env(env, env_params))   # or Spaces(obs_space, act_space)
    agent.dist, agent.acting          # the action distribution and the training policy step (`Acting`)
    agent.init_params(key)            # fresh params, initialised on a zero observation (jitted)
    agent.params_like()               # their shapes and dtypes (read saved params into them)
    agent.loops, agent.learner        # the trainer's loop layout and learner (built when first read)
    agent.policy(params).act(obs)     # a policy on batched observations (Brax's `make_policy(params)`)

Both trainers (`fused.py`, `bridged.py`) build their agent here, `jaxcraft pretrain` takes its
distribution from one, and restore and eval read params into `params_like()`; nothing else
initialises a network (imitation initialises on a demo window through `init_network`, the same call).

`acting` is the policy step a trainer samples with: decoded HL-Gauss values, the value normaliser
(`ppo.value_norm`), the frozen encoder's features (`ppo.freeze_encoder`) and the goal-code cache of
nets that have one (a loop that does not cache, the bridged actor, never calls it). A `Policy` acts
on raw observations without the training state (no value-norm statistics, no features).
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable, Optional, Protocol, runtime_checkable

import jax
import jax.numpy as jnp
import numpy as np

from jaxcraft.envs.base import zero_observation
from jaxcraft.envs.spaces import action_distribution, zeros_of_space
from jaxcraft.ppo.acting import Acting, frozen_encoder_apply, goal_code_apply, scalar_value_apply
from jaxcraft.ppo.distributions import FactorisedCategorical
from jaxcraft.train.learner import Learner, make_learner
from jaxcraft.train.xla_loops import LoopLayout, resolve_loop_layout, uses_convolution


@dataclasses.dataclass(frozen=True)
class Spaces:
    """What a network reads and emits: its observation space (a space or a dict of spaces) and action
    space, and how to make one zero observation [1, 1, ...] to initialise it on (default: zeros of the
    observation space)."""

    observation: Any
    action: Any
    sample_fn: Optional[Callable[[], Any]] = None

    def sample(self) -> Any:
        """Zeros of one observation, leaves [1, 1, ...] (call it inside `jit`: nothing is cached)."""
        return zeros_of_space(self.observation, (1, 1)) if self.sample_fn is None else self.sample_fn()

    @classmethod
    def of_env(cls, env: Any, env_params: Any) -> "Spaces":
        """A JAX env's spaces; its sample has the shapes and dtypes of a (traced) reset's observation
        (`envs.base.zero_observation`), which is what the env really emits even where a declared space is loose."""
        return cls(env.observation_space(env_params), env.action_space(env_params),
                   functools.partial(zero_observation, env, env_params))


@runtime_checkable
class PartlyFreshNet(Protocol):
    """A network some of whose top-level param modules load fresh when params saved without them
    (cloned ones) are read (`train.imitation.load_params(fresh=...)`; goal_cnn: a privileged
    critic's value-only modules, the RL-only bearing head)."""

    fresh_on_load: tuple[str, ...]


def init_network(network: Any, obs: Any, key: jax.Array) -> Any:
    """The network's params initialised on observation `obs` (leaves [1, 1, ...]) at an episode start;
    flax's initialisers read only its shapes and dtypes, so any observation of the env gives the same params."""
    return network.init(key, network.initial_carry(1), obs, jnp.ones((1, 1), bool))


@dataclasses.dataclass(frozen=True)
class Agent:
    """A network with everything built around it from an experiment config (see the module doc).

    axis_name: the learner's data axis (None on one device); host_loop: the trainer calls one update
    at a time from the host (the bridged trainer), so updates are never fused into a `lax.scan`."""

    config: Any
    network: Any
    spaces: Spaces
    dist: FactorisedCategorical
    acting: Acting
    axis_name: Optional[str] = None
    host_loop: bool = False

    def init_params(self, key: jax.Array) -> Any:
        """Fresh network params (jitted: flax's init run op by op would compile every small op on its own)."""
        return self._init_params_jit(key)

    @functools.cached_property
    def _init_params_jit(self) -> Callable:
        # The zero observation is made inside the jitted function: `init_params` may first be called
        # while a trainer's `init` is traced, and an array cached from that trace would leak a tracer.
        return jax.jit(lambda key: init_network(self.network, self.spaces.sample(), key))

    @property
    def fresh_on_load(self) -> tuple[str, ...]:
        """The param modules that saved params may lack (`PartlyFreshNet`); () for other networks."""
        return tuple(self.network.fresh_on_load) if isinstance(self.network, PartlyFreshNet) else ()

    def params_like(self) -> Any:
        """The shapes and dtypes of the params (`jax.ShapeDtypeStruct`s): nothing is computed."""
        return jax.eval_shape(self.init_params, jax.random.key(0))

    @functools.cached_property
    def loops(self) -> LoopLayout:
        """Unrolled minibatches and a host loop over updates only where XLA:CPU needs them (conv nets)."""
        scan_updates = False if self.host_loop else self.config.run.scan_updates
        return resolve_loop_layout(self.config.ppo.unroll_minibatches, scan_updates,
                                   uses_convolution(self.init_params, jax.random.key(0)))

    @functools.cached_property
    def learner(self) -> Learner:
        return make_learner(self.config, self.network, self.dist, self.axis_name,
                            unroll_minibatches=self.loops.unroll_minibatches)

    def policy(self, params: Any) -> "Policy":
        """The policy of these params on batched observations."""
        return Policy(self.network, params, self.spaces.observation, self.spaces.action, self.config)


def make_agent(config: Any, network: Any, spaces: Spaces, *, axis_name: Optional[str] = None,
               host_loop: bool = False) -> Agent:
    """The agent of experiment `config` around `network` (a `jaxcraft.ppo.Network`, checked by
    `build.make_network`) for `spaces`."""
    dist = action_distribution(spaces.action)
    apply_fn, encode_fn = network.apply, None
    if config.ppo.freeze_encoder:   # acting encodes once per step; the net's decision part reads the features
        encode_fn, apply_fn = frozen_encoder_apply(network)
    acting = Acting(scalar_value_apply(apply_fn, config.ppo), dist, config.ppo.value_norm,
                    goal_code_fn=goal_code_apply(network), encode_fn=encode_fn)
    return Agent(config=config, network=network, spaces=spaces, dist=dist, acting=acting, axis_name=axis_name,
                 host_loop=host_loop)


@dataclasses.dataclass(frozen=True)
class Policy:
    """A trained network with its params and spaces, ready to act on batched observations.

    `act(obs, key=None, carry=None, reset=None)` → (action [B, ...], carry): obs leaves [B, ...]
    (numpy or JAX; the env's policy observation: a dict for cross-view tasks, an array for most
    others); `key` a PRNG key to sample a ~ π(·|o) (None: the likeliest action, deterministic);
    `carry` the recurrent state from the previous call (None: a fresh one, and every env starts an
    episode); `reset` bool[B] where o starts a new episode. Numpy observations give numpy actions.
    """

    network: Any
    params: Any
    observation_space: Any
    action_space: Any
    config: Any

    @functools.cached_property
    def acting(self) -> Acting:
        return Acting(scalar_value_apply(self.network.apply, self.config.ppo), action_distribution(self.action_space))

    @functools.cached_property
    def _step(self):
        return jax.jit(self.acting.step, static_argnames=("greedy",))

    def initial_carry(self, batch_size: int) -> Any:
        return self.network.initial_carry(batch_size)

    def act(self, obs: Any, key: Optional[jax.Array] = None, carry: Any = None,
            reset: Optional[Any] = None) -> tuple[Any, Any]:
        numpy_in = all(isinstance(x, np.ndarray) for x in jax.tree.leaves(obs))
        obs = jax.tree.map(jnp.asarray, obs)
        b = jax.tree.leaves(obs)[0].shape[0]
        if carry is None:
            carry, reset = self.initial_carry(b), jnp.ones((b,), bool) if reset is None else reset
        reset = jnp.zeros((b,), bool) if reset is None else jnp.asarray(reset, bool)
        keys = jax.random.split(jax.random.key(0) if key is None else key, b)
        carry, out = self._step(self.params, None, carry, obs, reset, keys, greedy=key is None)
        return (np.asarray(out.action) if numpy_in else out.action), carry


__all__ = ["Agent", "PartlyFreshNet", "Policy", "Spaces", "init_network", "make_agent"]
