"""The PPO update: epochs × minibatches inside `lax.scan`, feed-forward or recurrent.

Network contract (one API for both kinds; feed-forward nets ignore carry and reset):

    carry, logits, value = apply_fn(params, carry, obs, reset)
      carry: [N, ...] hidden state *before* the first step (pytree; `()` for feed-forward)
      obs:   [L, N, ...] time-major sequence;  reset: [L, N] bool, episode starts at t —
             the net must reset its state before consuming obs[t] where reset[t]
      logits: [L, N, A];  value: [L, N] (normalised units when `value_norm` is on), or, with
      `value_head="hl_gauss"`, value logits [L, N, K] (acting decodes them: `hl_gauss.decoded`)

Minibatches are built per env: each env's rollout of T steps is cut into C = T / L
chunks, the chunks of every env are shuffled with that env's own key, and minibatch m
takes C / M chunks from *every* env. Because the assignment depends only on each env's
key and not on how envs are laid out on devices, 1 device and D devices compute the same
minibatches; the gradient of the global minibatch is the mean of the per-device
gradients (`pmean` over `axis_name`).
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import optax
from flax import struct

from jaxcraft.ppo import losses
from jaxcraft.ppo.config import ConfigError, PPOConfig
from jaxcraft.ppo.distributions import FactorisedCategorical
from jaxcraft.ppo.value_norm import ValueNormState, init_value_norm, normalize, update_value_norm

ApplyFn = Callable[[Any, Any, Any, jax.Array], tuple[Any, jax.Array, jax.Array]]


class PPOBatch(NamedTuple):
    """A rollout ready for the update; every leaf is time-major [T, B, ...]."""

    obs: Any                 # observations o_t
    action: jax.Array        # a_t
    log_prob: jax.Array      # log π_old(a_t | ·)
    value: jax.Array         # v_old(s_t) in reward units
    advantage: jax.Array     # A_t (GAE)
    target: jax.Array        # value target G_t = A_t + v_t
    reset: jax.Array         # bool: o_t starts an episode
    carry: Any               # hidden state before step t (`()` for feed-forward)
    ref_logits: Optional[jax.Array] = None  # logits of the frozen reference policy at t
    policy_mask: Optional[jax.Array] = None  # bool: the policy acted at t (False: a teacher's guided step —
                                             # no policy-gradient, entropy or KL term; the critic still learns)


@struct.dataclass
class PPOState:
    """Everything the update changes, plus the frozen reference policy."""

    params: Any
    opt_state: Any
    value_norm: ValueNormState
    update_step: jax.Array            # int32, number of updates done
    ref_params: Any = None            # frozen π_ref for the KL penalty (None = off)


def make_optimizer(config: PPOConfig, total_updates: int) -> optax.GradientTransformation:
    """clip_by_global_norm → Adam(W); linear decay to 0 over all minibatch steps if annealed."""
    steps = max(1, total_updates * config.num_epochs * config.num_minibatches)
    lr = optax.linear_schedule(config.lr, 0.0, steps) if config.anneal_lr else config.lr
    return optax.chain(
        optax.clip_by_global_norm(config.max_grad_norm),
        optax.adamw(lr, eps=config.adam_eps, weight_decay=config.weight_decay),
    )


def init_ppo_state(params: Any, optimizer: optax.GradientTransformation, ref_params: Any = None) -> PPOState:
    return PPOState(params=params, opt_state=optimizer.init(params), value_norm=init_value_norm(),
                    update_step=jnp.zeros((), jnp.int32), ref_params=ref_params)


def resolve_chunk_len(config: PPOConfig, rollout_len: int, recurrent: bool) -> int:
    return config.chunk_len or (rollout_len if recurrent else 1)


def check_batch_layout(config: PPOConfig, rollout_len: int, recurrent: bool) -> None:
    """Raise ConfigError (a ValueError, naming the field) if the rollout cannot be cut into minibatches."""
    chunk = resolve_chunk_len(config, rollout_len, recurrent)
    if rollout_len % chunk:
        raise ConfigError(f"ppo.chunk_len={chunk} must divide the rollout length {rollout_len}")
    chunks = rollout_len // chunk
    if chunks % config.num_minibatches:
        raise ConfigError(
            f"ppo.num_minibatches={config.num_minibatches} must divide the {chunks} chunks per env "
            f"(rollout length {rollout_len} / chunk_len {chunk})")


def _minibatches(batch: PPOBatch, keys: jax.Array, num_minibatches: int, chunk_len: int) -> PPOBatch:
    """[T, B] → [M, L, (C/M)·B] with per-env chunk shuffles (see module doc)."""
    T, B = batch.advantage.shape[:2]
    C, L, M = T // chunk_len, chunk_len, num_minibatches
    perm = jax.vmap(lambda k: jax.random.permutation(k, C))(keys)        # [B, C]
    env = jnp.arange(B)

    def seq(x):  # [T, B, ...] → [M, L, C/M·B, ...]
        x = x.reshape((C, L, B) + x.shape[2:])
        x = x[perm.T, :, env[None, :]]                                  # [C, B, L, ...]
        x = x.reshape((M, C // M, B, L) + x.shape[3:])
        x = jnp.moveaxis(x, 3, 1)                                       # [M, L, C/M, B, ...]
        return x.reshape((M, L, (C // M) * B) + x.shape[4:])

    def start(x):  # carry at chunk starts: [T, B, ...] or [C, B, ...] (kept only there) → [M, C/M·B, ...]
        x = x[::L] if x.shape[0] == T else x                            # (L = 1: the two are one layout)
        x = x[perm.T, env[None, :]]                                     # [C, B, ...]
        return x.reshape((M, (C // M) * B) + x.shape[2:])

    return PPOBatch(
        obs=jax.tree.map(seq, batch.obs), action=seq(batch.action), log_prob=seq(batch.log_prob),
        value=seq(batch.value), advantage=seq(batch.advantage), target=seq(batch.target),
        reset=seq(batch.reset), carry=jax.tree.map(start, batch.carry),
        ref_logits=None if batch.ref_logits is None else seq(batch.ref_logits),
        policy_mask=None if batch.policy_mask is None else seq(batch.policy_mask))


AuxLossFn = Callable[[Any, PPOBatch], tuple[jax.Array, dict]]


def make_update_fn(apply_fn: ApplyFn, dist: FactorisedCategorical, optimizer: optax.GradientTransformation,
                   config: PPOConfig, chunk_len: int, axis_name: Optional[str] = None,
                   aux_loss_fn: Optional[AuxLossFn] = None):
    """Build `update(state, batch, keys) -> (state, metrics)`.

    batch: `PPOBatch` [T, B]; keys: [B] per-env PRNG keys for the chunk shuffles.
    aux_loss_fn: `(params, minibatch) -> (loss, metrics)`, an auxiliary loss of the caller's
    (e.g. a perception head against labels in the observation), added as `config.aux_coef · loss`
    on every step of the minibatch. It runs its own forward pass beside the PPO terms' (XLA's
    common-subexpression pass may merge the shared part; not measured): a cost paid only when
    `config.aux_coef > 0`.
    Under `shard_map`, pass the mesh axis as `axis_name`: B is then the per-device count,
    gradients, statistics and metrics are averaged over devices.
    """
    config.validate()
    # XLA:CPU runs convolution gradients inside a rolled while-loop ~25x slower than unrolled;
    # the epoch/minibatch loops are short, so unroll them there (costs compile time only).
    unroll = config.unroll_minibatches if config.unroll_minibatches is not None else jax.default_backend() == "cpu"
    pmean = (lambda x: jax.lax.pmean(x, axis_name)) if axis_name else (lambda x: x)
    hl = config.hl_gauss() if config.value_head == "hl_gauss" else None

    def loss_fn(params, mb: PPOBatch, kl_coef, pg_on):
        _, logits, v_pred = apply_fn(params, mb.carry, mb.obs, mb.reset)
        log_prob = dist.log_prob(logits, mb.action)
        lr_t = losses.log_ratio(log_prob, mb.log_prob, config.log_ratio_clip)
        on = mb.policy_mask
        pg_loss, clip_frac = losses.clipped_surrogate_loss(lr_t, mb.advantage, config.clip_eps, mask=on)
        if hl is None:
            v_loss = losses.value_loss(v_pred, mb.value, mb.target, config.value_clip_eps)
        else:
            v_loss = hl.loss(v_pred, mb.target)
        entropy = losses.global_mean(dist.entropy(logits), mask=on)
        # pg_on = 0 during the critic warm-up: only the value (and KL) terms have gradients.
        total = pg_on * (pg_loss - config.ent_coef * entropy) + config.vf_coef * v_loss
        kl_ref = jnp.zeros(())
        if mb.ref_logits is not None:
            kl_ref = losses.global_mean(dist.kl(logits, mb.ref_logits), mask=on)
            kl_on = 1.0 if config.critic_warmup_kl else pg_on
            total = total + kl_on * kl_coef * kl_ref
        metrics = dict(policy_loss=pg_loss, value_loss=v_loss, entropy=entropy,
                       approx_kl=losses.approx_kl(lr_t, mask=on), clip_frac=clip_frac, kl_ref=kl_ref)
        if aux_loss_fn is not None and config.aux_coef:
            a_loss, a_metrics = aux_loss_fn(params, mb)
            total = total + config.aux_coef * a_loss
            metrics.update(a_metrics, aux_loss=a_loss)
        metrics["loss"] = total
        return total, metrics

    grad_fn = jax.grad(loss_fn, has_aux=True)

    def minibatch_step(carry, mb: PPOBatch):
        params, opt_state, value_norm_state, kl_coef, pg_on = carry
        # Data statistics sit outside the gradient: global over devices, no collectives in grad.
        if config.normalize_advantages:
            mb = mb._replace(advantage=losses.normalize_advantages(mb.advantage, axis_name, mask=mb.policy_mask))
        if config.value_norm:
            mb = mb._replace(value=normalize(value_norm_state, mb.value), target=normalize(value_norm_state, mb.target))
        grads, metrics = grad_fn(params, mb, kl_coef, pg_on)
        grads, metrics = pmean((grads, metrics))
        updates, new_opt_state = optimizer.update(grads, opt_state, params)
        new_params = optax.apply_updates(params, updates)
        metrics["grad_norm"] = optax.tree.norm(grads)
        if config.max_approx_kl is not None:
            ok = jnp.logical_and(jnp.isfinite(metrics["approx_kl"]), metrics["approx_kl"] <= config.max_approx_kl)
            new_params = jax.tree.map(lambda n, o: jnp.where(ok, n, o), new_params, params)
            new_opt_state = jax.tree.map(lambda n, o: jnp.where(ok, n, o), new_opt_state, opt_state)
            metrics["skipped"] = 1.0 - ok.astype(jnp.float32)
        return (new_params, new_opt_state, value_norm_state, kl_coef, pg_on), metrics

    def update(state: PPOState, batch: PPOBatch, keys: jax.Array):
        value_norm_state = state.value_norm
        if config.value_norm:
            value_norm_state = update_value_norm(value_norm_state, batch.target, config.value_norm_decay, axis_name)
        kl_coef = losses.kl_coefficient(config.kl_coef, config.kl_decay, state.update_step)

        def epoch(carry, epoch_idx):
            epoch_keys = jax.vmap(lambda k: jax.random.fold_in(k, epoch_idx))(keys)
            mbs = _minibatches(batch, epoch_keys, config.num_minibatches, chunk_len)
            return jax.lax.scan(minibatch_step, carry, mbs, unroll=unroll)

        pg_on = (state.update_step >= config.critic_warmup_updates).astype(jnp.float32)
        init = (state.params, state.opt_state, value_norm_state, kl_coef, pg_on)
        (params, opt_state, value_norm_state, _, _), metrics = jax.lax.scan(epoch, init, jnp.arange(config.num_epochs), unroll=unroll)
        metrics = jax.tree.map(jnp.mean, metrics)
        metrics["kl_coef"] = kl_coef
        new_state = state.replace(params=params, opt_state=opt_state, value_norm=value_norm_state,
                                  update_step=state.update_step + 1)
        return new_state, metrics

    return update
