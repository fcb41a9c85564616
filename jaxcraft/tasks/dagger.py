"""DAgger relabelling: the student acts, the teacher labels the student's own states.

    out = dagger_rollout(env, params, Acting(network.apply, dist), student_params, task_ids, key_seed,
                         max_steps, teacher="servo", beta=0.0)
    episodes = dagger_episodes(out)        # the demos file format (demos.py), ready to save/clone

    # or to disk, sharded like teacher demos (what `jaxcraft demos --student DIR` does):
    record_demos(env, params, task_ids, out_dir, max_steps, teacher="servo",
                 collect=dagger_collector(env, params, network, student_params, dist, key_seed, max_steps, "servo", beta))

Behaviour cloning only sees the teacher's state distribution; a student that drifts off it
meets states no demonstration covers. DAgger (Ross et al. 2011) fixes this by rolling out the
*student* (with probability β per step the teacher's action is executed instead, β = 0: pure
student) and recording at every visited state s_t the teacher's action π*(s_t) as the label:

    a_t^exec ~ β·π*(s_t) + (1 − β)·π_θ(· | o_t),   recorded action_t = π*(s_t),   s_{t+1} = env(s_t, a_t^exec)

Fields are those of `demos.rollout` (`rgb`, `action` = the teacher's label, `target_visible`,
`target_centroid`, `success_t`, goal fields, `task_id`) plus `executed` int32[N, T, 11], the
action actually taken. Keys follow `demos.step_keys`, so an episode replays from
`env.reset_to_task(task_id)` with the executed actions. The student is any net with the
`jaxcraft.ppo` contract, sampled by the same `jaxcraft.ppo.Acting.step` that training and
evaluation act with, over all N episodes at once (its carry persists through the episode; no
resets inside: each row is one episode of at most `max_steps` steps).
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from bridge import crossview as X
from jaxcraft.ppo.acting import Acting
from jaxcraft.tasks.demos import step_keys, to_file_format
from jaxcraft.tasks.env import target_in_frame, target_mask
from jaxcraft.tasks.teachers import get_teacher


@functools.partial(jax.jit, static_argnums=(0, 2, 6, 7))
def dagger_rollout(env, params, student: Acting, student_params, task_ids: jax.Array, key_seed: jax.Array,
                   max_steps: int, teacher: str = "servo", beta: jax.Array = 0.0, student_carry=()) -> dict:
    """Student-driven episodes of task_ids int32[N] labelled by `teacher` (see the module doc).

    student: the student's policy step (`Acting(network.apply, dist)`, sampled actions);
    student_carry: its initial carry for N envs (`()` for feed-forward nets).
    """
    labeller = get_teacher(teacher)
    obs, state, frame = jax.vmap(lambda i: env.reset_to_task_frame(i, params))(task_ids)
    vis, cen = jax.vmap(target_in_frame)(frame, state.task.target_id)
    mask = jax.vmap(target_mask)(frame, state.task.target_id)
    t_carry = jax.vmap(lambda s: labeller.init(env, s))(state)
    n = task_ids.shape[0]

    def step(c, t):
        state, t_carry, s_carry, obs, vis, cen, mask = c
        keys = jax.vmap(lambda i: step_keys(key_seed, i, t))(task_ids)
        k_teacher, k_env = keys
        t_carry, label = jax.vmap(lambda s, tc, k: labeller.act(env, params, s, tc, k))(state, t_carry, k_teacher)
        k_student = jax.vmap(lambda k: jax.random.fold_in(k, 2))(k_teacher)
        s_carry, acted = student.step(student_params, None, s_carry, obs, jnp.full((n,), t == 0), k_student)
        take_teacher = jax.vmap(lambda k: jax.random.uniform(jax.random.fold_in(k, 3)) < beta)(k_teacher)
        executed = jnp.where(take_teacher[:, None], label, acted.action.astype(jnp.int32))
        new_obs, state, _, _, _, info = jax.vmap(lambda k, s, a: env.step_env(k, s, a, params))(k_env, state, executed)
        out = (obs[X.RGB], label, executed, vis, cen, mask, info["success"])
        new = (state, t_carry, s_carry, new_obs, info["target_visible"], info["target_centroid"], info["target_mask"])
        return new, out

    init = (state, t_carry, student_carry, obs, vis, cen, mask)
    _, (rgb, label, executed, vis, cen, mask, succ) = jax.lax.scan(step, init, jnp.arange(max_steps))
    bt = lambda x: jnp.swapaxes(x, 0, 1)  # noqa: E731 — [T, N, ...] → [N, T, ...]
    # Demo fields (jaxcraft.tasks.demos.FIELDS): the observation's under their schema names.
    return {X.RGB: bt(rgb), "action": bt(label), "executed": bt(executed), "target_visible": bt(vis),
            "target_centroid": bt(cen), "target_mask": bt(mask), "success_t": bt(succ), X.GOAL_RGB: obs[X.GOAL_RGB],
            X.GOAL_MASK: obs[X.GOAL_MASK], X.FAMILY: state.task.family, "task_id": state.task.task_id}


def dagger_episodes(out: dict) -> dict:
    """Host arrays in the demos file format (`demos.FIELDS`; padding after success zeroed)."""
    out = {k: v for k, v in out.items() if k != "executed"}
    return to_file_format(out, int(out["task_id"].shape[0]))


def dagger_collector(env, params, network, student_params, dist, key_seed: int, max_steps: int,
                     teacher: str = "servo", beta: float = 0.0):
    """`record_demos(collect=...)`'s callable: task_ids int32[n] -> `dagger_rollout` of the
    student `network` (the `jaxcraft.ppo` net contract; its carry starts at `initial_carry(n)`)."""
    if not 0.0 <= beta <= 1.0:
        raise ValueError(f"DAgger beta must be in [0, 1], got {beta}")
    seed, b = jnp.asarray(key_seed, jnp.int32), jnp.asarray(beta, jnp.float32)
    student = Acting(network.apply, dist)

    def collect(task_ids: jax.Array) -> dict:
        return dagger_rollout(env, params, student, student_params, task_ids, seed, max_steps, teacher, b,
                              network.initial_carry(task_ids.shape[0]))
    return collect
