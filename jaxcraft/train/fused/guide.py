"""The teacher-guided curriculum (Jump-Start RL, Uchendu et al., ICML 2023) of the fused trainer.

A cloned student that succeeds in 3 % of its episodes gives PPO one or two successes per update.
Here a privileged teacher (the visual servo, pure JAX) acts for the first h steps of each
training episode and hands over to the student, so most episodes end near the target and the
student's own steps carry the signal of finishing; as the horizon shrinks the student must do
more of the episode itself (`run.guide`, `config.sections.GuideConfig`):

    h ~ U{0, …, H(u)} per episode,   H(u) = round(H₀ · max(0, 1 − u / (f · U)))

for update u of U (f = `decay_fraction`). Step t of an episode is *guided* iff t < h: the
teacher's action is executed and recorded, the step has no policy-gradient, entropy or KL term
(`PPOBatch.policy_mask`), and its reward and value still train the critic and enter the
advantages of the student's later steps. Evaluation never uses the guide.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from jaxcraft.tasks.teachers import Teacher, get_teacher


def guide_horizon(horizon: int, decay_fraction: float, update_step: jax.Array, total_updates: int) -> jax.Array:
    """H(u) = round(H₀ · max(0, 1 − u / (f · U))) as int32 (see the module doc)."""
    span = max(decay_fraction * total_updates, 1e-9)
    left = jnp.clip(1.0 - update_step.astype(jnp.float32) / span, 0.0, 1.0)
    return jnp.round(horizon * left).astype(jnp.int32)


@struct.dataclass
class GuideState:
    """Per env [B]: this episode's guided steps h, and the teacher's carry."""

    h: jax.Array          # int32 [B]
    carry: Any            # the teacher's carry, leaves [B, ...]


@dataclasses.dataclass(frozen=True)
class Guide:
    """The teacher acting on a batched task env's states (`env`, `params`: the unbatched env and its params)."""

    env: Any
    params: Any
    teacher: Teacher

    @staticmethod
    def make(name: str, env: Any, params: Any) -> "Guide":
        return Guide(env=env, params=params, teacher=get_teacher(name))

    def init(self, env_states: Any) -> GuideState:
        b = jax.tree.leaves(env_states)[0].shape[0]
        carry = jax.vmap(lambda s: self.teacher.init(self.env, s))(env_states)
        return GuideState(h=jnp.zeros((b,), jnp.int32), carry=carry)

    def act(self, gs: GuideState, env_states: Any, episode_step: jax.Array, reset: jax.Array,
            horizon: jax.Array, keys: jax.Array) -> tuple[GuideState, jax.Array, jax.Array]:
        """→ (state, guided bool[B], teacher action [B, ...]) at the current observations.

        Where `reset` (a new episode), h is drawn from U{0, …, horizon} and the teacher's carry
        starts afresh; `episode_step` [B] counts the episode's steps taken so far.
        """
        k_h, k_act = jax.vmap(lambda k: tuple(jax.random.split(jax.random.fold_in(k, 0x6A5D))))(keys)
        fresh_h = jax.vmap(lambda k: jax.random.randint(k, (), 0, horizon + 1))(k_h)
        h = jnp.where(reset, fresh_h, gs.h)
        fresh = jax.vmap(lambda s: self.teacher.init(self.env, s))(env_states)
        carry = jax.tree.map(lambda f, c: jnp.where(reset.reshape((-1,) + (1,) * (c.ndim - 1)), f, c), fresh, gs.carry)
        carry, action = jax.vmap(lambda s, c, k: self.teacher.act(self.env, self.params, s, c, k))(
            env_states, carry, k_act)
        return GuideState(h=h, carry=carry), episode_step < h, action
