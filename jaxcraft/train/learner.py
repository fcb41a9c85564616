"""The learner: GAE, the PPO update and the episode metrics — one implementation for every trainer.

    learner = make_learner(config, network, dist, axis_name)     # once per trainer
    ppo_state = learner.init_state(params, ref_params)
    ppo_state, keys, metrics = learner.learn(ppo_state, trajectory, keys)

`learn` runs on one device's shard of a [T, B] `Trajectory` (inside `jax.shard_map` when
`axis_name` is set; statistics and gradients are then reduced over that axis):

    A_t, G_t = GAE(r_t, v_t, v(o_T), terminated_t, truncated_t, v_final_t; γ, λ)
    PPO epochs × minibatches on (o_t, a_t, log π_old, v_t, A_t, G_t, reset_t, carry_t, ref_logits_t)

`keys` [B] are the per-env keys; each is split once per update and the new half shuffles
that env's chunks (so the minibatches do not depend on how envs are laid out on devices).
Metrics (the same names on every path): the update's loss terms plus

    episodes        episodes that ended in the batch (all devices)
    episode_return  mean return of those episodes     episode_length  their mean length
    success_rate    fraction of them that succeeded   crashed_episodes  ended by a simulator crash
    reward          mean reward per step               truncations     steps that truncated an episode
    value           mean v(o_t)                        explained_variance  1 − Var(G − v)/Var(G) of the batch
With a teacher-guided curriculum (`Trajectory.guided`): guided steps are masked out of the policy
terms (`PPOBatch.policy_mask`), and `guided_steps` (their fraction), `success_rate_guided` /
`success_rate_unguided` (episodes that did / did not start with guided steps) are added.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Optional

import jax
import jax.numpy as jnp
import optax

from bridge import crossview as X
from jaxcraft.nets.goal import bearing_loss
from jaxcraft.ppo import losses
from jaxcraft.ppo.distributions import FactorisedCategorical
from jaxcraft.ppo.gae import generalized_advantage_estimation
from jaxcraft.ppo.update import (PPOBatch, PPOState, init_ppo_state, make_optimizer, make_update_fn,
                                 resolve_chunk_len)
from jaxcraft.ppo.acting import frozen_encoder_apply
from jaxcraft.train.trajectory import Trajectory

LEARNER_METRICS = ("episodes", "episode_return", "episode_length", "success_rate", "crashed_episodes", "reward",
                   "truncations", "value", "explained_variance")


@dataclasses.dataclass(frozen=True)
class Learner:
    """GAE + PPO update + metrics for one experiment's network (built by `make_learner`)."""

    config: Any                       # the experiment's PPOConfig
    optimizer: optax.GradientTransformation
    update_fn: Any                    # jaxcraft.ppo.make_update_fn(...)
    use_ref: bool                     # a KL reference policy is kept (ppo.kl_coef > 0)
    axis_name: Optional[str] = None   # mesh axis to reduce over (None on one device)
    chunk_len: int = 1                # L: the update replays the rollout in chunks of L steps from their stored carry

    def init_state(self, params: Any, ref_params: Any = None) -> PPOState:
        """PPO state at update 0; the KL reference defaults to the initial params (ROCKET-3)."""
        if self.use_ref and ref_params is None:
            ref_params = params
        return init_ppo_state(params, self.optimizer, ref_params if self.use_ref else None)

    def learn(self, ppo: PPOState, traj: Trajectory, keys: jax.Array) -> tuple[PPOState, jax.Array, dict]:
        """One update on this shard's [T, B] trajectory → (state, new per-env keys, metrics)."""
        cfg = self.config
        adv, target = generalized_advantage_estimation(
            traj.reward, traj.value, traj.bootstrap_value, traj.terminated, traj.truncated, traj.v_final,
            cfg.gamma, cfg.gae_lambda)
        batch = PPOBatch(obs=traj.obs, action=traj.action, log_prob=traj.log_prob, value=traj.value,
                         advantage=adv, target=target, reset=traj.reset, carry=traj.carry,
                         ref_logits=traj.ref_logits, policy_mask=None if traj.guided is None else ~traj.guided)
        keys, shuffle_keys = jax.vmap(lambda k: tuple(jax.random.split(k)))(keys)
        ppo, metrics = self.update_fn(ppo, batch, shuffle_keys)
        metrics.update(self.episode_metrics(traj))
        ev = losses.explained_variance(traj.value, target)
        metrics["explained_variance"] = jax.lax.pmean(ev, self.axis_name) if self.axis_name else ev
        return ppo, keys, metrics

    def episode_metrics(self, traj: Trajectory) -> dict:
        """The episode statistics of a trajectory shard, reduced over `axis_name`."""
        psum = (lambda x: jax.lax.psum(x, self.axis_name)) if self.axis_name else (lambda x: x)
        pmean = (lambda x: jax.lax.pmean(x, self.axis_name)) if self.axis_name else (lambda x: x)
        done = traj.done.astype(jnp.float32)
        episodes = psum(done.sum())
        per_episode = lambda x: psum((x * done).sum()) / jnp.maximum(episodes, 1.0)  # noqa: E731
        crashed = jnp.zeros_like(traj.terminated) if traj.crashed is None else traj.crashed
        out = {}
        if traj.guided is not None:
            for name, group in (("guided", traj.guided_episode), ("unguided", ~traj.guided_episode)):
                ended = done * group
                out[f"success_rate_{name}"] = psum((traj.success * ended).sum()) / jnp.maximum(psum(ended.sum()), 1.0)
            out["guided_steps"] = pmean(traj.guided.astype(jnp.float32).mean())
        return dict(
            **out,
            episodes=episodes,
            episode_return=per_episode(traj.episode_return),
            episode_length=per_episode(traj.episode_length),
            success_rate=per_episode(traj.success),
            reward=pmean(traj.reward.mean()),
            truncations=psum(traj.truncated.sum().astype(jnp.float32)),
            crashed_episodes=psum(crashed.sum().astype(jnp.float32)),
            value=pmean(traj.value.mean()),
        )


def freeze_modules(optimizer: optax.GradientTransformation, frozen: tuple[str, ...]) -> optax.GradientTransformation:
    """`optimizer` on every top-level param module except `frozen` ones, whose updates are zero
    (no weight decay either: their params stay bit-identical). Params are flax's {"params": {...}}."""
    def labels(params):
        return {**params, "params": {name: jax.tree.map(lambda _: "frozen" if name in frozen else "train", sub)
                                     for name, sub in params["params"].items()}}
    return optax.multi_transform({"train": optimizer, "frozen": optax.set_to_zero()}, labels)


def bearing_aux_loss(network: Any, frozen_encoder: bool):
    """`(params, minibatch) -> (loss, metrics)`: the bearing head on the policy's features against
    the privileged observation of the same steps (`nets.goal.bearing_loss`). With a frozen encoder
    the minibatch holds features whose tail is that observation (`goal_cnn.encode`)."""
    def loss(params, mb):
        if frozen_encoder:
            _, _, _, pred = network.apply(params, mb.carry, mb.obs, mb.reset, method="decide_with_bearing")
            privileged = mb.obs[..., -network.privileged_dim:]
        else:
            _, _, _, pred = network.apply(params, mb.carry, mb.obs, mb.reset, method="with_bearing")
            privileged = mb.obs[X.PRIVILEGED]
        return bearing_loss(pred, privileged.astype(jnp.float32))
    return loss


def make_learner(config: Any, network: Any, dist: FactorisedCategorical, axis_name: Optional[str],
                 unroll_minibatches: Optional[bool] = None) -> Learner:
    """The learner of experiment `config` for `network` (its recurrence decides the chunk length).

    unroll_minibatches: the trainer's resolved loop layout (`jaxcraft.train.xla_loops`); None
    keeps `ppo.unroll_minibatches` as configured."""
    recurrent = network.recurrent
    ppo_config = config.ppo
    if unroll_minibatches is not None:
        ppo_config = dataclasses.replace(ppo_config, unroll_minibatches=unroll_minibatches)
    optimizer = make_optimizer(ppo_config, config.num_updates)
    apply_fn = network.apply
    if ppo_config.freeze_encoder:   # the batch holds features; the encoder's params get no update at all
        _, apply_fn = frozen_encoder_apply(network)
        optimizer = freeze_modules(optimizer, network.encoder_modules)
    chunk_len = resolve_chunk_len(ppo_config, config.env.rollout_len, recurrent)
    aux_loss_fn = bearing_aux_loss(network, ppo_config.freeze_encoder) if ppo_config.aux_coef else None
    update_fn = make_update_fn(apply_fn, dist, optimizer, ppo_config, chunk_len, axis_name, aux_loss_fn=aux_loss_fn)
    return Learner(config=ppo_config, optimizer=optimizer, update_fn=update_fn, use_ref=config.ppo.kl_coef > 0,
                   axis_name=axis_name, chunk_len=chunk_len)
