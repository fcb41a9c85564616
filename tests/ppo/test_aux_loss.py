"""`make_update_fn(aux_loss_fn=...)`: the caller's auxiliary loss joins the PPO gradient.

Oracle: plain SGD (no clipping, no momentum) is linear in the gradient, so the params after an
update with `aux_coef · L_aux` minus those after the same update without it equal
`−lr · aux_coef · ∇L_aux`, with ∇L_aux computed here by hand (L_aux = ½‖W‖² of one kernel:
∇ = W). With `aux_coef = 0` the loss is never called.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxcraft import ppo
from jaxcraft.nets import ActorCritic, MLPEncoder


def _setup():
    net = ActorCritic(make_encoder=functools.partial(MLPEncoder, hidden=(8,)), num_logits=2)
    dist = ppo.categorical(2)
    T, B = 4, 2
    obs = jax.random.normal(jax.random.key(0), (T, B, 3))
    reset = jnp.zeros((T, B), bool)
    params = net.init(jax.random.key(1), (), obs, reset)
    _, logits, values = net.apply(params, (), obs, reset)
    action = (jnp.arange(T * B).reshape(T, B) % 2).astype(jnp.int32)
    batch = ppo.PPOBatch(obs=obs, action=action, log_prob=dist.log_prob(logits, action), value=values,
                         advantage=jnp.where(action == 0, 1.0, -1.0), target=values + 0.5, reset=reset, carry=())
    return net, dist, params, batch


def _policy_kernel(params):
    return params["params"]["Dense_0"]["kernel"]   # the policy head of ActorCritic


def test_aux_loss_adds_its_scaled_gradient_to_the_update():
    net, dist, params, batch = _setup()
    lr, coef = 0.1, 0.3
    opt = optax.sgd(lr)
    calls = []

    def aux(p, mb):
        calls.append(mb.obs.shape)
        w = _policy_kernel(p)
        return 0.5 * jnp.sum(w ** 2), {"aux/norm": jnp.sum(w ** 2)}

    keys = jax.random.split(jax.random.key(2), 2)
    run = lambda cfg, fn: ppo.make_update_fn(net.apply, dist, opt, cfg, chunk_len=1, aux_loss_fn=fn)(  # noqa: E731
        ppo.init_ppo_state(params, opt), batch, keys)
    base = ppo.PPOConfig(num_epochs=1, num_minibatches=1, normalize_advantages=False, unroll_minibatches=False)
    with_aux, m = run(ppo.PPOConfig(**{**base.__dict__, "aux_coef": coef}), aux)
    without, m0 = run(base, aux)   # aux_coef = 0: never called
    assert len(calls) == 1 and "aux_loss" in m and "aux_loss" not in m0
    delta = jax.tree.map(lambda a, b: np.asarray(a) - np.asarray(b), with_aux.params, without.params)
    expected = -lr * coef * np.asarray(_policy_kernel(params))
    np.testing.assert_allclose(_policy_kernel(delta), expected, rtol=1e-4, atol=1e-6)
    others = [x for path, x in jax.tree_util.tree_leaves_with_path(delta) if "Dense_0" not in jax.tree_util.keystr(path)
              or "kernel" not in jax.tree_util.keystr(path)]
    assert all(np.abs(x).max() < 1e-6 for x in others)
    np.testing.assert_allclose(float(m["loss"]) - float(m0["loss"]), coef * float(m["aux_loss"]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(float(m["aux/norm"]), float(jnp.sum(_policy_kernel(params) ** 2)), rtol=1e-6)
