"""The bridged trainer: PPO on out-of-process simulators (Crafter, MineRL, …) through `bridge/`.

    trainer = jaxcraft.build.make_trainer(config)  # config.env.name = "bridge:<adapter>"
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
import time
import weakref
from typing import Any, Optional

import jax
import numpy as np
from flax import struct
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from bridge import Pool, PoolConfig
from jaxcraft.config import ExperimentConfig, validate
from jaxcraft.ppo.update import PPOState
from jaxcraft.train.agent import Policy, Spaces, make_agent
from jaxcraft.train.bridged.actor import Actor
from jaxcraft.train.bridged.envs import BridgedEnv
from jaxcraft.train.multihost.sharding import DATA_AXIS, local_mesh, make_mesh, put_process_local, to_local
from jaxcraft.train.trajectory import Trajectory, stack_fragments

CLOSE_DRAIN_S = 30.0  # close(): how long the simulators' steps and resets in flight may take to finish


@struct.dataclass
class BridgedState:
    """What a bridged run checkpoints (simulators are outside it: they restart on resume)."""

    ppo: PPOState          # replicated
    keys: jax.Array        # [num_envs] per-column minibatch-shuffle keys, split over `data`
    actor_key: jax.Array   # replicated; the actor's sampling keys derive from it and the counter


class BridgedTrainer:
    """PPO on out-of-process simulators; a `Trainer` (init / run / state_sharding / close)."""

    def __init__(self, config: ExperimentConfig, env: BridgedEnv, network: Any, mesh: Optional[Mesh] = None):
        recurrent = network.recurrent
        num_devices = validate(config, jax.device_count(), recurrent=recurrent,  # incl. the bridge section
                               num_processes=jax.process_count())
        self.mesh = mesh if mesh is not None else make_mesh(num_devices)
        self.num_devices = self.mesh.devices.size
        # Multi-process: each process runs simulators for its envs and acts on its own devices;
        # only the learner's update runs on the global mesh.
        self.local_mesh = local_mesh(self.mesh)
        self.process, self.num_local_envs = jax.process_index(), config.env.num_envs // jax.process_count()
        self.config, self.env, self.network = config, env, network
        self.axis_name = DATA_AXIS if self.num_devices > 1 else None
        # Distribution, acting, initial params, loop layout and learner: the one agent assembly. The
        # bridged update is always one jitted call per update (`host_loop`); only its minibatch loops vary.
        self.agent = make_agent(config, network, Spaces(env.observation_space, env.action_space),
                                axis_name=self.axis_name, host_loop=True)
        self.dist, self.acting = self.agent.dist, self.agent.acting
        self.loops, self.learner = self.agent.loops, self.agent.learner
        self.use_ref = self.learner.use_ref
        self.recv_batch_size = min(config.bridge.recv_batch_size, self.num_local_envs) or self.num_local_envs
        self._act = jax.jit(self._act_fn)
        self._learn = jax.jit(self._sharded_update)
        self.pool: Optional[Pool] = None
        self.actor: Optional[Actor] = None
        self._version: Optional[int] = None
        self._closed_pools = 0
        self._init_jit = None
        ref = weakref.WeakMethod(self.close)
        atexit.register(lambda: ref() and ref()())

    # -- initialisation -----------------------------------------------------------------
    def init_params(self, key: jax.Array) -> Any:
        """Fresh network params (`Agent.init_params`: on a zero observation of the spaces, jitted)."""
        return self.agent.init_params(key)

    def initial_params(self, key: jax.Array) -> Any:
        """The params `init(key)` starts from when given none."""
        return self.init_params(jax.random.split(key, 3)[0])

    def params(self, state: BridgedState) -> Any:
        """The network params of a state (what checkpoints and policies read)."""
        return state.ppo.params

    def policy(self, state: BridgedState) -> Policy:
        """The policy of a state's params (`act` on batched observations of the simulators' policy view)."""
        return self.agent.policy(self.params(state))

    def init(self, key: jax.Array, params: Any = None, ref_params: Any = None) -> BridgedState:
        """A fresh state (jitted onto the mesh). Stops a running actor: the next `run` resets the simulators."""
        self._stop_actor()
        if self._init_jit is None:
            shapes = jax.eval_shape(self._init_state, jax.random.key(0))
            self._init_jit = jax.jit(self._init_state, out_shardings=self.state_sharding(shapes))
        return self._init_jit(key, params, ref_params)

    def _init_state(self, key: jax.Array, params: Any = None, ref_params: Any = None) -> BridgedState:
        _, k_keys, k_actor = jax.random.split(key, 3)   # [0]: initial_params
        if params is None:
            params = self.initial_params(key)
        ppo = self.learner.init_state(params, ref_params)
        return BridgedState(ppo=ppo, keys=jax.random.split(k_keys, self.config.env.num_envs), actor_key=k_actor)

    def state_sharding(self, state: BridgedState) -> BridgedState:
        rep, split = NamedSharding(self.mesh, P()), NamedSharding(self.mesh, P(DATA_AXIS))
        return BridgedState(ppo=jax.tree.map(lambda _: rep, state.ppo), keys=split, actor_key=rep)

    @property
    def env_steps_per_update(self) -> int:
        return self.config.batch_size

    # -- acting (jitted; called from the actor thread) ----------------------------------
    def _act_fn(self, bundle, tables, key, ids, obs, final_obs, reset, truncated):
        params, value_norm_state, ref_params = bundle
        table, ref_table = tables
        carry = jax.tree.map(lambda t: t[ids], table)
        # The ended episode's last observation, seen with the carry after o_{t-1} (before o_t).
        v_final = self.acting.final_value(params, value_norm_state, carry, final_obs, truncated)
        new_carry, step = self.acting.step(params, value_norm_state, carry, obs, reset,
                                           jax.random.split(key, ids.shape[0]))
        out = dict(action=step.action, log_prob=step.log_prob, value=step.value, v_final=v_final, carry=carry)
        if ref_params is not None:
            ref_carry = jax.tree.map(lambda t: t[ids], ref_table)
            new_ref, out["ref_logits"] = self.acting.reference(ref_params, ref_carry, obs, reset)
            ref_table = jax.tree.map(lambda t, c: t.at[ids].set(c), ref_table, new_ref)
        table = jax.tree.map(lambda t, c: t.at[ids].set(c), table, new_carry)
        return (table, ref_table), out

    def _initial_tables(self):
        n = self.num_local_envs
        rep = NamedSharding(self.local_mesh, P())
        table = jax.device_put(self.network.initial_carry(n), rep)
        return table, (table if self.use_ref else None)

    def _bundle(self, state: BridgedState):
        """The acting policy, on this process's devices (the actor thread never runs global programs)."""
        return to_local((state.ppo.params, state.ppo.value_norm, state.ppo.ref_params), self.mesh)

    def _ensure_pool(self) -> Pool:
        if self.pool is None:
            b, n = self.config.bridge, self.num_local_envs
            self.pool = Pool(self.env.factory, PoolConfig(
                num_envs=n, num_workers=b.num_workers, batch_size=self.recv_batch_size,
                seed=self.config.run.seed + 104729 * self.process,  # each host's simulators differ
                step_timeout=b.step_timeout, reset_timeout=b.reset_timeout,
                on_simulator_error=b.on_simulator_error), spec=self.env.spec)
        return self.pool

    def _start_actor(self, state: BridgedState) -> None:
        self._stop_actor()
        version = int(state.ppo.update_step)
        pool = self._ensure_pool()
        if pool.broken:  # a 'raise'-policy simulator error poisoned it: start over
            self._close_pool()
            pool = self._ensure_pool()
        actor_key = jax.random.fold_in(to_local(state.actor_key, self.mesh), version)
        if self.process:
            actor_key = jax.random.fold_in(actor_key, self.process)
        self.actor = Actor(pool, self.env, self._act, self._initial_tables(), actor_key,
                           self.config.env.rollout_len, capacity=self.num_local_envs, mesh=self.local_mesh,
                           reset_seed=self.config.run.seed + 7919 * version + 104729 * self.process,
                           carry_every=self.learner.chunk_len)  # the update reads the carry at chunk starts only
        self.actor.publish(self._bundle(state), version)
        self.actor.start()
        self._version = version

    def _stop_actor(self) -> None:
        if self.actor is not None:
            self.actor.stop()
            self.actor = None
        self._version = None

    def _close_pool(self, drain: bool = False) -> None:
        if self.pool is not None:
            if drain and not self.pool.broken:
                # Let the steps and resets in flight finish, so that each worker reads CLOSE
                # while idle and closes its simulators itself (a busy one is SIGKILLed after 2 s).
                try:
                    self.pool.drain(CLOSE_DRAIN_S)
                except Exception:  # noqa: BLE001 - closing anyway
                    pass
            self.pool.close()
            self.pool = None
            self._closed_pools += 1

    def close(self) -> None:
        """Stop the actor thread and the simulator workers (idempotent; `run` restarts them)."""
        actor = self.actor
        self._stop_actor()
        self._close_pool(drain=actor is None or not actor.alive)  # never beside a live actor thread

    def __enter__(self) -> "BridgedTrainer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def collect(self, state: BridgedState, num_fragments: int) -> list[Trajectory]:
        """Fragments acted by `state`'s params without training (tests, evaluation)."""
        if self.actor is None or self._version != int(state.ppo.update_step):
            self._start_actor(state)
        frags, _ = self.actor.take(num_fragments, self._version, None)
        return frags

    # -- learning ---------------------------------------------------------------------------
    def _local_update(self, state: BridgedState, traj: Trajectory):
        ppo, keys, metrics = self.learner.learn(state.ppo, traj, state.keys)
        metrics["update"] = ppo.update_step
        return state.replace(ppo=ppo, keys=keys), metrics

    @staticmethod
    def _traj_spec(traj: Trajectory) -> Trajectory:
        spec = jax.tree.map(lambda x: P(None, DATA_AXIS), traj)
        return spec._replace(bootstrap_value=P(DATA_AXIS), env_ids=P(DATA_AXIS))

    def _sharded_update(self, state: BridgedState, traj: Trajectory):
        if self.axis_name is None:
            return self._local_update(state, traj)
        state_spec = BridgedState(ppo=P(), keys=P(DATA_AXIS), actor_key=P())
        return jax.shard_map(self._local_update, mesh=self.mesh, in_specs=(state_spec, self._traj_spec(traj)),
                             out_specs=(state_spec, P()), check_vma=False)(state, traj)

    def _to_device(self, traj: Trajectory) -> Trajectory:
        # This process's columns of the global batch; env ids become global (process-major).
        env_ids = traj.env_ids.astype(np.int32) + np.int32(self.process * self.num_local_envs)
        traj = traj._replace(env_ids=env_ids, version=None)
        shardings = jax.tree.map(lambda s: NamedSharding(self.mesh, s), self._traj_spec(traj))
        return put_process_local(traj, shardings)

    def run(self, state: BridgedState, num_updates: int):
        """`num_updates` PPO updates on fresh simulator data → (state, metrics stacked over updates)."""
        if self.actor is None or self._version != int(state.ppo.update_step):
            self._start_actor(state)
        rows = []
        for _ in range(num_updates):
            t0 = time.perf_counter()
            frags, lags = self.actor.take(self.num_local_envs, self._version, self.config.bridge.max_policy_lag)
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

