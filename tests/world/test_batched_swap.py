"""BatchedEnv's sparse pool swap (scatter into just the finished envs) equals the full select."""
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


def _rollout(max_swaps, b=32, steps=12):
    be = BatchedEnv(_Toy(), (), pool_size=7, refresh_per_step=2, max_swaps=max_swaps)
    st = be.reset(jax.random.split(jax.random.key(0), b), jax.random.key(1))
    step = jax.jit(be.step)
    outs = []
    for t in range(steps):
        # Mixed episode lengths: some steps finish a few envs (sparse path), some many (fallback).
        act = jax.random.randint(jax.random.key(100 + t), (b,), 0, 40 if t % 4 else 1)
        st, out = step(st, act, jax.random.split(jax.random.key(200 + t), b))
        outs.append(out)
    return st, outs


def test_sparse_swap_matches_full_select():
    ref_st, ref = _rollout(max_swaps=0)
    for m in (None, 3, 8):
        st, outs = _rollout(max_swaps=m)
        ref_st, st = (s.replace(pool_key=jax.random.key_data(s.pool_key)) for s in (ref_st, st))
        for a, b in zip(jax.tree.leaves((ref_st, ref)), jax.tree.leaves((st, outs))):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    n_done = [int(o.info["done"].sum()) for o in ref]
    assert any(0 < n <= 3 for n in n_done) and any(n > 8 for n in n_done), n_done   # both paths exercised


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
