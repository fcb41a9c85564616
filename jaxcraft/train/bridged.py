"""The bridged trainer: PPO on out-of-process simulators (Crafter, MineRL, …) through `bridge/`.

    trainer = build_bridged_trainer(config)      # config.env.name = "bridge:<adapter>"
    state = trainer.init(key)                    # BridgedState: params, optimiser, keys, counter
    state, metrics = trainer.run(state, n)       # n PPO updates on fresh simulator data
    trainer.close()                              # stop the actor thread and the workers

Two threads (Sebulba-style, see `bridged_actor.py`): the *actor* receives the first
`bridge.recv_batch_size` ready envs, runs jitted inference on the mesh with the latest
params, sends the actions back and assembles each env's steps into T-step fragments
(`trajectory_assembly.py`); the *learner* (`run`, the caller's thread) takes `env.num_envs`
fragments, stacks them into a time-major [T, B] batch split over the `data` mesh axis
and runs GAE + the unchanged `jaxcraft.ppo` update under `jax.shard_map` (gradients
averaged with `pmean`). Simulators keep stepping while the update runs; the actor is
at most one batch ahead (it waits when a whole batch is queued), and fragments older than
`bridge.max_policy_lag` updates are dropped. Lag, drops and lost (crashed) episodes are
reported as metrics.

Episode boundaries: the per-env recurrent state lives in a device table indexed by env
id and is reset by the network where `reset` (first observation, or the previous step
ended an episode). A crashed or restarted simulator ends its episode as a *truncation*
bootstrapped from the value of its last observation (`v_final`), never a termination.

Resume: `BridgedState` (params, optimiser, value-norm, reference policy, PRNG keys,
update counter) is checkpointed; the simulators are stateful processes outside it, so a
resumed run restarts them fresh (new episodes) and is not bit-exact. The pool starts lazily
on the first `run`; `init` stops the actor (the next `run` resets the simulators).
"""
from __future__ import annotations

import atexit
import functools
import time
import weakref
from typing import Any, Optional

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from bridge import Pool, PoolConfig
from jaxcraft.config import ConfigError, ExperimentConfig, validate
from jaxcraft.ppo.gae import generalized_advantage_estimation
from jaxcraft.ppo.update import PPOBatch, PPOState, init_ppo_state, make_optimizer, make_update_fn, resolve_chunk_len
from jaxcraft.ppo.value_norm import denormalize
from jaxcraft.registry import action_distribution, make_network
from jaxcraft.train.bridged_actor import Actor
from jaxcraft.train.bridged_envs import BridgedEnv, make_bridged_env
from jaxcraft.train.sharding import DATA_AXIS, make_mesh
from jaxcraft.train.trajectory_assembly import Fragment, TrajectoryBatch, stack_fragments


@struct.dataclass
class BridgedState:
    """What a bridged run checkpoints (simulators are outside it: they restart on resume)."""

    ppo: PPOState          # replicated
    keys: jax.Array        # [num_envs] per-column minibatch-shuffle keys, split over `data`
    actor_key: jax.Array   # replicated; the actor's sampling keys derive from it and the counter


def _tree_zeros(space: Any, batch: tuple[int, ...]) -> Any:
    if isinstance(space, dict):
        return {k: _tree_zeros(v, batch) for k, v in space.items()}
    return jnp.zeros(batch + tuple(space.shape), space.dtype)


class BridgedTrainer:
    """Duck-typed like `FusedTrainer` for `jaxcraft.train.loop` (init / run / state_sharding)."""

    def __init__(self, config: ExperimentConfig, env: BridgedEnv, network: Any, mesh: Optional[Mesh] = None):
        recurrent = bool(getattr(network, "core_size", 0))
        num_devices = validate(config, len(jax.local_devices()), recurrent=recurrent)
        self.mesh = mesh if mesh is not None else make_mesh(num_devices)
        self.num_devices = self.mesh.devices.size
        try:
            config.bridge.check(config.env.num_envs, self.num_devices)
        except ValueError as e:
            raise ConfigError(str(e)) from None
        if config.env.reset_pool_size:
            raise ConfigError("env.reset_pool_size applies to JAX envs only; set it to 0 for bridge:<adapter> envs")
        self.config, self.env, self.network = config, env, network
        self.dist = action_distribution(env.action_space)
        self.optimizer = make_optimizer(config.ppo, config.num_updates)
        self.chunk_len = resolve_chunk_len(config.ppo, config.env.rollout_len, recurrent)
        self.use_ref = config.ppo.kl_coef > 0
        self.recv_batch_size = min(config.bridge.recv_batch_size, config.env.num_envs) or config.env.num_envs
        self._update = make_update_fn(network.apply, self.dist, self.optimizer, config.ppo, self.chunk_len, DATA_AXIS)
        self._act = jax.jit(self._act_fn)
        self._learn = jax.jit(self._sharded_update)
        self.pool: Optional[Pool] = None
        self.actor: Optional[Actor] = None
        self._version: Optional[int] = None
        self._closed_pools = 0
        ref = weakref.WeakMethod(self.close)
        atexit.register(lambda: ref() and ref()())

    # -- initialisation -----------------------------------------------------------------
    def init_params(self, key: jax.Array) -> Any:
        obs = _tree_zeros(self.env.observation_space, (1, 1))
        return self.network.init(key, self.network.initial_carry(1), obs, jnp.ones((1, 1), bool))

    def init(self, key: jax.Array, params: Any = None, ref_params: Any = None) -> BridgedState:
        """A fresh state. Stops a running actor: the next `run` resets the simulators."""
        self._stop_actor()
        k_params, k_keys, k_actor = jax.random.split(key, 3)
        if params is None:
            params = self.init_params(k_params)
        if self.use_ref and ref_params is None:
            ref_params = params
        ppo = init_ppo_state(params, self.optimizer, ref_params if self.use_ref else None)
        state = BridgedState(ppo=ppo, keys=jax.random.split(k_keys, self.config.env.num_envs), actor_key=k_actor)
        return jax.device_put(state, self.state_sharding(state))

    def state_sharding(self, state: BridgedState) -> BridgedState:
        rep, split = NamedSharding(self.mesh, P()), NamedSharding(self.mesh, P(DATA_AXIS))
        return BridgedState(ppo=jax.tree.map(lambda _: rep, state.ppo), keys=split, actor_key=rep)

    @property
    def env_steps_per_update(self) -> int:
        return self.config.batch_size

    # -- acting (jitted; called from the actor thread) ----------------------------------
    def _values(self, vn, v):
        return denormalize(vn, v) if self.config.ppo.value_norm else v

    def _act_fn(self, bundle, tables, key, ids, obs, final_obs, reset, truncated):
        params, vn, ref_params = bundle
        table, ref_table = tables
        apply = self.network.apply
        carry = jax.tree.map(lambda t: t[ids], table)
        obs1 = jax.tree.map(lambda x: x[None], obs)
        new_carry, logits, v = apply(params, carry, obs1, reset[None])
        logits, v = logits[0], self._values(vn, v[0])

        def final_value():  # the ended episode's last observation, seen with the carry after o_t
            f1 = jax.tree.map(lambda x: x[None], final_obs)
            _, _, vf = apply(params, carry, f1, jnp.zeros_like(reset)[None])
            return self._values(vn, vf[0])

        v_final = jax.lax.cond(truncated.any(), final_value, lambda: jnp.zeros_like(v))
        v_final = jnp.where(truncated, v_final, 0.0)
        action = jax.vmap(self.dist.sample)(jax.random.split(key, ids.shape[0]), logits)
        out = dict(action=action, log_prob=self.dist.log_prob(logits, action), value=v, v_final=v_final,
                   carry=carry)
        if ref_params is not None:
            ref_carry = jax.tree.map(lambda t: t[ids], ref_table)
            new_ref, ref_logits, _ = apply(ref_params, ref_carry, obs1, reset[None])
            out["ref_logits"] = ref_logits[0]
            ref_table = jax.tree.map(lambda t, c: t.at[ids].set(c), ref_table, new_ref)
        table = jax.tree.map(lambda t, c: t.at[ids].set(c), table, new_carry)
        return (table, ref_table), out

    def _initial_tables(self):
        n = self.config.env.num_envs
        rep = NamedSharding(self.mesh, P())
        table = jax.device_put(self.network.initial_carry(n), rep)
        return table, (table if self.use_ref else None)

    def _bundle(self, state: BridgedState):
        return (state.ppo.params, state.ppo.value_norm, state.ppo.ref_params)

    def _ensure_pool(self) -> Pool:
        if self.pool is None:
            b, n = self.config.bridge, self.config.env.num_envs
            self.pool = Pool(self.env.factory, PoolConfig(
                num_envs=n, num_workers=b.num_workers, batch_size=self.recv_batch_size, seed=self.config.run.seed,
                step_timeout=b.step_timeout, reset_timeout=b.reset_timeout,
                on_simulator_error=b.on_simulator_error), spec=self.env.spec)
        return self.pool

    def _start_actor(self, state: BridgedState) -> None:
        self._stop_actor()
        version = int(state.ppo.update_step)
        pool = self._ensure_pool()
        if pool._broken:  # a 'raise'-policy simulator error poisoned it: start over
            self._close_pool()
            pool = self._ensure_pool()
        actor_key = jax.random.fold_in(state.actor_key, version)
        self.actor = Actor(pool, self.env, self._act, self._initial_tables(), actor_key,
                           self.config.env.rollout_len, capacity=self.config.env.num_envs, mesh=self.mesh,
                           reset_seed=self.config.run.seed + 7919 * version)
        self.actor.publish(self._bundle(state), version)
        self.actor.start()
        self._version = version

    def _stop_actor(self) -> None:
        if self.actor is not None:
            self.actor.stop()
            self.actor = None
        self._version = None

    def _close_pool(self) -> None:
        if self.pool is not None:
            self.pool.close()
            self.pool = None
            self._closed_pools += 1

    def close(self) -> None:
        """Stop the actor thread and the simulator workers (idempotent; `run` restarts them)."""
        self._stop_actor()
        self._close_pool()

    def __enter__(self) -> "BridgedTrainer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def collect(self, state: BridgedState, num_fragments: int) -> list[Fragment]:
        """Fragments acted by `state`'s params without training (tests, evaluation)."""
        if self.actor is None or self._version != int(state.ppo.update_step):
            self._start_actor(state)
        frags, _ = self.actor.take(num_fragments, self._version, None)
        return frags

    # -- learning ---------------------------------------------------------------------------
    def _local_update(self, state: BridgedState, traj: TrajectoryBatch):
        cfg = self.config.ppo
        adv, target = generalized_advantage_estimation(
            traj.reward, traj.value, traj.bootstrap_value, traj.terminated, traj.truncated, traj.v_final,
            cfg.gamma, cfg.gae_lambda)
        batch = PPOBatch(obs=traj.obs, action=traj.action, log_prob=traj.log_prob, value=traj.value,
                         advantage=adv, target=target, reset=traj.reset, carry=traj.carry,
                         ref_logits=traj.ref_logits)
        keys, shuffle_keys = jax.vmap(lambda k: tuple(jax.random.split(k)))(state.keys)
        ppo, metrics = self._update(state.ppo, batch, shuffle_keys)
        psum = lambda x: jax.lax.psum(x, DATA_AXIS)
        done = jnp.logical_or(traj.terminated, traj.truncated).astype(jnp.float32)
        episodes = psum(done.sum())
        metrics.update(
            episodes=episodes,
            episode_return=psum((traj.episode_return * done).sum()) / jnp.maximum(episodes, 1.0),
            episode_length=psum((traj.episode_length * done).sum()) / jnp.maximum(episodes, 1.0),
            reward=jax.lax.pmean(traj.reward.mean(), DATA_AXIS),
            truncations=psum(traj.truncated.sum().astype(jnp.float32)),
            crashed_episodes=psum(traj.crashed.sum().astype(jnp.float32)),
            value=jax.lax.pmean(traj.value.mean(), DATA_AXIS),
        )
        metrics["update"] = ppo.update_step
        return state.replace(ppo=ppo, keys=keys), metrics

    @staticmethod
    def _traj_spec(traj: TrajectoryBatch) -> TrajectoryBatch:
        time_major = lambda x: P(None, DATA_AXIS)
        spec = jax.tree.map(time_major, traj)
        return spec._replace(bootstrap_value=P(DATA_AXIS), env_ids=P(DATA_AXIS))

    def _sharded_update(self, state: BridgedState, traj: TrajectoryBatch):
        state_spec = BridgedState(ppo=P(), keys=P(DATA_AXIS), actor_key=P())
        return jax.shard_map(self._local_update, mesh=self.mesh, in_specs=(state_spec, self._traj_spec(traj)),
                             out_specs=(state_spec, P()), check_vma=False)(state, traj)

    def _to_device(self, traj: TrajectoryBatch) -> TrajectoryBatch:
        traj = traj._replace(env_ids=traj.env_ids.astype(np.int32))
        shardings = jax.tree.map(lambda s: NamedSharding(self.mesh, s), self._traj_spec(traj))
        return jax.device_put(traj, shardings)

    def run(self, state: BridgedState, num_updates: int):
        """`num_updates` PPO updates on fresh simulator data → (state, metrics stacked over updates)."""
        if self.actor is None or self._version != int(state.ppo.update_step):
            self._start_actor(state)
        rows = []
        for _ in range(num_updates):
            t0 = time.perf_counter()
            frags, lags = self.actor.take(self.config.env.num_envs, self._version, self.config.bridge.max_policy_lag)
            wait = time.perf_counter() - t0
            traj = self._to_device(stack_fragments(frags))
            state, metrics = self._learn(state, traj)
            self._version += 1
            self.actor.publish(self._bundle(state), self._version)  # acting switches as soon as it is ready
            c = self.actor.counters
            metrics.update(policy_lag=float(lags.mean()), policy_lag_max=float(lags.max()),
                           dropped_fragments=float(c.dropped_fragments), lost_episodes=float(c.lost_episodes),
                           worker_restarts=float(self.pool.restart_counts.sum()))
            metrics["time/learner_wait_s"] = wait
            rows.append(metrics)
        rows = jax.device_get(rows)
        metrics = {k: np.stack([np.asarray(r[k]) for r in rows]) for k in rows[0]}
        return state, metrics


def build_bridged_trainer(config: ExperimentConfig, mesh: Optional[Mesh] = None) -> BridgedTrainer:
    """The trainer for `config.env.name = "bridge:<adapter>"` (see `jaxcraft.train.bridged_envs`)."""
    env = make_bridged_env(config)
    network = make_network(config.net, env.observation_space, env.action_space)
    return BridgedTrainer(config, env, network, mesh)
