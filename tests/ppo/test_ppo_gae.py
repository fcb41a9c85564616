"""GAE against a plain Python loop and hand-derived numbers."""
import numpy as np
import jax.numpy as jnp
import pytest

from jaxcraft.ppo import generalized_advantage_estimation as gae


def reference_gae(r, v, v_boot, term, trunc, v_final, gamma, lam):
    """Independent per-env backward loop written from the definition."""
    T, B = r.shape
    adv = np.zeros((T, B))
    for b in range(B):
        a_next = 0.0
        for t in reversed(range(T)):
            if term[t, b]:
                next_v, cont = 0.0, 0.0
            elif trunc[t, b]:
                next_v, cont = v_final[t, b], 0.0
            else:
                next_v = v[t + 1, b] if t + 1 < T else v_boot[b]
                cont = 1.0
            delta = r[t, b] + gamma * next_v - v[t, b]
            a_next = delta + gamma * lam * cont * a_next
            adv[t, b] = a_next
    return adv


def test_hand_derived_three_steps():
    # T=3, one env, γ=0.5, λ=0.5, episode terminates at t=1, new episode at t=2.
    r = np.array([[1.0], [2.0], [3.0]])
    v = np.array([[0.5], [1.0], [2.0]])
    term = np.array([[False], [True], [False]])
    trunc = np.zeros_like(term)
    adv, target = gae(jnp.array(r), jnp.array(v), jnp.array([4.0]), jnp.array(term), jnp.array(trunc),
                      jnp.zeros((3, 1)), 0.5, 0.5)
    # t=2: δ = 3 + .5·4 − 2 = 3 → A=3 ; t=1: δ = 2 + 0 − 1 = 1, no carry → A=1
    # t=0: δ = 1 + .5·1 − .5 = 1 → A = 1 + .25·1 = 1.25
    np.testing.assert_allclose(np.asarray(adv)[:, 0], [1.25, 1.0, 3.0], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(target)[:, 0], [1.75, 2.0, 5.0], rtol=1e-6)


def test_truncation_bootstraps_from_final_value():
    r = np.array([[1.0], [0.0]])
    v = np.array([[0.0], [0.0]])
    trunc = np.array([[True], [False]])
    adv, _ = gae(jnp.array(r), jnp.array(v), jnp.array([0.0]), jnp.zeros((2, 1), bool), jnp.array(trunc),
                 jnp.array([[10.0], [0.0]]), 0.9, 1.0)
    # δ_0 = 1 + 0.9·10 = 10, and nothing flows back from t=1 across the episode boundary.
    assert float(adv[0, 0]) == pytest.approx(10.0)
    # Same step, but terminated: no bootstrap.
    adv_t, _ = gae(jnp.array(r), jnp.array(v), jnp.array([0.0]), jnp.array(trunc), jnp.zeros((2, 1), bool),
                   jnp.array([[10.0], [0.0]]), 0.9, 1.0)
    assert float(adv_t[0, 0]) == pytest.approx(1.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_python_loop_random(seed):
    rng = np.random.default_rng(seed)
    T, B = 17, 5
    r = rng.normal(size=(T, B))
    v = rng.normal(size=(T, B))
    v_boot = rng.normal(size=B)
    v_final = rng.normal(size=(T, B))
    term = rng.random((T, B)) < 0.15
    trunc = (rng.random((T, B)) < 0.15) & ~term
    adv, target = gae(*(jnp.asarray(x, jnp.float32) for x in (r, v, v_boot)), jnp.array(term), jnp.array(trunc),
                      jnp.asarray(v_final, jnp.float32), 0.97, 0.9)
    ref = reference_gae(r, v, v_boot, term, trunc, v_final, 0.97, 0.9)
    np.testing.assert_allclose(np.asarray(adv), ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(target), ref + v, rtol=1e-4, atol=1e-5)


def test_rejects_bad_shapes():
    with pytest.raises(AssertionError):
        gae(jnp.zeros((3, 2)), jnp.zeros((3, 2)), jnp.zeros((3,)), jnp.zeros((3, 2), bool), jnp.zeros((3, 2), bool),
            jnp.zeros((3, 2)), 0.9, 0.9)
