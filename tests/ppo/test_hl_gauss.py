"""HL-Gauss value head: target histogram, loss and decoding against hand-computed numbers."""
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcraft import ppo
from jaxcraft.nets import ActorCritic, MLPEncoder
from jaxcraft.ppo.hl_gauss import HLGauss, decoded

# Support [0, 4], 4 bins (edges 0..4, centres 0.5..3.5), σ = 1 bin width = 1.
HL = HLGauss(v_min=0.0, v_max=4.0, num_bins=4, sigma_ratio=1.0)
# y = 2: masses Φ(−1)−Φ(−2) = 0.1586553 − 0.0227501, Φ(0)−Φ(−1) = 0.5 − 0.1586553 (and mirrored),
# normalised by Φ(2)−Φ(−2) = 0.9544997.
P_AT_2 = np.array([0.1359052, 0.3413447, 0.3413447, 0.1359052]) / 0.9544997


def test_target_histogram_is_the_truncated_gaussian_mass_per_bin():
    np.testing.assert_allclose(HL.target_probs(jnp.array(2.0)), P_AT_2, atol=1e-6)
    # A target at the lower edge: masses Φ(1)−Φ(0), Φ(2)−Φ(1), Φ(3)−Φ(2), Φ(4)−Φ(3) over Φ(4)−Φ(0).
    phi = [0.5, 0.8413447, 0.9772499, 0.9986501, 0.9999683]
    expect = np.diff(phi) / (phi[-1] - phi[0])
    np.testing.assert_allclose(HL.target_probs(jnp.array([0.0, -3.0])), np.stack([expect, expect]), atol=1e-6)
    np.testing.assert_allclose(HL.sigma, 1.0)


def test_loss_is_cross_entropy_to_the_histogram():
    logits = jnp.log(jnp.array([1.0, 2.0, 2.0, 1.0]))  # softmax = [1, 2, 2, 1] / 6
    expect = -(2 * P_AT_2[0] * math.log(1 / 6) + 2 * P_AT_2[1] * math.log(1 / 3))
    assert float(HL.loss(logits, jnp.array(2.0))) == pytest.approx(expect, abs=1e-5)
    assert float(HL.loss(jnp.zeros((3, 4)), jnp.array([1.0, 2.0, 3.0]))) == pytest.approx(math.log(4), abs=1e-6)


def test_decoding_is_the_expected_bin_centre():
    logits = jnp.log(jnp.array([1.0, 2.0, 3.0, 4.0]))  # p = [.1, .2, .3, .4]
    assert float(HL.decode(logits)) == pytest.approx(0.05 + 0.3 + 0.75 + 1.4, abs=1e-6)
    # Decoding the target histogram of an interior y gives back y (symmetric mass).
    assert float(HL.decode(jnp.log(HL.target_probs(jnp.array(2.0))))) == pytest.approx(2.0, abs=1e-5)


def test_bad_support_is_named():
    with pytest.raises(ValueError, match="v_max"):
        HLGauss(v_min=1.0, v_max=1.0)
    with pytest.raises(ValueError, match="ppo.value_head"):
        ppo.PPOConfig(value_head="twohot").validate()


def test_update_fits_the_histogram_value_head():
    """PPO with value_head='hl_gauss' on a one-state batch: the decoded value moves to the target."""
    net = ActorCritic(make_encoder=functools.partial(MLPEncoder, hidden=(8,)), num_logits=2, value_bins=21)
    cfg = ppo.PPOConfig(lr=3e-2, num_epochs=4, num_minibatches=1, value_head="hl_gauss", hl_gauss_bins=21,
                        hl_gauss_min=-2.0, hl_gauss_max=2.0, ent_coef=0.0)
    dist, hl = ppo.categorical(2), cfg.hl_gauss()
    T, B = 4, 2
    obs, reset = jnp.ones((T, B, 3)), jnp.zeros((T, B), bool)
    params = net.init(jax.random.key(0), (), obs, reset)
    act = decoded(net.apply, hl)
    _, logits, v0 = act(params, (), obs, reset)
    assert v0.shape == (T, B)
    a = jnp.zeros((T, B), jnp.int32)
    batch = ppo.PPOBatch(obs=obs, action=a, log_prob=dist.log_prob(logits, a), value=v0,
                         advantage=jnp.zeros((T, B)), target=jnp.full((T, B), 1.2), reset=reset, carry=())
    opt = ppo.make_optimizer(cfg, 1)
    update = jax.jit(ppo.make_update_fn(net.apply, dist, opt, cfg, chunk_len=1))
    state = ppo.init_ppo_state(params, opt)
    for _ in range(15):
        state, m = update(state, batch, jax.random.split(jax.random.key(1), B))
    _, _, v1 = act(state.params, (), obs, reset)
    assert abs(float(v1.mean()) - 1.2) < 0.15 < abs(float(v0.mean()) - 1.2)
