"""Spatial goal fusion (`net.goal.fusion="corr"|"attention"`, jaxcraft.nets.spatial).

Oracles: hand-computed numbers (pooling, the balanced BCE, soft-argmax), invariances the maths
must have (the goal's cells are a set; the frame's cells carry their heat with them; goal cells
outside the mask cannot matter once the mask bias is large, nor for `corr` at all), and the
uncached net (the cached goal code must give the same outputs).
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcraft.config import sections as config_sections
from jaxcraft.nets import goal
from jaxcraft.nets.goal import GoalConditionedActorCritic
from jaxcraft.nets.spatial import SpatialGoalFusion, heat_aux, pool_mask, target_map_loss

H = 16
KW = dict(num_logits=7, channels=(4, 8), hidden=(16,), aux_heads=True, spatial_dim=8, goal_tokens=(H // 2) ** 2)


def make_obs(seed, L, N):
    rng = np.random.default_rng(seed)
    mask = np.zeros((L, N, H, H), np.uint8)
    mask[..., 4:8, 6:10] = 1
    return {"rgb": jnp.asarray(rng.integers(0, 256, (L, N, H, H, 3), dtype=np.uint8)),
            "goal_rgb": jnp.asarray(rng.integers(0, 256, (L, N, H, H, 3), dtype=np.uint8)),
            "goal_mask": jnp.asarray(mask), "family": jnp.asarray(rng.integers(0, 4, (L, N)), jnp.int32)}


@pytest.fixture(scope="module", params=["corr", "attention"])
def net_and_params(request):
    net = GoalConditionedActorCritic(fusion=request.param, **KW)
    obs = make_obs(0, 1, 2)
    params = net.init(jax.random.key(0), (), obs, jnp.zeros((1, 2), bool))
    return net, params


def test_pool_mask_is_the_cell_fraction():
    m = np.zeros((8, 8), bool)
    m[0, 0] = m[0, 1] = m[5, 7] = True
    got = np.asarray(pool_mask(jnp.asarray(m), 4, 4))
    want = np.zeros((4, 4))
    want[0, 0] = 2 / 4
    want[2, 3] = 1 / 4
    np.testing.assert_allclose(got, want)


def test_target_map_loss_equals_the_hand_computed_balanced_bce():
    z = jnp.asarray([[[[2.0, -1.0], [0.5, -3.0]]]])          # [L=1, N=1, 2, 2]
    f = jnp.asarray([[[[1.0, 0.0], [0.5, 0.0]]]])
    sp = lambda x: np.log1p(np.exp(x))                         # noqa: E731 — softplus
    pos = (1.0 * sp(-2.0) + 0.5 * sp(-0.5)) / 1.5
    neg = (1.0 * sp(-1.0) + 0.5 * sp(0.5) + 1.0 * sp(-3.0)) / 2.5
    loss, m = target_map_loss(z, f, jnp.ones((1, 1), bool))
    np.testing.assert_allclose(float(loss), pos + neg, rtol=1e-6)
    np.testing.assert_allclose(float(m["aux/map_pos_bce"]), pos, rtol=1e-6)
    # Invalid steps carry no weight.
    loss0, _ = target_map_loss(z, f, jnp.zeros((1, 1), bool))
    assert float(loss0) == 0.0


def test_heat_aux_soft_argmax_and_visibility():
    heat = jnp.full((4, 4), -30.0).at[1, 2].set(30.0)
    aux = heat_aux(heat)
    np.testing.assert_allclose(np.asarray(aux["centroid"]), [1.5 / 4, 2.5 / 4], atol=1e-6)
    assert float(aux["visible_logit"]) == 30.0 and float(heat_aux(heat, visible_bias=-1.0)["visible_logit"]) == 29.0
    # Two hot cells (z = 1 at (0, 0) and z = 0 at (3, 3), the rest far below): softmax weights e^κ : 1.
    two = jnp.full((4, 4), -50.0).at[0, 0].set(1.0).at[3, 3].set(0.0)
    for kappa in (1.0, 3.0):
        w = np.exp(kappa) / (np.exp(kappa) + 1)
        want = w * 0.5 / 4 + (1 - w) * 3.5 / 4
        np.testing.assert_allclose(np.asarray(heat_aux(two, kappa)["centroid"]), [want, want], rtol=1e-5)


def test_contract_shapes_aux_and_the_cached_goal_code(net_and_params):
    net, params = net_and_params
    L, N = 3, 2
    obs = make_obs(1, L, N)
    reset = jnp.zeros((L, N), bool)
    apply = jax.jit(lambda p, o: net.apply(p, (), o, reset, method="with_aux"))
    _, logits, value, aux = apply(params, obs)
    assert logits.shape == (L, N, 7) and value.shape == (L, N)
    assert aux["target_map"].shape == (L, N, H // 2, H // 2) and aux["visible_logit"].shape == (L, N)
    c = np.asarray(aux["centroid"])
    assert c.shape == (L, N, 2) and (c > 0).all() and (c < 1).all()
    code = jax.jit(lambda p, o: net.apply(p, o, method="goal_code"))(
        params, jax.tree.map(lambda x: x.reshape((L * N,) + x.shape[2:]), obs))
    assert code.shape == (L * N, net.goal_code_size)
    _, logits_c, value_c, aux_c = apply(params, {**obs, "goal_code": code.reshape(L, N, -1)})
    for a, b in [(logits, logits_c), (value, value_c), (aux["target_map"], aux_c["target_map"])]:
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5)


def _module_inputs(seed, b=2, h=4, w=4, c=6):
    rng = np.random.default_rng(seed)
    fmap = jnp.asarray(rng.normal(size=(b, h, w, c)), jnp.float32)
    gmap = jnp.asarray(rng.normal(size=(b, h, w, c)), jnp.float32)
    m = jnp.asarray(rng.random((b, h, w)) * (rng.random((b, h, w)) < 0.4), jnp.float32)
    fam = jnp.asarray(rng.normal(size=(b, 3)), jnp.float32)
    return fmap, gmap, m, fam


def init_live(mod, fmap, gmap, m, fam):
    """Params of both methods, perturbed so that the zero-initialised parts are live too."""
    params = mod.init(jax.random.key(1), fmap, gmap, m, fam,
                      method=lambda mdl, fmap, gmap, m, fam: mdl(fmap, mdl.encode_goal(gmap, m, fam)))
    return jax.tree.map(lambda x: x + 0.3 * jax.random.normal(jax.random.key(2), x.shape), params)


@pytest.mark.parametrize("kind", ["corr", "attention"])
def test_goal_cells_are_a_set_and_frame_cells_keep_their_heat(kind):
    fmap, gmap, m, fam = _module_inputs(0)
    mod = SpatialGoalFusion(kind=kind, width=6, dim=5, tokens=16)
    params = init_live(mod, fmap, gmap, m, fam)

    def run(fmap, gmap, m):
        code = mod.apply(params, gmap, m, fam, method="encode_goal")
        return mod.apply(params, fmap, code)

    fused, heat = run(fmap, gmap, m)
    perm = np.random.default_rng(3).permutation(16)
    shuffle = lambda x: x.reshape((2, 16) + x.shape[3:])[:, perm].reshape(x.shape)  # noqa: E731 — permute cells
    fused_g, heat_g = run(fmap, shuffle(gmap), shuffle(m))          # goal cells permuted: nothing changes
    np.testing.assert_allclose(np.asarray(heat_g), np.asarray(heat), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(fused_g), np.asarray(fused), rtol=1e-5, atol=1e-5)
    fused_f, heat_f = run(shuffle(fmap), gmap, m)                   # frame cells permuted: heat moves with them
    np.testing.assert_allclose(np.asarray(heat_f), np.asarray(shuffle(heat)), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(fused_f), np.asarray(shuffle(fused)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", ["corr", "attention"])
def test_goal_cells_outside_the_mask_do_not_matter(kind):
    fmap, gmap, m, fam = _module_inputs(4)
    m = (m > 0).astype(jnp.float32)
    mod = SpatialGoalFusion(kind=kind, width=6, dim=5, tokens=16)
    params = init_live(mod, fmap, gmap, m, fam)
    if kind == "attention":   # a large mask bias: off-target goal cells get weight e^-60
        params = {"params": {**params["params"], "mask_beta": jnp.asarray(60.0)}}
    other = jnp.where(m[..., None] > 0, gmap, 5.0 * jax.random.normal(jax.random.key(9), gmap.shape))
    heats = [mod.apply(params, fmap, mod.apply(params, g, m, fam, method="encode_goal"))[1] for g in (gmap, other)]
    np.testing.assert_allclose(np.asarray(heats[0]), np.asarray(heats[1]), rtol=1e-5, atol=1e-5)
    # ...while the goal's target cells do matter.
    moved = jnp.where(m[..., None] > 0, -gmap, gmap)
    heat_moved = mod.apply(params, fmap, mod.apply(params, moved, m, fam, method="encode_goal"))[1]
    assert not np.allclose(np.asarray(heat_moved), np.asarray(heats[0]), atol=1e-3)


def test_attention_needs_the_goal_map_size_it_was_built_for():
    fmap, gmap, m, fam = _module_inputs(0)
    mod = SpatialGoalFusion(kind="attention", width=6, dim=5, tokens=9)
    with pytest.raises(ValueError, match="built for 9 goal cells, got 16"):
        mod.init(jax.random.key(0), gmap, m, fam, method="encode_goal")


def test_the_config_offers_exactly_the_nets_fusions():
    assert config_sections.FUSIONS == goal.FUSIONS


def test_spatial_fusion_needs_two_conv_layers():
    net = GoalConditionedActorCritic(**{**KW, "channels": (4,)}, fusion="corr")
    with pytest.raises(ValueError, match=">= 2 conv layers"):
        net.init(jax.random.key(0), (), make_obs(0, 1, 1), jnp.zeros((1, 1), bool))


def test_the_heat_map_can_be_made_after_fewer_layers():
    """channels (4, 8, 8) on 16-px frames: the map after 1 layer is 8 × 8, after 2 (the default) 4 × 4."""
    obs = make_obs(2, 1, 2)
    for layers, cells in ((1, 8), (0, 4), (2, 4)):
        net = GoalConditionedActorCritic(**{**KW, "channels": (4, 8, 8), "goal_tokens": cells * cells},
                                         fusion="attention", spatial_layers=layers)
        params = net.init(jax.random.key(0), (), obs, jnp.zeros((1, 2), bool))
        aux = net.apply(params, (), obs, jnp.zeros((1, 2), bool), method="with_aux")[3]
        assert aux["target_map"].shape == (1, 2, cells, cells)
