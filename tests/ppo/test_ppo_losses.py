"""PPO loss terms and distributions against hand-derived numbers and NumPy formulas."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcraft import ppo


def test_clipped_surrogate_hand_numbers():
    # ratios 1.5 (A=+1 → clipped to 1.2), 0.5 (A=+2 → min(1.0, 1.6)=1.0), 1.5 (A=−1 → min(−1.5, −1.2)=−1.5)
    lr = jnp.log(jnp.array([1.5, 0.5, 1.5]))
    adv = jnp.array([1.0, 2.0, -1.0])
    loss, clip_frac = ppo.clipped_surrogate_loss(lr, adv, 0.2)
    assert float(loss) == pytest.approx(-(1.2 + 1.0 - 1.5) / 3, rel=1e-6)
    assert float(clip_frac) == pytest.approx(1.0)


def test_value_loss_with_and_without_clipping():
    v, v_old, g = jnp.array([2.0, 0.0]), jnp.array([1.0, 0.0]), jnp.array([3.0, 1.0])
    # unclipped: ½·mean(1², 1²) = 0.5
    assert float(ppo.value_loss(v, v_old, g)) == pytest.approx(0.5)
    # clipped ε=0.5: v_c = [1.5, 0] → errors max(1, 2.25)=2.25 and max(1, 1)=1 → ½·mean = 0.8125
    assert float(ppo.value_loss(v, v_old, g, clip_eps=0.5)) == pytest.approx(0.8125)


def test_approx_kl_and_log_ratio_clip():
    lr = jnp.log(jnp.array([2.0, 1.0]))
    # k3 = (ρ−1) − log ρ: (1 − ln2) and 0
    assert float(ppo.approx_kl(lr)) == pytest.approx((1 - math.log(2)) / 2, rel=1e-6)
    clipped = ppo.log_ratio(jnp.array([5.0, -5.0, 0.5]), jnp.zeros(3), clip=1.03)
    np.testing.assert_allclose(np.asarray(clipped), [1.03, -1.03, 0.5], rtol=1e-6)


def test_kl_coefficient_decays_per_update():
    k = ppo.kl_coefficient(0.2, 0.9995, jnp.array(1000))
    assert float(k) == pytest.approx(0.2 * 0.9995 ** 1000, rel=1e-4)  # float32 decay


def test_advantage_normalisation():
    a = jnp.array([1.0, 2.0, 3.0, 4.0])
    n = np.asarray(ppo.normalize_advantages(a))
    assert n.mean() == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(n, (np.arange(1, 5) - 2.5) / np.std(np.arange(1, 5)), rtol=1e-5)


def test_categorical_matches_numpy():
    logits = jnp.array([[1.0, 2.0, 0.5]])
    p = np.exp([1.0, 2.0, 0.5]) / np.exp([1.0, 2.0, 0.5]).sum()
    d = ppo.categorical(3)
    assert float(d.log_prob(logits, jnp.array([1]))[0]) == pytest.approx(np.log(p[1]), rel=1e-5)
    assert float(d.entropy(logits)[0]) == pytest.approx(-(p * np.log(p)).sum(), rel=1e-5)
    assert int(d.mode(logits)[0]) == 1


def test_multi_discrete_vpt_space_factorises():
    # 9 binary buttons + 11×11 camera bins: 40 logits; joint log-prob is the sum of factors.
    nvec = (2,) * 9 + (11, 11)
    d = ppo.multi_discrete(nvec)
    assert d.num_logits == 40
    logits = jax.random.normal(jax.random.key(0), (5, 40))
    a = d.sample(jax.random.key(1), logits)
    assert a.shape == (5, 11) and bool(jnp.all(a < jnp.array(nvec)))
    lp = np.asarray(d.log_prob(logits, a))
    ref = np.zeros(5)
    off = 0
    L = np.asarray(logits, np.float64)
    for i, n in enumerate(nvec):
        block = L[:, off:off + n]
        logp = block - np.log(np.exp(block).sum(1, keepdims=True))
        ref += logp[np.arange(5), np.asarray(a)[:, i]]
        off += n
    np.testing.assert_allclose(lp, ref, rtol=1e-5)


def test_kl_zero_for_same_policy_and_positive_otherwise():
    d = ppo.multi_discrete((2, 3))
    logits = jax.random.normal(jax.random.key(0), (4, 5))
    np.testing.assert_allclose(np.asarray(d.kl(logits, logits)), 0.0, atol=1e-6)
    other = logits + jax.random.normal(jax.random.key(1), (4, 5))
    assert bool(jnp.all(d.kl(logits, other) > 0))
    # Bernoulli KL by hand: p=(0.5,0.5), q=(0.25,0.75) → 0.5 ln2 + 0.5 ln(2/3)
    dc = ppo.categorical(2)
    kl = dc.kl(jnp.log(jnp.array([0.5, 0.5])), jnp.log(jnp.array([0.25, 0.75])))
    assert float(kl) == pytest.approx(0.5 * math.log(2) + 0.5 * math.log(2 / 3), rel=1e-5)


def test_sampling_frequencies():
    d = ppo.categorical(3)
    logits = jnp.log(jnp.array([0.2, 0.3, 0.5]))
    samples = jax.vmap(lambda k: d.sample(k, logits))(jax.random.split(jax.random.key(0), 20000))
    freq = np.bincount(np.asarray(samples), minlength=3) / 20000
    np.testing.assert_allclose(freq, [0.2, 0.3, 0.5], atol=0.015)


def test_bad_logits_width_is_named():
    with pytest.raises(ValueError, match="nvec"):
        ppo.multi_discrete((2, 3)).log_prob(jnp.zeros((1, 4)), jnp.zeros((1, 2), jnp.int32))


def test_value_norm_moments():
    s = ppo.init_value_norm()
    x = jnp.array([1.0, 3.0])
    s = ppo.update_value_norm(s, x, decay=0.9)
    # One debiased update: μ = 2, σ = 1
    np.testing.assert_allclose(np.asarray(ppo.normalize(s, x)), [-1.0, 1.0], rtol=1e-4)
    np.testing.assert_allclose(np.asarray(ppo.denormalize(s, ppo.normalize(s, x))), x, rtol=1e-5)
