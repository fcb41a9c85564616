"""`ppo.value_head="hl_gauss"` in the trainers: the config check, decoded acting values, learning."""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcraft.build import make_env, make_network, make_trainer
from jaxcraft.config import ConfigError, EnvConfig, ExperimentConfig, NetConfig, RunConfig
from jaxcraft.ppo import PPOConfig
from jaxcraft.ppo.value_norm import ValueNormState
from jaxcraft.ppo.acting import Acting, scalar_value_apply
from jaxcraft.envs.spaces import action_distribution

HL = ExperimentConfig(env=EnvConfig(num_envs=4, rollout_len=128), net=NetConfig(hidden=(64, 64), value_bins=51),
                      ppo=PPOConfig(lr=2.5e-4, value_head="hl_gauss", value_norm=True),
                      run=RunConfig(total_env_steps=4 * 128 * 60, seed=1))


def test_value_bins_must_match_the_value_head():
    with pytest.raises(ConfigError, match=r"net\.value_bins=0 must be 51 \(ppo\.hl_gauss_bins=51 with ppo\.value_head='hl_gauss'\)"):
        make_trainer(dataclasses.replace(HL, net=dataclasses.replace(HL.net, value_bins=0)))
    with pytest.raises(ConfigError, match=r"net\.value_bins=51 must be 0 \(ppo\.value_head='scalar'\)"):
        make_trainer(dataclasses.replace(HL, ppo=dataclasses.replace(HL.ppo, value_head="scalar")))
    with pytest.raises(ConfigError, match=r"net\.value_bins=1 must be 0 \(scalar value\) or >= 2"):
        make_trainer(dataclasses.replace(HL, net=dataclasses.replace(HL.net, value_bins=1)))


def test_acting_value_is_the_expected_bin_centre_in_reward_units():
    ppo = PPOConfig(value_head="hl_gauss", hl_gauss_bins=5, hl_gauss_min=-2.0, hl_gauss_max=3.0, value_norm=True)
    env, params = make_env(HL.env)
    net = make_network(dataclasses.replace(HL.net, hidden=(8,), value_bins=5), env.observation_space(params),
                       env.action_space(params))
    obs = jax.random.normal(jax.random.key(1), (3, 4))
    reset = jnp.ones((3,), bool)
    weights = net.init(jax.random.key(0), net.initial_carry(3), obs[None], reset[None])
    _, _, z = net.apply(weights, net.initial_carry(3), obs[None], reset[None])
    z = np.asarray(z[0], np.float64)                     # [3, 5] value logits
    # Hand-derived support: 5 bins of width 1 on [-2, 3] → centres -1.5, -0.5, 0.5, 1.5, 2.5.
    p = np.exp(z - z.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    v_norm = p @ np.array([-1.5, -0.5, 0.5, 1.5, 2.5])
    # Value-norm state with mean 2 and std 4: E[G] = 2, E[G²] = 4 + 16 = 20, fully debiased (weight 1).
    vn = ValueNormState(mean=jnp.float32(2.0), mean_sq=jnp.float32(20.0), weight=jnp.float32(1.0))
    acting = Acting(scalar_value_apply(net.apply, ppo), action_distribution(env.action_space(params)), value_norm=True)
    v = acting.value(weights, vn, net.initial_carry(3), obs, reset)
    np.testing.assert_allclose(np.asarray(v), 2.0 + 4.0 * v_norm, rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_hl_gauss_critic_trains_cartpole():
    # The scalar head's learning check (tests/train/test_fused_trainer.py) with the HL-Gauss critic.
    trainer = make_trainer(HL)
    state = trainer.init(jax.random.key(1))
    state, m = trainer.run(state, 60)
    ret, eps = np.asarray(m["episode_return"]), np.asarray(m["episodes"])
    first, last = ret[:5][eps[:5] > 0].mean(), ret[-10:][eps[-10:] > 0].mean()
    assert first < 60 and last > 2 * first, (first, last)
    loss = np.asarray(m["value_loss"])
    # A cross-entropy: positive, and falling as the histogram is fitted.
    assert (loss > 0).all() and loss[-10:].mean() < loss[:5].mean(), loss
