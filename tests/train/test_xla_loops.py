"""The loop layout is decided from what the network really computes (a traced oracle, no names)."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import pytest

from jaxcraft.nets.conv import StridedConv3x3
from jaxcraft.train.xla_loops import resolve_loop_layout, uses_convolution


class _MLP(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.Dense(3)(nn.tanh(nn.Dense(8)(x)))


class _ConvInsideCond(nn.Module):
    """A conv hidden in a custom-vjp layer under a `lax.cond`: the walk must enter both."""

    @nn.compact
    def __call__(self, x):
        y = StridedConv3x3(4, matmul_grads=True)(x)
        return jax.lax.cond(x.sum() > 0, lambda v: v * 2.0, lambda v: v, y)


def _init(module, shape):
    return lambda key: module.init(key, jnp.zeros(shape))


def test_mlp_has_no_convolution():
    assert not uses_convolution(_init(_MLP(), (2, 5)), jax.random.key(0))


def test_conv_is_found_in_flax_conv_and_in_custom_vjp_layers():
    assert uses_convolution(_init(nn.Conv(4, (3, 3)), (1, 8, 8, 3)), jax.random.key(0))
    assert uses_convolution(_init(_ConvInsideCond(), (1, 8, 8, 3)), jax.random.key(0))


def test_conv_inside_a_grad_of_a_scan_is_found():
    conv = nn.Conv(2, (3, 3))
    params = conv.init(jax.random.key(0), jnp.zeros((1, 6, 6, 1)))

    def loss(p, xs):
        return jax.lax.scan(lambda c, x: (c + conv.apply(p, x).sum(), None), 0.0, xs)[0]

    assert uses_convolution(jax.grad(loss), params, jnp.zeros((3, 1, 6, 6, 1)))


@pytest.mark.parametrize("backend, conv, expect", [
    ("cpu", True, (True, False)),     # XLA:CPU conv: unrolled minibatches, host loop over updates
    ("cpu", False, (False, True)),    # MLP on CPU: rolled loops, one scan per call (PureJaxRL's layout)
    ("gpu", True, (False, True)),
    ("tpu", False, (False, True)),
])
def test_none_is_resolved_per_backend_and_network(backend, conv, expect):
    layout = resolve_loop_layout(None, None, conv, backend=backend)
    assert (layout.unroll_minibatches, layout.scan_updates) == expect


def test_explicit_settings_win():
    layout = resolve_loop_layout(False, True, True, backend="cpu")
    assert (layout.unroll_minibatches, layout.scan_updates) == (False, True)
    layout = resolve_loop_layout(True, False, False, backend="gpu")
    assert (layout.unroll_minibatches, layout.scan_updates) == (True, False)


def test_trainers_resolve_from_their_network():
    from jaxcraft.build import make_trainer
    from jaxcraft.config import EnvConfig, ExperimentConfig, NetConfig, RunConfig

    def layout(net):
        config = ExperimentConfig(name="t", env=EnvConfig(name="gymnax:Breakout-MinAtar", num_envs=2, rollout_len=4),
                                  net=net, run=RunConfig(total_env_steps=8))
        return make_trainer(config).loops

    on_cpu = jax.default_backend() == "cpu"
    mlp, cnn = layout(NetConfig(kind="mlp")), layout(NetConfig(kind="cnn", channels=(4,), hidden=(8,)))
    assert (mlp.unroll_minibatches, mlp.scan_updates) == (False, True)
    assert (cnn.unroll_minibatches, cnn.scan_updates) == (on_cpu, not on_cpu)
