"""Evaluation policies: one small protocol usable inside `jit`, for baselines and trained nets.

    carry = policy.init(N)
    carry, action = policy.act(carry, obs, state, reset, keys)

obs: the env's observation dict batched over N envs (rgb uint8[N, H, W, 3], ...); state: the
batched `TaskState` (privileged; only the expert reads it); reset: bool[N], True where `obs`
starts an episode; keys: PRNG keys [N], one per env (so an episode's actions do not depend
on how episodes are batched); action: int32[N, 11]. Policies are pytrees (flax struct
dataclasses): weights are traced arguments, the rest is static, so a jitted runner taking
the policy as an argument compiles once per kind of policy, not once per set of weights.
"""
from __future__ import annotations

import json
import pathlib
from typing import Any, Optional, Protocol

import jax
import jax.numpy as jnp
from flax import struct

from jaxcraft.ppo.distributions import FactorisedCategorical


class Policy(Protocol):
    name: str

    def init(self, batch_size: int) -> Any: ...

    def act(self, carry: Any, obs: dict, state: Any, reset: jax.Array, key: jax.Array) -> tuple[Any, jax.Array]: ...


def _where_reset(reset: jax.Array, fresh: Any, old: Any) -> Any:
    """Per env (leading axis), take `fresh` where reset else `old`."""
    return jax.tree.map(lambda f, o: jnp.where(reset.reshape(reset.shape + (1,) * (o.ndim - 1)), f, o), fresh, old)


def zeros_of(abstract: Any) -> Any:
    """Concrete zeros (PRNG keys: key 0) with the shapes/dtypes of a `jax.eval_shape` tree."""
    def make(s):
        if jax.dtypes.issubdtype(s.dtype, jax.dtypes.prng_key):
            return jnp.broadcast_to(jax.random.key(0), s.shape)
        return jnp.zeros(s.shape, s.dtype)
    return jax.tree.map(make, abstract)


@struct.dataclass
class RandomPolicy:
    """Uniform over each action factor independently (the chance baseline)."""

    env: Any = struct.field(pytree_node=False)
    name: str = struct.field(pytree_node=False, default="random")

    def init(self, batch_size: int) -> Any:
        return ()

    def act(self, carry, obs, state, reset, key):
        nvec = jnp.asarray(self.env.action_space().nvec, jnp.int32)
        action = jax.vmap(lambda k: jax.random.randint(k, nvec.shape, 0, nvec))(key)
        return carry, action.astype(jnp.int32)


def expert_module():
    """`jaxcraft.tasks.expert`, imported lazily: the scripted expert may be absent (ImportError)."""
    try:
        from jaxcraft.tasks import expert
    except ImportError as e:
        raise ImportError(f"the expert baseline needs jaxcraft.tasks.expert ({e})") from e
    return expert


@struct.dataclass
class ExpertPolicy:
    """A scripted teacher of `jaxcraft.tasks.teachers` (default: the planning expert), vmapped;
    reads the privileged state. `ExpertPolicy(env, params, teacher="servo")`: the visual servo."""

    env: Any = struct.field(pytree_node=False)
    params: Any                     # TaskEnvParams handed to the teacher's act
    teacher: str = struct.field(pytree_node=False, default="expert")
    name: str = struct.field(pytree_node=False, default="")

    def __post_init__(self):
        if not self.name:
            object.__setattr__(self, "name", self.teacher)

    def _teacher(self):
        expert_module()   # the clear ImportError if the teachers are absent
        from jaxcraft.tasks.teachers import get_teacher
        return get_teacher(self.teacher)

    def init(self, batch_size: int) -> Any:
        # The teacher's init needs a state, which init does not get: build zeros of its carry's
        # shape here; `act` re-initialises every env whose `reset` is set (the first step).
        t = self._teacher()
        abstract = jax.eval_shape(lambda p: t.init(self.env, self.env.reset_to_task(0, p)[1]), self.params)
        return zeros_of(jax.tree.map(lambda s: jax.ShapeDtypeStruct((batch_size,) + s.shape, s.dtype), abstract))

    def act(self, carry, obs, state, reset, key):
        t = self._teacher()
        fresh = lambda: jax.vmap(lambda s: t.init(self.env, s))(state)  # noqa: E731
        carry = jax.lax.cond(reset.any(), lambda: _where_reset(reset, fresh(), carry), lambda: carry)
        carry, action = jax.vmap(lambda s, c, k: t.act(self.env, self.params, s, c, k))(state, carry, key)
        return carry, jnp.asarray(action, jnp.int32)


@struct.dataclass
class NetworkPolicy:
    """A jaxcraft actor-critic: `carry, logits, value = network.apply(params, carry, obs[1, N], reset[1, N])`.

    Samples from `dist` (stochastic, as trained) unless `greedy`, which takes each factor's argmax.
    """

    network: Any = struct.field(pytree_node=False)
    params: Any
    dist: FactorisedCategorical = struct.field(pytree_node=False)
    greedy: bool = struct.field(pytree_node=False, default=False)
    name: str = struct.field(pytree_node=False, default="network")

    def init(self, batch_size: int) -> Any:
        return self.network.initial_carry(batch_size)

    def act(self, carry, obs, state, reset, key):
        obs1 = jax.tree.map(lambda x: x[None], obs)        # the net takes [L, N, ...]; here L = 1
        carry, logits, _ = self.network.apply(self.params, carry, obs1, reset[None])
        logits = logits[0]
        action = self.dist.mode(logits) if self.greedy else jax.vmap(self.dist.sample)(key, logits)
        return carry, action.astype(jnp.int32)


def load_pretrained_policy(params_dir: str | pathlib.Path, config: Any, env: Any, env_params: Any,
                           greedy: bool = False) -> NetworkPolicy:
    """NetworkPolicy of params saved by `jaxcraft pretrain` (behaviour cloning) for the network
    of `config` (the experiment they were trained with) on `env`. Raises `CheckpointError`
    naming the path if they are missing or do not fit the network."""
    import jaxcraft.tasks.registration  # noqa: F401  (registers the task env's nets, e.g. goal_cnn)
    from jaxcraft.registry import action_distribution, make_network
    from jaxcraft.train.checkpoint import CheckpointError
    from jaxcraft.train.imitation import load_params

    space = env.action_space(env_params)
    network = make_network(config.net, env.observation_space(env_params), space)
    obs, _ = env.reset_to_task(0, env_params)
    like = jax.eval_shape(network.init, jax.random.key(0), network.initial_carry(1),
                          jax.tree.map(lambda x: x[None, None], obs), jnp.zeros((1, 1), bool))
    try:
        params = load_params(params_dir, like)
    except (FileNotFoundError, ValueError) as e:
        raise CheckpointError(str(e)) from None
    return NetworkPolicy(network, params, action_distribution(space), greedy=greedy,
                         name=f"{pathlib.Path(params_dir).name}" + ("-greedy" if greedy else ""))


def load_checkpoint_policy(run_dir: str | pathlib.Path, step: Optional[int] = None,
                           greedy: bool = False) -> tuple[NetworkPolicy, Any]:
    """(NetworkPolicy, ExperimentConfig) of a run directory's checkpoint (default: the latest).

    Raises `CheckpointError` naming the path if config.json or the checkpoints are missing,
    unreadable or not of a cross-view task run.
    """
    import dataclasses

    from jaxcraft.config import from_dict
    from jaxcraft.tasks import CrossViewTaskEnv
    from jaxcraft.train.checkpoint import Checkpointer, CheckpointError
    from jaxcraft.train.loop import build_trainer

    run_dir = pathlib.Path(run_dir)
    cfg_path, ckpt_dir = run_dir / "config.json", run_dir / "checkpoints"
    if not run_dir.is_dir():
        raise CheckpointError(f"no run directory at {run_dir}")
    if not cfg_path.is_file():
        raise CheckpointError(f"{cfg_path} is missing: {run_dir} is not a jaxcraft run directory")
    try:
        config = from_dict(json.loads(cfg_path.read_text()))
    except Exception as e:  # noqa: BLE001 - bad JSON, unknown fields, wrong types: all "corrupt"
        raise CheckpointError(f"{cfg_path} is not a readable experiment config ({type(e).__name__}: {e})") from None
    if config.env.name.startswith("bridge:"):
        raise CheckpointError(f"{run_dir} trained on the bridged env {config.env.name!r}; eval needs a JAX task env")
    if not ckpt_dir.is_dir():   # checked first: Checkpointer would create the directory
        raise CheckpointError(f"no checkpoints directory at {ckpt_dir}")
    ckpt = Checkpointer(ckpt_dir, max_to_keep=1 << 30)   # never prunes: restoring only
    steps = ckpt.steps()
    if not steps:
        raise CheckpointError(f"no checkpoints in {ckpt_dir}")
    step = steps[-1] if step is None else int(step)
    # One device is enough to act; the saved state is resharded on restore.
    config_1 = dataclasses.replace(config, run=dataclasses.replace(config.run, num_devices=1))
    try:
        trainer = build_trainer(config_1)
    except ValueError as e:   # ConfigError included
        raise CheckpointError(f"cannot rebuild the trainer of {cfg_path}: {e}") from None
    if not isinstance(trainer.env.env, CrossViewTaskEnv):
        raise CheckpointError(f"{run_dir} trained on {config.env.name!r}, not a cross-view task env (jaxcraft:tasks)")
    # Restore into zeros of the state's shape: no need to compile/run the trainer's init.
    like = zeros_of(jax.eval_shape(trainer.init, jax.random.key(0)))
    state, _ = ckpt.restore(step, like, trainer.state_sharding(like))
    policy = NetworkPolicy(trainer.network, state.ppo.params, trainer.dist, greedy=greedy,
                           name=f"{run_dir.name}@{step}" + ("-greedy" if greedy else ""))
    return policy, config


__all__ = ["Policy", "RandomPolicy", "ExpertPolicy", "NetworkPolicy", "load_checkpoint_policy",
           "load_pretrained_policy", "zeros_of"]
