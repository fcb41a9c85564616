"""Acting: one policy step, shared by the fused rollout, the bridged actor, evaluation and DAgger.

It lives in `ppo` (it needs nothing else of jaxcraft) so that every user — `train/`, `eval/` and
`tasks/dagger.py` alike — sits above it: there is one way to sample a policy.

    acting = Acting(scalar_value_apply(network.apply, config.ppo), dist, value_norm=config.ppo.value_norm)
    carry, out = acting.step(params, value_norm_state, carry, obs, reset, keys)      # sample a_t ~ π(·|o_t)
    ref_carry, ref_logits = acting.reference(ref_params, ref_carry, obs, reset)
    v_final = acting.final_value(params, value_norm_state, carry_after, final_obs, truncated)

Shapes: one time step of B envs — obs leaves [B, ...], reset bool[B] (o_t starts an
episode: the net resets its hidden state there), keys [B] (one PRNG key per env).
Values are in reward units: with `value_norm` the net predicts EWMA-normalised targets and
`value = denormalize(value_norm_state, v_net)`.

Goal codes (`goal_code_fn`, nets with a `goal_code` method such as `goal_cnn`): the cross-view
goal is constant within an episode, so acting encodes it where an episode starts and passes the
carried code back in the observation (`obs["goal_code"]`), instead of running the goal torso on
every step; actions, log-probs and values equal the uncached step's (`tests/train/test_goal_code_cache.py`):

    code = acting.goal_code(params, obs, reset, code)     # [B, W]: re-encoded only where reset
    carry, out = acting.step(params, value_norm_state, carry, with_goal_code(obs, code), reset, keys)

Truncation bootstrap: an episode cut by a time limit (or a crashed simulator) is not
terminal, so GAE bootstraps from v(o_final), the value of its last observation, seen with
the hidden state after the step that produced it. `final_value` computes it only when some
env was truncated (a `lax.cond`) and returns 0 elsewhere.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple, Optional, Protocol, runtime_checkable

import jax
import jax.numpy as jnp

from jaxcraft.ppo import hl_gauss
from jaxcraft.ppo.config import PPOConfig
from jaxcraft.ppo.distributions import FactorisedCategorical
from jaxcraft.ppo.value_norm import ValueNormState, denormalize


class StepOut(NamedTuple):
    """The policy's output for one step of B envs."""

    action: jax.Array     # [B, ...] sampled (or greedy) action
    log_prob: jax.Array   # [B] log π(a_t | o_t)
    value: jax.Array      # [B] v(o_t) in reward units
    logits: jax.Array     # [B, num_logits]


def scalar_value_apply(apply_fn: Callable, ppo: PPOConfig) -> Callable:
    """`apply_fn` with a scalar value output: with `ppo.value_head="hl_gauss"` the net's value
    logits [L, N, K] are decoded to the expected bin centre (the update trains the logits)."""
    return hl_gauss.decoded(apply_fn, ppo.hl_gauss()) if ppo.value_head == "hl_gauss" else apply_fn


@runtime_checkable
class Network(Protocol):
    """The network contract of `jaxcraft.ppo` (a flax module, or anything with these members):

        carry, logits, value = network.apply(params, carry, obs [L, N, ...], reset bool[L, N])

    `initial_carry(batch_size)` is the carry at an episode start (`()` for feed-forward nets) and
    `recurrent` says whether the carry holds memory (then PPO keeps time order: `ppo.chunk_len`)."""

    def apply(self, params: Any, *args: Any, **kwargs: Any) -> Any: ...

    def initial_carry(self, batch_size: int) -> Any: ...

    @property
    def recurrent(self) -> bool: ...


def check_network(network: Any, where: str) -> Any:
    """`network` if it implements `Network`, else a one-line ValueError naming what it lacks."""
    missing = [m for m in ("apply", "initial_carry", "recurrent") if not hasattr(network, m)]
    if missing:
        raise ValueError(f"{where}: {type(network).__name__} is not a jaxcraft network: it lacks "
                         f"{', '.join(missing)} (jaxcraft.ppo.acting.Network)")
    return network


@runtime_checkable
class GoalCodeNet(Protocol):
    """A network whose goal can be encoded once per episode (see the module doc)."""

    goal_code_size: int

    def goal_code(self, obs: Any) -> jax.Array:
        """obs leaves [B, ...] → goal code [B, goal_code_size] (called through `apply(method=...)`)."""


@runtime_checkable
class EncoderNet(Protocol):
    """A network that splits into a perception encoder and a decision part (`ppo.freeze_encoder`):
    `encode(obs [L, N, ...]) → features [L, N, F]`, `decide(carry, features, reset) → (carry, logits,
    value)` (the `jaxcraft.ppo` contract on features), and the encoder's top-level param modules."""

    encoder_modules: tuple[str, ...]

    def encode(self, obs: Any) -> jax.Array:
        """Features of obs (called through `apply(method=...)`)."""

    def decide(self, carry: Any, features: jax.Array, reset: jax.Array) -> tuple[Any, jax.Array, jax.Array]:
        """The contract's outputs from features (called through `apply(method=...)`)."""


def frozen_encoder_apply(network: Any) -> tuple[Callable, Callable]:
    """(encode_fn(params, obs[B]) → features [B, F], decide apply_fn(params, carry, features[L, N], reset))
    of an `EncoderNet`; ValueError naming the problem for any other network."""
    if not isinstance(network, EncoderNet):
        raise ValueError(f"ppo.freeze_encoder needs a network with encode/decide (goal_cnn), got {type(network).__name__}")
    encode = lambda params, obs: network.apply(params, _time1(obs), method="encode")[0]  # noqa: E731
    decide = lambda params, carry, feats, reset: network.apply(params, carry, feats, reset, method="decide")  # noqa: E731
    return encode, decide


def goal_code_apply(network: Any) -> Optional[Callable]:
    """`(params, obs[B]) → code [B, W]` for a `GoalCodeNet`, else None (no caching)."""
    if not isinstance(network, GoalCodeNet):
        return None
    return lambda params, obs: network.apply(params, obs, method="goal_code")


def with_goal_code(obs: Any, code: Optional[jax.Array]) -> Any:
    """obs [B, ...] with the cached goal code added (unchanged when `code` is None)."""
    return obs if code is None else {**obs, "goal_code": code}


def _time1(tree: Any) -> Any:
    """[B, ...] → [1, B, ...]: the network contract is over [L, N] sequences."""
    return jax.tree.map(lambda x: x[None], tree)


@dataclasses.dataclass(frozen=True)
class Acting:
    """The policy step of one network: `apply(params, carry, obs[L, N], reset[L, N])`."""

    apply_fn: Callable
    dist: FactorisedCategorical
    value_norm: bool = False
    goal_code_fn: Optional[Callable] = None   # `goal_code_apply(network)`; None: encode on every step
    encode_fn: Optional[Callable] = None      # frozen encoder (`frozen_encoder_apply`): apply_fn then decides on features

    def features(self, params: Any, obs: Any) -> Any:
        """What `apply_fn` reads for obs [B, ...]: the encoder's features [B, F] with a frozen
        encoder (computed once per step, stored in the trajectory), else the observation itself."""
        return obs if self.encode_fn is None else self.encode_fn(params, obs)

    def goal_code(self, params: Any, obs: Any, reset: jax.Array, code: Optional[jax.Array]) -> Optional[jax.Array]:
        """The goal code of each env's current episode [B, W] (None without `goal_code_fn`).

        `code` None encodes every env (the first step of a rollout); otherwise envs whose o_t
        starts an episode (`reset`, a new goal) are re-encoded — under a `lax.cond`, so steps
        where no episode starts skip the goal torso — and the others keep their code.
        """
        if self.goal_code_fn is None:
            return None
        if code is None:
            return self.goal_code_fn(params, obs)
        return jax.lax.cond(reset.any(), lambda: jnp.where(reset[:, None], self.goal_code_fn(params, obs), code),
                            lambda: code)

    def values(self, value_norm_state: Optional[ValueNormState], v: jax.Array) -> jax.Array:
        """Net value outputs → reward units."""
        return denormalize(value_norm_state, v) if self.value_norm else v

    def step(self, params: Any, value_norm_state: Optional[ValueNormState], carry: Any, obs: Any, reset: jax.Array,
             keys: jax.Array, greedy: bool = False, temperature: float = 1.0) -> tuple[Any, StepOut]:
        """(carry after o_t, StepOut) with a_t ~ π(·|o_t) (the mode when `greedy`); `temperature`
        (static, evaluation only) samples from softmax(logits / T) per action factor instead."""
        new_carry, logits, v = self.apply_fn(params, carry, _time1(obs), reset[None])
        logits, v = logits[0], self.values(value_norm_state, v[0])
        if temperature != 1.0:
            logits = logits / temperature
        action = self.dist.mode(logits) if greedy else jax.vmap(self.dist.sample)(keys, logits)
        return new_carry, StepOut(action=action, log_prob=self.dist.log_prob(logits, action), value=v,
                                  logits=logits)

    def reference(self, ref_params: Any, ref_carry: Any, obs: Any, reset: jax.Array) -> tuple[Any, jax.Array]:
        """(reference carry after o_t, reference logits [B, num_logits]) of the frozen KL reference."""
        ref_carry, ref_logits, _ = self.apply_fn(ref_params, ref_carry, _time1(obs), reset[None])
        return ref_carry, ref_logits[0]

    def value(self, params: Any, value_norm_state: Optional[ValueNormState], carry: Any, obs: Any,
              reset: jax.Array) -> jax.Array:
        """v(o) [B] in reward units (the bootstrap value after a rollout's last step)."""
        _, _, v = self.apply_fn(params, carry, _time1(obs), reset[None])
        return self.values(value_norm_state, v[0])

    def final_value(self, params: Any, value_norm_state: Optional[ValueNormState], carry: Any, final_obs: Any,
                    truncated: jax.Array) -> jax.Array:
        """v(o_final) [B] where `truncated`, else 0; `carry` is the hidden state that saw the
        step producing o_final (no reset: o_final continues its episode). `final_obs` is an
        observation (encoded here, only when some env was truncated, with a frozen encoder)."""
        def compute():
            return self.value(params, value_norm_state, carry, self.features(params, final_obs),
                              jnp.zeros_like(truncated))

        v_final = jax.lax.cond(truncated.any(), compute, lambda: jnp.zeros(truncated.shape, jnp.float32))
        return jnp.where(truncated, v_final, 0.0)


def split_per_env(keys: jax.Array, n: int) -> tuple[jax.Array, ...]:
    """Per-env keys [B] → n independent per-env key arrays [B] (the env's own stream)."""
    out = jax.vmap(lambda k: jax.random.split(k, n))(keys)  # [B, n]
    return tuple(out[:, i] for i in range(n))
