"""BatchedEnv's pool hand-out and refresh: the in-place copy loop (default) equals the full select
and an independent reference written as a plain Python loop over the envs."""
import jax
import jax.numpy as jnp
import numpy as np

from jaxcraft.envs import BatchedEnv
from jaxcraft.envs.base import Environment
from jaxcraft.envs.spaces import Box, Discrete


class _Toy(Environment):
    """Episode length = 1 + action; state carries a big-ish payload to swap."""

    @property
    def default_params(self):
        return ()

    def reset_env(self, key, params):
        v = jax.random.uniform(key, (5,))
        return {"v": v}, {"t": jnp.zeros((), jnp.int32), "v": v, "grid": jnp.broadcast_to(v[0], (4, 4))}

    def step_env(self, key, state, action, params):
        state = {**state, "t": state["t"] + 1, "v": state["v"] + 1.0}
        done = state["t"] > action
        return {"v": state["v"]}, state, jnp.float32(1.0), done, jnp.zeros((), bool), {}

    def action_space(self, params=None):
        return Discrete(40)

    def observation_space(self, params=None):
        return Box(0.0, jnp.inf, (5,))


def _rollout(full_select, b=32, steps=12):
    be = BatchedEnv(_Toy(), (), pool_size=7, refresh_per_step=2, full_select=full_select)
    st = be.reset(jax.random.split(jax.random.key(0), b), jax.random.key(1))
    step = jax.jit(be.step)
    outs = []
    for t in range(steps):
        # Mixed episode lengths: some steps finish a few envs (sparse path), some many (fallback).
        act = jax.random.randint(jax.random.key(100 + t), (b,), 0, 40 if t % 4 else 1)
        st, out = step(st, act, jax.random.split(jax.random.key(200 + t), b))
        outs.append(out)
    return st, outs


def test_copy_loop_matches_full_select():
    ref_st, ref = _rollout(full_select=True)
    st, outs = _rollout(full_select=False)
    ref_st, st = (s.replace(pool_key=jax.random.key_data(s.pool_key)) for s in (ref_st, st))
    for a, b in zip(jax.tree.leaves((ref_st, ref)), jax.tree.leaves((st, outs))):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    n_done = [int(o.info["done"].sum()) for o in ref]
    # steps with fewer than k=2, a few, and more than P=7 finished envs (entries handed out twice)
    assert 1 in n_done and any(2 <= n <= 7 for n in n_done) and any(n > 7 for n in n_done), n_done


def _reference_rollout(b, p, k, actions, step_keys, keys, pool_key):
    """The pool's contract as a plain loop over envs, on host: the r-th finished env of a step (in
    env order) takes pool entry (cursor + r) mod P of the pool as it was before the step; then, if
    any env finished, the k entries before the new cursor are regenerated from split(sub, k), where
    (pool_key, sub) = split(pool_key) every step."""
    toy = _Toy()
    reset = lambda key: jax.tree.map(np.asarray, toy.reset_env(key, ()))   # noqa: E731
    envs = [reset(keys[i]) for i in range(b)]
    pool_key, sub = jax.random.split(pool_key)
    pool = [reset(kk) for kk in jax.random.split(sub, p)]
    cursor, frames = 0, []
    for act in actions:
        finished = []
        for i in range(b):
            _, st = envs[i]
            st = {**st, "t": st["t"] + 1, "v": st["v"] + 1.0}
            envs[i] = ({"v": st["v"]}, st)
            if st["t"] > act[i]:
                finished.append(i)
        old_pool = list(pool)
        for r, i in enumerate(finished):
            envs[i] = old_pool[(cursor + r) % p]
        cursor = (cursor + len(finished)) % p
        pool_key, sub = jax.random.split(pool_key)
        if finished:
            for i, kk in enumerate(jax.random.split(sub, k) if k else []):
                pool[(cursor - k + i) % p] = reset(kk)
        frames.append(([e[1]["v"] for e in envs], [e[0]["v"] for e in envs], [q[1]["v"] for q in pool],
                       [q[1]["grid"] for q in pool], cursor))
    return frames


def test_pool_matches_a_reference_loop():
    b, p = 32, 7
    actions = [np.asarray(jax.random.randint(jax.random.key(100 + t), (b,), 0, 40 if t % 4 else 1)) for t in range(12)]
    actions[5] = np.full((b,), 39)                         # a step where no env finishes
    actions[6] = np.where(np.arange(b) == 3, 0, 39)        # ... and one where one env (< k) finishes
    actions[7] = np.where(np.arange(b) % 9 == 0, 0, 39)    # ... and four
    step_keys = [jax.random.split(jax.random.key(200 + t), b) for t in range(12)]
    keys, pool_key = jax.random.split(jax.random.key(0), b), jax.random.key(1)
    for k in (0, 2, p):
        for full in (False, True):
            be = BatchedEnv(_Toy(), (), pool_size=p, refresh_per_step=k, full_select=full)
            st = be.reset(keys, pool_key)
            step = jax.jit(be.step)
            ref = _reference_rollout(b, p, k, actions, step_keys, keys, pool_key)
            for t, act in enumerate(actions):
                st, out = step(st, jnp.asarray(act), step_keys[t])
                env_v, obs_v, pool_v, pool_grid, cursor = ref[t]
                np.testing.assert_array_equal(np.asarray(st.env_state["v"]), np.stack(env_v), err_msg=f"k={k} t={t}")
                np.testing.assert_array_equal(np.asarray(st.obs["v"]), np.stack(obs_v))
                np.testing.assert_array_equal(np.asarray(st.pool_state["v"]), np.stack(pool_v), err_msg=f"k={k} t={t}")
                np.testing.assert_array_equal(np.asarray(st.pool_state["grid"]), np.stack(pool_grid))
                assert int(st.pool_cursor[0]) == cursor


def test_pool_is_refreshed_only_where_entries_were_handed_out():
    """A step where no env finishes leaves the pool as it was; a step where n finish moves the
    cursor by n and regenerates exactly the `refresh_per_step` slots just before it."""
    b, k = 6, 2
    be = BatchedEnv(_Toy(), (), pool_size=7, refresh_per_step=k)
    st = be.reset(jax.random.split(jax.random.key(0), b), jax.random.key(1))
    step = jax.jit(be.step)
    keys = jax.random.split(jax.random.key(2), b)
    never = jnp.full((b,), 39)                              # no episode ends for 39 steps
    after, out = step(st, never, keys)
    assert not bool(out.info["done"].any())
    np.testing.assert_array_equal(np.asarray(after.pool_state["v"]), np.asarray(st.pool_state["v"]))
    assert int(after.pool_cursor[0]) == int(st.pool_cursor[0])
    three = jnp.asarray([0, 39, 0, 39, 0, 39])               # envs 0, 2, 4 end on their first step
    after, out = step(st, three, keys)
    assert int(out.info["done"].sum()) == 3 and int(after.pool_cursor[0]) == 3
    changed = np.flatnonzero(np.any(np.asarray(after.pool_state["v"]) != np.asarray(st.pool_state["v"]), axis=1))
    np.testing.assert_array_equal(changed, [1, 2])          # slots cursor-k … cursor-1
    np.testing.assert_array_equal(np.asarray(after.env_state["v"])[[0, 2, 4]], np.asarray(st.pool_state["v"])[:3])


def test_initial_reset_equals_separate_resets_of_the_envs_and_the_pool():
    """The envs and the pool are reset in one batch; each state is `reset_env` of its own key:
    the envs' from their keys, the pool's from split(split(pool_key)[1], P)."""
    b, p = 3, 5
    be = BatchedEnv(_Toy(), (), pool_size=p, refresh_per_step=1)
    keys, pool_key = jax.random.split(jax.random.key(0), b), jax.random.key(1)
    st = be.reset(keys, pool_key)
    pool_keys = jax.random.split(jax.random.split(pool_key)[1], p)
    for i in range(b):
        np.testing.assert_array_equal(np.asarray(st.env_state["v"][i]), np.asarray(jax.random.uniform(keys[i], (5,))))
    for i in range(p):
        np.testing.assert_array_equal(np.asarray(st.pool_state["v"][i]), np.asarray(jax.random.uniform(pool_keys[i], (5,))))


def test_a_fixed_pool_is_never_regenerated_and_is_handed_out_in_turn():
    """refresh_per_step = 0: finished envs take pool entries cursor, cursor+1, … (mod P) and the
    pool stays the one from the reset (a fixed task set)."""
    b, p = 4, 3
    be = BatchedEnv(_Toy(), (), pool_size=p, refresh_per_step=0)
    st = be.reset(jax.random.split(jax.random.key(0), b), jax.random.key(1))
    pool0 = np.asarray(st.pool_state["v"])
    step = jax.jit(be.step)
    handed = []
    for t in range(4):   # envs 0 and 1 end every step, 2 and 3 never
        st, out = step(st, jnp.asarray([0, 0, 39, 39]), jax.random.split(jax.random.key(t), b))
        assert int(out.info["done"].sum()) == 2
        np.testing.assert_array_equal(np.asarray(st.pool_state["v"]), pool0)
        handed += [np.asarray(st.env_state["v"])[0], np.asarray(st.env_state["v"])[1]]
    for j, v in enumerate(handed):
        np.testing.assert_array_equal(v, pool0[j % p])
    with np.testing.assert_raises(ValueError):
        BatchedEnv(_Toy(), (), pool_size=p, refresh_per_step=p + 1)
