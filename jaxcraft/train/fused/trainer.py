"""The fused trainer: env rollout, GAE and the PPO update as one jitted, sharded step.

    trainer = FusedTrainer(config, env, env_params, network)   # or make_train(...)
    state = trainer.init(key)                    # TrainState, envs split over `data`
    state, metrics = trainer.run(state, n)       # n updates in one jitted lax.scan
    train = make_train(config, env, network)     # pure: train(key) -> (state, metrics)

One update: `lax.scan` over `rollout_len` steps of the vmapped env (`rollout.py`, acting with
`acting.Acting`) → `Trajectory` [T, B] → `Learner.learn` (GAE → epochs × minibatches of PPO →
metrics; the same learner as the bridged trainer's). It runs under `jax.shard_map` over the 1-D `data`
mesh: envs and their per-env keys are split across devices, params and optimiser state
are replicated, gradients and statistics are averaged with `pmean`. All randomness of an
env (resets, actions, minibatch shuffles) comes from that env's own key, so for the same
global batch and seed, 1 device and D devices compute the same update (to float
reduction order) — as long as the reset pool is off (each device has its own pool).
"""
from __future__ import annotations

import functools
from typing import Any, Optional

import jax
import jax.numpy as jnp
from flax import struct
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from jaxcraft.config import ExperimentConfig, validate
from jaxcraft.envs.batched import BatchedEnv
from jaxcraft.ppo.update import PPOState
from jaxcraft.train.agent import Policy, Spaces, make_agent
from jaxcraft.train.fused.guide import Guide, guide_horizon
from jaxcraft.train.fused.rollout import ActorState, make_rollout
from jaxcraft.train.multihost.sharding import DATA_AXIS, make_mesh


@struct.dataclass
class TrainState:
    """The whole state of a run: checkpoint it and the run continues bit-exactly."""

    ppo: PPOState        # replicated
    actor: ActorState    # split over `data`


def _spec_like(state: TrainState) -> TrainState:
    return TrainState(ppo=P(), actor=P(DATA_AXIS))


def _strongly_typed(tree: Any) -> Any:
    """`tree` without weak types (e.g. gymnax's `time=0` in an env state): arrays restored from a
    checkpoint are never weakly typed, and a weak leaf would make a resumed run trace (and compile)
    a different update program from a fresh run's."""
    def strong(x):
        if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            return x
        return jax.lax.convert_element_type(x, x.dtype)   # drops weak_type; a no-op otherwise
    return jax.tree.map(strong, tree)


class FusedTrainer:
    """Holds the compiled functions of one experiment (shared across calls and tests); a `Trainer`."""

    def __init__(self, config: ExperimentConfig, env: Any, env_params: Any, network: Any,
                 mesh: Optional[Mesh] = None):
        recurrent = network.recurrent
        num_devices = validate(config, jax.device_count(), recurrent=recurrent, num_processes=jax.process_count())
        self.config = config
        self.mesh = mesh if mesh is not None else make_mesh(num_devices)
        self.num_devices = self.mesh.devices.size
        if config.env.num_envs % self.num_devices:
            raise ValueError(f"env.num_envs={config.env.num_envs} must be divisible by the mesh size {self.num_devices}")
        self.network = network
        self.env = BatchedEnv(env, env_params, pool_size=config.env.reset_pool_size // self.num_devices,
                              refresh_per_step=config.env.pool_refresh_per_step)
        # On one device there is nothing to reduce over: run the per-shard code directly
        # (no shard_map, no collectives), which also keeps `jax.vmap(train)` cheap.
        self.axis_name = DATA_AXIS if self.num_devices > 1 else None
        # Distribution, acting, initial params, loop layout and learner: the one agent assembly.
        self.agent = make_agent(config, network, Spaces.of_env(env, self.env.params), axis_name=self.axis_name)
        self.dist, self.acting = self.agent.dist, self.agent.acting
        # The teacher-guided curriculum (`run.guide`; jaxcraft.train.fused.guide), None when off.
        self.guide = Guide.make(config.run.guide.teacher, env, self.env.params) if config.run.guide.teacher else None
        # (params, ref_params, value_norm, actor[, horizon]) -> (actor, trajectory): one device's acting scan.
        self.loops, self.learner = self.agent.loops, self.agent.learner
        # The carry is kept only where the update reads it: before each chunk of `ppo.chunk_len` steps.
        self.rollout = make_rollout(self.env, self.acting, config.env.rollout_len, self.guide,
                                    carry_every=self.learner.chunk_len)
        self.use_ref = self.learner.use_ref
        self._run_cache: dict[int, Any] = {}
        self._init_jit = None

    # -- initialisation -----------------------------------------------------------------
    def init(self, key: jax.Array, params: Any = None, ref_params: Any = None) -> TrainState:
        """A fresh TrainState laid out on the mesh (jitted). Multi-process: each process
        materialises only its devices' env shards; `params` (host values, the same on every
        process) become replicated."""
        if self._init_jit is None:
            shapes = jax.eval_shape(self._init, jax.random.key(0))
            self._init_jit = jax.jit(self._init, out_shardings=self.state_sharding(shapes))
        return self._init_jit(key, params, ref_params)

    def init_params(self, key: jax.Array) -> Any:
        """Fresh network params (`Agent.init_params`: on a zero observation of the env, jitted)."""
        return self.agent.init_params(key)

    def initial_params(self, key: jax.Array) -> Any:
        """The params `init(key)` starts from when given none."""
        return self.init_params(jax.random.split(key, 3)[0])

    def params(self, state: TrainState) -> Any:
        """The network params of a state (what checkpoints and policies read)."""
        return state.ppo.params

    def policy(self, state: TrainState) -> Policy:
        """The policy of a state's params (`act` on batched observations)."""
        return self.agent.policy(self.params(state))

    def _init(self, key: jax.Array, params: Any = None, ref_params: Any = None) -> TrainState:
        _, k_envs, k_pool = jax.random.split(key, 3)   # [0]: initial_params
        if params is None:
            params = self.initial_params(key)
        ppo_state = self.learner.init_state(params, ref_params)
        n = self.config.env.num_envs
        env_keys = jax.random.split(k_envs, n)
        pool_keys = jax.random.split(k_pool, self.num_devices)

        def init_local(env_keys, pool_keys):
            reset_keys, own_keys = jax.vmap(lambda k: tuple(jax.random.split(k)))(env_keys)
            env_state = self.env.reset(reset_keys, pool_keys)
            b = env_keys.shape[0]
            carry = self.network.initial_carry(b)
            return ActorState(env=env_state, carry=carry, ref_carry=carry if self.use_ref else None,
                              reset=jnp.ones((b,), bool), keys=own_keys,
                              guide=None if self.guide is None else self.guide.init(env_state.env_state))

        actor = self._shard(init_local, in_specs=(P(DATA_AXIS), P(DATA_AXIS)), out_specs=P(DATA_AXIS))(
            env_keys, pool_keys)
        return _strongly_typed(TrainState(ppo=ppo_state, actor=actor))

    # -- one update ---------------------------------------------------------------------
    def _local_update(self, state: TrainState):
        """Runs on each device's shard: rollout → trajectory → learner."""
        ppo, actor = state.ppo, state.actor
        horizon = None
        if self.guide is not None:
            g = self.config.run.guide
            horizon = guide_horizon(g.horizon, g.decay_fraction, ppo.update_step, self.config.num_updates)
        actor, traj = self.rollout(ppo.params, ppo.ref_params, ppo.value_norm, actor, horizon)
        ppo, keys, metrics = self.learner.learn(ppo, traj, actor.keys)
        if horizon is not None:
            metrics["guide_horizon"] = horizon.astype(jnp.float32)
        return TrainState(ppo=ppo, actor=actor.replace(keys=keys)), metrics

    def _sharded_update(self, state: TrainState):
        return self._shard(self._local_update, in_specs=(_spec_like(state),),
                           out_specs=(_spec_like(state), P()))(state)

    def _shard(self, fn, in_specs, out_specs):
        """`shard_map` over the data axis (the identity wrapper on a single device)."""
        if self.axis_name is None:
            return fn
        # check_vma=False: replicated params get per-device gradients that we `pmean` explicitly.
        return jax.shard_map(fn, mesh=self.mesh, in_specs=in_specs, out_specs=out_specs, check_vma=False)

    def _run(self, state: TrainState, num_updates: int):
        return jax.lax.scan(lambda s, _: self.update(s), state, None, length=num_updates)

    def update(self, state: TrainState):
        """One whole update (rollout → learner on every device), pure and unjitted."""
        state, m = self._sharded_update(state)
        m["update"] = state.ppo.update_step
        return state, m

    def run(self, state: TrainState, num_updates: int):
        """`num_updates` updates → (state, metrics stacked over updates).

        With `self.loops.scan_updates` the updates are one jitted `lax.scan`; otherwise (conv
        nets on CPU, `xla_loops`) a host loop over one jitted update.
        """
        if not self.loops.scan_updates:
            if "one" not in self._run_cache:
                self._run_cache["one"] = jax.jit(self.update, donate_argnums=0)
            step, rows = self._run_cache["one"], []
            for _ in range(num_updates):
                state, m = step(state)
                rows.append(m)
            return state, jax.tree.map(lambda *x: jnp.stack(x), *rows)
        if num_updates not in self._run_cache:
            self._run_cache[num_updates] = jax.jit(functools.partial(self._run, num_updates=num_updates),
                                                   donate_argnums=0)
        return self._run_cache[num_updates](state)

    def train(self, key: jax.Array, params: Any = None, ref_params: Any = None):
        """The whole run as one pure function of the key (vmappable over seeds)."""
        return self._run(self._init(key, params, ref_params), self.config.num_updates)

    def train_seeds(self, keys: jax.Array):
        """Independent runs for each key in `keys` [S], batched with `jax.vmap`.

        Equivalent to `jax.jit(jax.vmap(self.train))(keys)`, but compiled as two programs
        (vmapped init, then vmapped updates): on the CPU backend of jaxlib 0.10.2 the single
        fused vmapped program ran pathologically slowly for rollouts of ≥ 64 steps.
        """
        states = jax.jit(jax.vmap(self._init))(keys)
        run = jax.jit(jax.vmap(functools.partial(self._run, num_updates=self.config.num_updates)))
        return run(states)

    def state_sharding(self, state: TrainState):
        """NamedShardings of a TrainState (replicated PPO state, env-split actor state)."""
        rep = NamedSharding(self.mesh, P())
        split = NamedSharding(self.mesh, P(DATA_AXIS))
        return TrainState(ppo=jax.tree.map(lambda _: rep, state.ppo), actor=jax.tree.map(lambda _: split, state.actor))

    @property
    def env_steps_per_update(self) -> int:
        return self.config.batch_size

    def close(self) -> None:
        """Nothing to release (the env runs inside the jitted step)."""


def make_train(config: ExperimentConfig, env: Any, network: Any, env_params: Any = None,
               mesh: Optional[Mesh] = None):
    """PureJaxRL-style: returns a pure `train(key) -> (TrainState, metrics[num_updates])`."""
    params = env_params if env_params is not None else env.default_params
    return FusedTrainer(config, env, params, network, mesh).train
