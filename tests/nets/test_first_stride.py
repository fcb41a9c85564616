"""`net.goal.first_stride=1`: the goal net's torsos keep full resolution in their first conv."""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcraft.build import make_network
from jaxcraft.config import ConfigError, GoalNetConfig
from jaxcraft.envs.spaces import Box, Discrete, MultiDiscrete
from jaxcraft.nets.goal import small_net_config

SPACE = MultiDiscrete((2,) * 9 + (11, 11))
H = 16


def _obs_space(h):
    return {"rgb": Box(0, 255, (h, h, 3), np.uint8), "goal_rgb": Box(0, 255, (h, h, 3), np.uint8),
            "goal_mask": Box(0, 1, (h, h), np.uint8), "family": Discrete(4)}


def _net(first_stride, fusion="conv"):
    config = small_net_config(channels=(8, 16), hidden=(32,), core_size=0,
                              goal=GoalNetConfig(fusion=fusion, first_stride=first_stride))
    return make_network(config, _obs_space(H), SPACE)


def _obs(rgb):
    n = rgb.shape[0]
    return {"rgb": rgb[None], "goal_rgb": jnp.zeros((1, n, H, H, 3), jnp.uint8),
            "goal_mask": jnp.ones((1, n, H, H), jnp.uint8), "family": jnp.zeros((1, n), jnp.int32)}


def _frame_map(net, params, rgb):
    """The frame torso's last map [B, h, w, C] (its flat output, reshaped by the hand-derived size)."""
    flat = net.apply(params, rgb.astype(jnp.float32) / 255.0, method=lambda m, x: m.frame_enc(x))
    side = H // (2 if net.first_stride == 1 else 4)
    return flat.reshape(rgb.shape[0], side, side, -1)


@pytest.mark.parametrize("first_stride, side", [(2, 4), (1, 8)])
def test_the_frame_map_is_twice_as_wide_with_a_stride_1_first_layer(first_stride, side):
    net = _net(first_stride)
    rgb = jnp.zeros((2, H, H, 3), jnp.uint8)
    params = net.init(jax.random.PRNGKey(0), (), _obs(rgb), jnp.zeros((1, 2), bool))
    # 16 px through two 3×3 SAME convs: 16 → 8 → 4 (stride 2, 2) or 16 → 16 → 8 (stride 1, 2); 16 channels.
    assert params["params"]["frame_proj"]["kernel"].shape[0] == side * side * 16
    _, logits, value = net.apply(params, (), _obs(rgb), jnp.zeros((1, 2), bool))
    assert logits.shape == (1, 2, 40) and value.shape == (1, 2)   # 9 binary factors + two of 11 bins


def test_a_stride_1_first_layer_makes_the_map_shift_with_a_two_pixel_shift():
    """Translation by 2 px moves a stride-1-then-stride-2 map by exactly one cell (away from the
    padded border); with two stride-2 layers the same shift is half a cell and the map changes."""
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (1, H, H + 2, 3), dtype=np.uint8)
    a, b = jnp.asarray(img[:, :, 2:]), jnp.asarray(img[:, :, :-2])   # b = a shifted right by 2 px
    for first_stride in (1, 2):
        net = _net(first_stride)
        params = net.init(jax.random.PRNGKey(1), (), _obs(a), jnp.zeros((1, 1), bool))
        fa, fb = _frame_map(net, params, a), _frame_map(net, params, b)
        # Cell j of the last map sees input columns 2j-1 … 2j+3 (stride 1, 2) or 4j-3 … 4j+3 (stride 2, 2);
        # the compared cells see no padding and no column that only one of a, b holds.
        if first_stride == 1:   # 8 × 8 map: fb[j + 1] = fa[j] for j = 2 … 5
            assert jnp.allclose(fb[:, 2:-2, 3:-1], fa[:, 2:-2, 2:-2], atol=1e-5)
        else:                   # 4 × 4 map: neither one cell (4 px) nor no shift matches a 2-px shift
            assert not jnp.allclose(fb[:, 1:-1, 2:3], fa[:, 1:-1, 1:2], atol=1e-3)
            assert not jnp.allclose(fb[:, 1:-1, 1:3], fa[:, 1:-1, 1:3], atol=1e-3)


def test_attention_fusion_builds_its_goal_tokens_for_the_wider_map():
    net = _net(1, fusion="attention")
    assert net.goal_tokens == 16 * 16   # 16 px, one stride-1 layer before the heat map: 16 × 16 goal cells
    rgb = jnp.zeros((2, H, H, 3), jnp.uint8)
    params = net.init(jax.random.PRNGKey(0), (), _obs(rgb), jnp.zeros((1, 2), bool))
    _, logits, _ = net.apply(params, (), _obs(rgb), jnp.zeros((1, 2), bool))
    assert bool(jnp.all(jnp.isfinite(logits)))


def test_any_other_first_stride_is_a_one_line_config_error():
    with pytest.raises(ConfigError, match="first_stride"):
        dataclasses.replace(small_net_config(), goal=GoalNetConfig(first_stride=3)).validate()
