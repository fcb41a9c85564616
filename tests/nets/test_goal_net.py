"""GoalConditionedActorCritic: contract shapes, goal conditioning, reset semantics, aux loss."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxcraft.envs.spaces import MultiDiscrete
from jaxcraft.nets import GoalConditionedActorCritic
from jaxcraft.nets.goal import aux_loss, large_net_config, small_net_config
from jaxcraft.build import make_network
from jaxcraft.config import GoalNetConfig

SPACE = MultiDiscrete((2,) * 9 + (11, 11))  # 40 logits
H = 16
TINY = dict(channels=(8, 16), hidden=(32,))


def make_obs(seed, L, N, visible=None):
    """Random frames with a 4×4 target square; returns (obs, visible bool[L, N], centroid [L, N, 2]).

    Where `visible`, the square is drawn brightly at the same place in the agent frame, so its
    goal-mask centroid is also its centroid in the agent frame.
    """
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 64, (L, N, H, H, 3), dtype=np.uint8)
    goal_rgb = rng.integers(0, 256, (L, N, H, H, 3), dtype=np.uint8)
    mask = np.zeros((L, N, H, H), np.uint8)
    vis = rng.random((L, N)) < 0.5 if visible is None else visible
    corner = rng.integers(0, H - 4, (L, N, 2))
    for l in range(L):
        for n in range(N):
            r, c = corner[l, n]
            mask[l, n, r:r + 4, c:c + 4] = 1
            if vis[l, n]:
                rgb[l, n, r:r + 4, c:c + 4] = 255
    centroid = (corner + 2.0) / H  # pixel centres (r + 0.5) of a 4-wide square average to r + 2
    obs = {"rgb": rgb, "goal_rgb": goal_rgb, "goal_mask": mask, "family": rng.integers(0, 4, (L, N)).astype(np.int32)}
    return jax.tree.map(jnp.asarray, obs), jnp.asarray(vis), jnp.asarray(centroid, jnp.float32)


def build(core_size, aux_heads=False):
    net = make_network(small_net_config(core_size=core_size, goal=GoalNetConfig(aux_heads=aux_heads), **TINY), None, SPACE)
    obs, _, _ = make_obs(0, 1, 2)
    params = net.init(jax.random.PRNGKey(0), net.initial_carry(2), obs, jnp.zeros((1, 2), bool))
    return net, params, jax.jit(net.apply)


@pytest.mark.parametrize("core_size", [0, 16])
def test_registered_factory_shapes(core_size):
    L, N = 3, 2
    net, params, apply = build(core_size, aux_heads=True)
    assert isinstance(net, GoalConditionedActorCritic) and net.core_size == core_size
    obs, _, _ = make_obs(1, L, N)
    carry = net.initial_carry(N)
    assert (carry == ()) if not core_size else (carry.shape == (N, core_size))
    new_carry, logits, value = apply(params, carry, obs, jnp.zeros((L, N), bool))
    assert logits.shape == (L, N, 40) and value.shape == (L, N)
    assert jax.tree.map(jnp.shape, new_carry) == jax.tree.map(jnp.shape, carry)
    aux = net.apply(params, carry, obs, jnp.zeros((L, N), bool), method=GoalConditionedActorCritic.aux)
    assert aux["visible_logit"].shape == (L, N) and aux["centroid"].shape == (L, N, 2)
    assert bool(jnp.all((aux["centroid"] >= 0) & (aux["centroid"] <= 1)))
    # Without aux heads there are no aux params, and the contract outputs are unchanged in shape.
    _, plain, _ = build(core_size, aux_heads=False)
    assert "visible_head" in params["params"] and "visible_head" not in plain["params"]


def test_presets_are_goal_nets_and_large_is_larger():
    def count(cfg):
        net = make_network(cfg, None, SPACE)
        obs, _, _ = make_obs(0, 1, 1)
        shapes = jax.eval_shape(net.init, jax.random.PRNGKey(0), net.initial_carry(1), obs, jnp.zeros((1, 1), bool))
        return sum(math.prod(x.shape) for x in jax.tree.leaves(shapes))

    small, large = small_net_config(), large_net_config()
    assert small.kind == large.kind == "goal_cnn" and small.core_size > 0
    assert count(large) > 4 * count(small)


def test_goal_mask_goal_rgb_and_family_condition_the_policy():
    net, params, apply = build(0)
    obs, _, _ = make_obs(2, 2, 3)
    reset = jnp.zeros((2, 3), bool)
    _, base, _ = apply(params, (), obs, reset)

    def changed(key, new):
        _, logits, _ = apply(params, (), {**obs, key: new}, reset)
        return np.abs(np.asarray(logits - base)).max(axis=-1)  # [L, N]

    assert changed("goal_mask", 1 - obs["goal_mask"]).min() > 1e-5
    assert changed("goal_rgb", 255 - obs["goal_rgb"]).min() > 1e-5
    # Only env (0, 0)'s family changes → only its logits move (no mixing across the batch).
    diff = changed("family", obs["family"].at[0, 0].set((obs["family"][0, 0] + 1) % 4))
    assert diff[0, 0] > 1e-5 and np.all(np.delete(diff.ravel(), 0) == 0)


def test_recurrent_sequence_matches_step_loop_and_reset_forgets():
    L, N, k = 6, 3, 3
    net, params, apply = build(16)
    obs, _, _ = make_obs(3, L, N)
    reset = np.zeros((L, N), bool)
    reset[k] = True        # every env starts a new episode at step k
    reset[1, 2] = True     # and env 2 also at step 1
    reset = jnp.asarray(reset)
    carry0 = jax.random.normal(jax.random.PRNGKey(1), (N, 16))
    c_seq, lg_seq, v_seq = apply(params, carry0, obs, reset)

    # Oracle 1: a Python loop over single steps, carrying the state by hand.
    c, lgs, vs = carry0, [], []
    for t in range(L):
        c, lg, v = apply(params, c, jax.tree.map(lambda x: x[t:t + 1], obs), reset[t:t + 1])
        lgs.append(lg[0]), vs.append(v[0])
    np.testing.assert_allclose(lg_seq, np.stack(lgs), atol=1e-5)
    np.testing.assert_allclose(v_seq, np.stack(vs), atol=1e-5)
    np.testing.assert_allclose(c_seq, c, atol=1e-5)

    # Oracle 2: from the reset on, outputs equal a fresh start (zero carry) on the suffix.
    suffix = jax.tree.map(lambda x: x[k:], obs)
    _, lg_fresh, v_fresh = apply(params, net.initial_carry(N), suffix, reset[k:])
    np.testing.assert_allclose(lg_seq[k:], lg_fresh, atol=1e-5)
    np.testing.assert_allclose(v_seq[k:], v_fresh, atol=1e-5)
    # Not vacuous: before the reset the starting carry does matter.
    _, _, v_zero = apply(params, net.initial_carry(N), jax.tree.map(lambda x: x[:k], obs), reset[:k])
    assert np.abs(np.asarray(v_zero[0] - v_seq[0])).min() > 1e-4


def test_aux_loss_hand_numbers():
    visible = jnp.array([[True, False]])
    target = jnp.array([[[0.25, 0.5], [1.0, 1.0]]])
    pred = {"visible_logit": jnp.zeros((1, 2)), "centroid": jnp.array([[[0.5, 0.5], [0.0, 0.0]]])}
    loss, m = aux_loss(pred, visible, target)
    # BCE at logit 0 is log 2 for either label; SE: only the visible entry, (0.25)² = 0.0625.
    assert float(m["aux/visible_bce"]) == pytest.approx(math.log(2), rel=1e-6)
    assert float(m["aux/centroid_se"]) == pytest.approx(0.0625, rel=1e-6)
    assert float(loss) == pytest.approx(math.log(2) + 0.0625, rel=1e-6)
    # Logits ±2 on labels (1, 0): both confident and right → softplus(−2) = log(1 + e⁻²).
    # Nothing visible → no centroid term (and no 0/0).
    pred = {**pred, "visible_logit": jnp.array([[-2.0, -2.0]])}
    loss, m = aux_loss(pred, jnp.array([[False, False]]), target)
    assert float(loss) == pytest.approx(math.log1p(math.exp(-2)), rel=1e-6)
    assert float(m["aux/centroid_se"]) == 0.0 and float(m["aux/visible_acc"]) == 1.0
    with pytest.raises(AssertionError):
        aux_loss(pred, jnp.array([[1, 0]]), target)  # visibility must be bool


def test_aux_heads_train_on_synthetic_batch():
    net, params, _ = build(0, aux_heads=True)
    obs, visible, centroid = make_obs(4, 2, 16)
    opt = optax.adam(3e-3)

    @jax.jit
    def step(params, opt_state):
        def loss_fn(p):
            return aux_loss(net.apply(p, (), obs, jnp.zeros((2, 16), bool), method="aux"), visible, centroid)
        (loss, m), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        updates, opt_state = opt.update(grads, opt_state)
        return optax.apply_updates(params, updates), opt_state, loss, m

    opt_state = opt.init(params)
    losses = []
    for _ in range(300):
        params, opt_state, loss, m = step(params, opt_state)
        losses.append(float(loss))
    assert losses[-1] < 0.1 * losses[0], (losses[0], losses[-1])
    assert float(m["aux/visible_acc"]) == 1.0 and float(m["aux/centroid_se"]) < 0.01


def test_conv_fusion_starts_as_late_fusion_then_conditions_every_conv_layer():
    """Zero-init FiLM: with the shared params copied, `fusion="conv"` computes exactly what
    `fusion="late"` does until its conv FiLM weights move; then the goal changes frame features."""
    late, p_late, _ = build(0, aux_heads=True)
    conv = make_network(small_net_config(core_size=0, goal=GoalNetConfig(aux_heads=True, fusion="conv"), **TINY), None, SPACE)
    obs, _, _ = make_obs(3, 2, 3)
    reset = jnp.zeros((2, 3), bool)
    p_conv = conv.init(jax.random.PRNGKey(1), (), obs, reset)
    film = {k: v for k, v in p_conv["params"]["frame_enc"].items() if k.startswith("Dense")}
    assert len(film) == len(TINY["channels"])                     # one FiLM per conv layer
    merged = {"params": {**p_late["params"], "frame_enc": {**p_late["params"]["frame_enc"], **film}}}
    _, a, va = late.apply(p_late, (), obs, reset)
    _, b, vb = conv.apply(merged, (), obs, reset)
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(va, vb, rtol=1e-6, atol=1e-6)
    # One pass with the aux heads gives the same logits, value and aux outputs as separate calls.
    _, c, vc, aux = conv.apply(merged, (), obs, reset, method="with_aux")
    np.testing.assert_allclose(b, c, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(vb, vc, rtol=1e-6, atol=1e-6)
    sep = conv.apply(merged, (), obs, reset, method="aux")
    np.testing.assert_allclose(aux["centroid"], sep["centroid"], rtol=1e-6)
    # Non-zero FiLM weights in conv layer 0 make the frame features depend on the goal there.
    bumped = jax.tree.map(lambda x: x, merged)
    d0 = bumped["params"]["frame_enc"]["Dense_0"]
    bumped["params"]["frame_enc"]["Dense_0"] = {**d0, "kernel": jnp.ones_like(d0["kernel"])}
    _, d, _ = conv.apply(bumped, (), obs, reset)
    assert np.abs(np.asarray(d - b)).max() > 1e-4
    with pytest.raises(ValueError, match="fusion"):
        GoalConditionedActorCritic(num_logits=40, fusion="early").init(jax.random.PRNGKey(0), (), obs, reset)
