"""StridedConv3x3's matmul gradients equal JAX's autodiff of XLA's strided convolution.

Oracle: `jax.grad` through `flax.linen.Conv(features, (3, 3), strides=2 or 1, padding="SAME")`
with the same params (even, odd and 1-pixel sizes: SAME pads differently for each).
"""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcraft.nets.conv import StridedConv3x3


@pytest.mark.parametrize("stride", [2, 1])
@pytest.mark.parametrize("shape,features", [((3, 8, 8, 3), 4), ((2, 7, 9, 2), 3), ((2, 1, 1, 5), 2), ((1, 2, 5, 1), 6)])
def test_gradients_match_xla_convolution(shape, features, stride):
    x = jax.random.normal(jax.random.PRNGKey(0), shape)
    ours = StridedConv3x3(features, matmul_grads=True, stride=stride)
    ref = nn.Conv(features, (3, 3), strides=stride, padding="SAME")
    params = ref.init(jax.random.PRNGKey(1), x)
    params = jax.tree.map(lambda p: p + 0.1, params)  # a non-zero bias too
    assert jax.tree.structure(ours.init(jax.random.PRNGKey(1), x)) == jax.tree.structure(params)

    def loss(module):
        return lambda p, x: jnp.sum(jnp.sin(module.apply(p, x)) * jnp.arange(1.0, 1.0 + features))

    np.testing.assert_allclose(ours.apply(params, x), ref.apply(params, x), rtol=1e-6, atol=1e-6)
    (gp, gx), (rp, rx) = jax.grad(loss(ours), (0, 1))(params, x), jax.grad(loss(ref), (0, 1))(params, x)
    np.testing.assert_allclose(gx, rx, rtol=1e-5, atol=1e-5)
    for a, b in zip(jax.tree.leaves(gp), jax.tree.leaves(rp)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_same_init_as_nn_conv():
    x = jnp.zeros((1, 6, 6, 3))
    init = nn.initializers.orthogonal(np.sqrt(2))
    a = StridedConv3x3(8, kernel_init=init).init(jax.random.PRNGKey(3), x)
    b = nn.Conv(8, (3, 3), strides=2, padding="SAME", kernel_init=init).init(jax.random.PRNGKey(3), x)
    for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(u, v)


def test_ppo_update_equals_the_update_with_xla_gradients(monkeypatch):
    """One PPO update (2 epochs × 2 minibatches, KL term on) of the goal net on a fixed batch:
    losses and new params with the matmul backward equal those with XLA's convolution gradient."""
    from jaxcraft import ppo
    from jaxcraft.nets import GoalConditionedActorCritic
    from jaxcraft.nets import conv

    nvec, T, B, H, core_size = (2, 3, 5), 4, 8, 8, 8  # recurrent: chunks start from the stored carry
    net = GoalConditionedActorCritic(num_logits=sum(nvec), channels=(4, 8), hidden=(16,), core_size=core_size,
                                     fusion="conv")
    rng = np.random.default_rng(3)
    obs = {"rgb": rng.integers(0, 256, (T, B, H, H, 3), dtype=np.uint8),
           "goal_rgb": rng.integers(0, 256, (T, B, H, H, 3), dtype=np.uint8),
           "goal_mask": (rng.random((T, B, H, H)) < 0.2).astype(np.uint8), "family": rng.integers(0, 4, (T, B))}
    obs = jax.tree.map(jnp.asarray, obs)
    reset = jnp.zeros((T, B), bool).at[0].set(True)
    carry = net.initial_carry(B)
    # Set-up jitted: flax's init/apply op by op would compile every small op on its own.
    params = jax.jit(net.init)(jax.random.key(0), carry, obs, reset)
    params = jax.tree.map(lambda x: x + 0.05 * jax.random.normal(jax.random.key(1), x.shape), params)
    dist = ppo.multi_discrete(nvec)
    _, logits, values = jax.jit(net.apply)(params, carry, obs, reset)
    action = jax.jit(jax.vmap(jax.vmap(dist.sample)))(jax.random.split(jax.random.key(2), T * B).reshape(T, B), logits)
    batch = ppo.PPOBatch(obs=obs, action=action, log_prob=dist.log_prob(logits, action) - 0.05, value=values,
                         advantage=jnp.asarray(rng.normal(size=(T, B)), jnp.float32),
                         target=values + jnp.asarray(rng.normal(size=(T, B)), jnp.float32), reset=reset,
                         carry=jnp.zeros((T, B, core_size)) if core_size else (), ref_logits=logits + 0.2)
    chunk = 2
    cfg = ppo.PPOConfig(lr=1e-3, num_epochs=2, num_minibatches=2, kl_coef=0.3, chunk_len=chunk)
    opt = ppo.make_optimizer(cfg, 1)
    keys = jax.random.split(jax.random.key(5), B)

    def run(custom: bool):
        jaxpr = str(jax.make_jaxpr(lambda p: net.apply(p, carry, obs, reset))(params))
        assert ("custom_vjp" in jaxpr) == custom
        update = jax.jit(ppo.make_update_fn(net.apply, dist, opt, cfg, chunk))
        return update(ppo.init_ppo_state(params, opt, params), batch, keys)

    s_m, m_m = run(True)
    monkeypatch.setattr(conv, "conv3x3_s2", conv._forward)  # the oracle: XLA's own gradient
    s_x, m_x = run(False)
    assert float(jnp.abs(jax.tree.leaves(jax.tree.map(jnp.subtract, s_x.params, params))[0]).max()) > 0  # it learned
    for k in ("loss", "policy_loss", "value_loss", "kl_ref", "grad_norm"):
        np.testing.assert_allclose(float(m_m[k]), float(m_x[k]), rtol=1e-4, atol=1e-6, err_msg=k)
    for a, b in zip(jax.tree.leaves(s_m.params), jax.tree.leaves(s_x.params)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
