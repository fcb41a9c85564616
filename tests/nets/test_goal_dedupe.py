"""Goal deduplication in GoalConditionedActorCritic equals encoding every sample's goal.

Oracle: the same params applied with `goal_table=0` (every sample encoded). Compared: logits,
values, the actions sampled from them and their log-probs, and the gradients of a loss, on a
batch whose goals repeat within "episodes" (the PPO minibatch case), and on one with more
distinct goals than the table holds (the fallback).
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcraft.nets import GoalConditionedActorCritic
from jaxcraft.ppo import multi_discrete

NVEC = (2, 3, 5)
H = 8


def episode_obs(seed, n, distinct):
    """n samples whose goals are `distinct` different goals, each repeated (shuffled order)."""
    rng = np.random.default_rng(seed)
    goals = rng.integers(0, 256, (distinct, H, H, 3), dtype=np.uint8)
    masks = (rng.random((distinct, H, H)) < 0.2).astype(np.uint8)
    fam = rng.integers(0, 4, distinct).astype(np.int32)
    which = rng.permutation(np.arange(n) % distinct)
    obs = {"rgb": rng.integers(0, 256, (1, n, H, H, 3), dtype=np.uint8), "goal_rgb": goals[which][None],
           "goal_mask": masks[which][None], "family": fam[which][None]}
    return jax.tree.map(jnp.asarray, obs)


def nets(core_size=0):
    kw = dict(num_logits=sum(NVEC), channels=(4, 8), hidden=(16,), core_size=core_size, fusion="conv")
    return GoalConditionedActorCritic(goal_table=8, **kw), GoalConditionedActorCritic(goal_table=0, **kw)


# 13 distinct goals > goal_table = 8: the fallback branch; core_size 8: a recurrent net.
@pytest.mark.parametrize("distinct,core_size", [(5, 0), (13, 0), (5, 8)])
def test_dedupe_matches_per_sample_encoding(distinct, core_size):
    n = 32
    dedupe, plain = nets(core_size)
    obs = episode_obs(0, n, distinct)
    carry, reset = dedupe.initial_carry(n), jnp.zeros((1, n), bool)
    params = plain.init(jax.random.key(0), carry, obs, reset)
    # Make the goal path matter: non-zero FiLM weights (zero at init).
    params = jax.tree.map(lambda x: x + 0.05 * jax.random.normal(jax.random.key(1), x.shape), params)
    _, lg_d, v_d = dedupe.apply(params, carry, obs, reset)
    _, lg_p, v_p = plain.apply(params, carry, obs, reset)
    np.testing.assert_allclose(lg_d, lg_p, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(v_d, v_p, rtol=1e-5, atol=1e-6)
    dist = multi_discrete(NVEC)
    keys = jax.random.split(jax.random.key(2), n)
    a_d = jax.vmap(dist.sample)(keys, lg_d[0])
    a_p = jax.vmap(dist.sample)(keys, lg_p[0])
    np.testing.assert_array_equal(a_d, a_p)
    np.testing.assert_allclose(dist.log_prob(lg_d[0], a_d), dist.log_prob(lg_p[0], a_p), rtol=1e-5, atol=1e-6)

    def loss(net, p):
        _, lg, v = net.apply(p, carry, obs, reset)
        return jnp.sum(jnp.sin(lg)) + jnp.sum(v ** 2)

    g_d, g_p = jax.grad(lambda p: loss(dedupe, p))(params), jax.grad(lambda p: loss(plain, p))(params)
    goal_grad = g_p["params"]["goal_enc"]["Conv_0"]["kernel"]
    assert float(jnp.abs(goal_grad).max()) > 1e-4  # the goal torso does get gradients here
    for a, b in zip(jax.tree.leaves(g_d), jax.tree.leaves(g_p)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_small_batches_skip_the_table():
    dedupe, plain = nets()
    obs = episode_obs(1, 6, 2)  # 6 samples <= goal_table: encoded per sample, same code path
    reset = jnp.zeros((1, 6), bool)
    params = plain.init(jax.random.key(0), (), obs, reset)
    jaxpr = str(jax.make_jaxpr(lambda p: dedupe.apply(p, (), obs, reset))(params))
    assert "cond" not in jaxpr
    jaxpr = str(jax.make_jaxpr(lambda p: dedupe.apply(p, (), episode_obs(1, 32, 2), jnp.zeros((1, 32), bool)))(params))
    assert "cond" in jaxpr


@pytest.mark.parametrize("core_size", [0, 8])
def test_ppo_update_with_dedupe_equals_reference_update(core_size):
    """One PPO update (2 epochs × 2 minibatches, KL to a reference on) on a fixed batch whose goal is
    constant per env: losses, KL and the new params equal those of the per-sample net."""
    from jaxcraft import ppo
    dedupe, plain = nets(core_size)
    T, B = 4, 8
    rng = np.random.default_rng(3)
    goals = episode_obs(4, B, B)
    obs = {"rgb": jnp.asarray(rng.integers(0, 256, (T, B, H, H, 3), dtype=np.uint8)),
           **{k: jnp.broadcast_to(goals[k], (T,) + goals[k].shape[1:]) for k in ("goal_rgb", "goal_mask", "family")}}
    reset = jnp.zeros((T, B), bool).at[0].set(True)
    carry = plain.initial_carry(B)
    params = plain.init(jax.random.key(0), carry, obs, reset)
    params = jax.tree.map(lambda x: x + 0.05 * jax.random.normal(jax.random.key(1), x.shape), params)
    dist = multi_discrete(NVEC)
    _, logits, values = plain.apply(params, carry, obs, reset)
    action = jax.vmap(jax.vmap(dist.sample))(jax.random.split(jax.random.key(2), T * B).reshape(T, B), logits)
    carries = jnp.zeros((T, B, core_size)) if core_size else ()
    batch = ppo.PPOBatch(obs=obs, action=action, log_prob=dist.log_prob(logits, action) - 0.05, value=values,
                         advantage=jnp.asarray(rng.normal(size=(T, B)), jnp.float32),
                         target=values + jnp.asarray(rng.normal(size=(T, B)), jnp.float32), reset=reset,
                         carry=carries, ref_logits=logits + 0.2)
    chunk = 2 if core_size else 1  # recurrent: 2-step chunks starting from the stored (zero) carry
    cfg = ppo.PPOConfig(lr=1e-3, num_epochs=2, num_minibatches=2, kl_coef=0.3, chunk_len=chunk)
    opt = ppo.make_optimizer(cfg, 1)
    keys = jax.random.split(jax.random.key(5), B)
    out = [jax.jit(ppo.make_update_fn(net.apply, dist, opt, cfg, chunk))(ppo.init_ppo_state(params, opt, params), batch, keys)
           for net in (dedupe, plain)]
    (s_d, m_d), (s_p, m_p) = out
    for k in ("loss", "policy_loss", "value_loss", "kl_ref", "grad_norm"):
        np.testing.assert_allclose(float(m_d[k]), float(m_p[k]), rtol=1e-4, atol=1e-6, err_msg=k)
    for a, b in zip(jax.tree.leaves(s_d.params), jax.tree.leaves(s_p.params)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
