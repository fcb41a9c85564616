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

from typing import Any, Protocol

import jax
import jax.numpy as jnp
from flax import struct

from jaxcraft.ppo.acting import Acting, GoalCodeNet, goal_code_apply, with_goal_code
from jaxcraft.ppo.distributions import FactorisedCategorical
from jaxcraft.tasks.teachers import get_teacher


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
        from jaxcraft.tasks import expert   # optional: the scripted expert may be absent from a checkout
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

    Samples from `dist` (stochastic, as trained) unless `greedy`, which takes each factor's argmax;
    `temperature` T ≠ 1 samples each factor from softmax(logits / T) (T < 1: sharper).
    """

    network: Any = struct.field(pytree_node=False)
    params: Any
    dist: FactorisedCategorical = struct.field(pytree_node=False)
    greedy: bool = struct.field(pytree_node=False, default=False)
    temperature: float = struct.field(pytree_node=False, default=1.0)
    name: str = struct.field(pytree_node=False, default="network")

    def init(self, batch_size: int) -> Any:
        # (net hidden state, goal code): a goal net's code is encoded where an episode starts.
        code = (jnp.zeros((batch_size, self.network.goal_code_size), jnp.float32)
                if isinstance(self.network, GoalCodeNet) else None)
        return self.network.initial_carry(batch_size), code

    def act(self, carry, obs, state, reset, key):
        # The trainers' own policy step (value norm is irrelevant: only the action is used).
        acting = Acting(self.network.apply, self.dist, goal_code_fn=goal_code_apply(self.network))
        net_carry, code = carry
        code = None if code is None else acting.goal_code(self.params, obs, reset, code)
        net_carry, out = acting.step(self.params, None, net_carry, with_goal_code(obs, code), reset, key,
                                     greedy=self.greedy, temperature=self.temperature)
        return (net_carry, code), out.action.astype(jnp.int32)


__all__ = ["Policy", "RandomPolicy", "ExpertPolicy", "NetworkPolicy", "zeros_of"]
