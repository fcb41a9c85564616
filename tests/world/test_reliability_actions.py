"""Out-of-range world actions (issue 14 item 13): refused outside jit, clipped (documented) inside."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcraft.world import JaxCraftEnv, WorldStatic, actions as A, empty_world, place_agent

ST = WorldStatic(size_x=8, size_y=8, size_z=8, height=8, width=8, max_mobs=1, num_interactables=1, render_steps=4)
ENV = JaxCraftEnv(ST)


def _action(**factors):
    a = np.array(A.noop())
    for name, v in factors.items():
        a[A.NAMES.index(name)] = v
    return jnp.asarray(a)


@pytest.fixture(scope="module")
def state():
    return place_agent(empty_world(ST), jnp.asarray([4.5, 1.0, 4.5]), 0.0, 0.0)


@pytest.mark.parametrize("factor,value", [("camera_yaw", 11), ("camera_pitch", -1), ("forward", 2), ("use", -3)])
def test_concrete_out_of_range_action_is_refused_naming_the_factor(state, factor, value):
    with pytest.raises(ValueError, match=rf"{factor}={value} is out of range \[0, {A.NVEC[A.NAMES.index(factor)]}\)"):
        ENV.step_env(jax.random.key(0), state, _action(**{factor: value}), ENV.default_params)


def test_traced_out_of_range_action_is_clipped_to_the_nearest_valid_one():
    decode = jax.jit(A.decode)
    wild, edge = decode(_action(camera_yaw=50, forward=7, back=-2)), decode(_action(camera_yaw=10, forward=1))
    assert all(np.array_equal(a, b) for a, b in zip(wild, edge))
    assert float(edge.d_yaw) == pytest.approx(np.radians(10.0), rel=1e-5)   # bin 10 = +10° (mu-law top bin)
