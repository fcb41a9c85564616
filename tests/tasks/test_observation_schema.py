"""The one cross-view observation schema (`bridge.crossview`): what the task env emits, what the
network, the Minetest simulator, demos and imitation read, and a test-only fifth family through it.

Oracles: the env's own reset (the arrays it really emits), hand-written shapes and the VPT camera
quantiser's closed-form values, and the network's outputs (a family it cannot embed would fail).
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bridge import crossview as X
from bridge.adapters.minetest_env import MinetestConfig, minetest_spec
from bridge.obs_check import check_observation
from jaxcraft.build import make_network
from jaxcraft.config import NetConfig
from jaxcraft.config.task import FAMILIES as CONFIG_FAMILIES
from jaxcraft.envs.spaces import Discrete, schema_spaces, zeros_of_space
from jaxcraft.tasks import TaskConfig, decode_task_id, encode_task_id, make_task_env
from jaxcraft.tasks.demos import FIELDS
from jaxcraft.tasks.families import FAMILY_TABLE
from jaxcraft.world import actions as A

ENV, PARAMS = make_task_env(TaskConfig(frame_size=16, max_steps=9, families=("approach",), distances=(20,),
                                       privileged_obs=True))
TINY_NET = NetConfig(kind="goal_cnn", channels=(4,), hidden=(8,), core_size=0, activation="relu")


def test_the_env_emits_exactly_the_schema():
    schema = ENV.schema
    assert schema.frame == (16, 16) and schema.num_families == len(FAMILY_TABLE) == 4
    obs, _ = jax.jit(ENV.reset_to_task)(jnp.asarray(0, jnp.int32), PARAMS)
    assert schema.value_keys == ("rgb", "goal_rgb", "goal_mask", "family", "privileged") and set(obs) == set(schema.value_keys)
    assert schema.policy_keys == ("rgb", "goal_rgb", "goal_mask", "family")
    want = {"rgb": ((16, 16, 3), np.uint8), "goal_rgb": ((16, 16, 3), np.uint8), "goal_mask": ((16, 16), np.uint8),
            "family": ((), np.int32), "privileged": ((7,), np.float32)}
    for k, (shape, dtype) in want.items():
        assert obs[k].shape == shape == schema.shape(k) and obs[k].dtype == dtype, k
    space = ENV.observation_space(PARAMS)
    assert space == schema_spaces(schema) and space["family"] == Discrete(4)
    plain = X.ObservationSchema((16, 16))
    assert "privileged" not in schema_spaces(plain) and plain.value_keys == plain.policy_keys


def test_family_names_and_task_id_layout_are_the_tables():
    assert X.FAMILIES == CONFIG_FAMILIES == tuple(f.name for f in FAMILY_TABLE)
    # the Minetest scene and the JAX synthesis pack a task id the same way
    from bridge.adapters.minetest import scene as S
    assert S.FAMILIES is X.FAMILIES and S.encode_task_id(7, 2, 3) == int(encode_task_id(7, 2, 3))


def test_camera_bins_are_one_table_with_vpt_values():
    assert A.camera_bin_degrees is X.camera_bin_degrees and A.NVEC == X.NVEC and A.BUTTONS == X.BUTTONS
    deg = A.camera_bin_degrees()
    # bin b → x = (2b − 10)/10, degrees = sign(x)·((1+10)^|x| − 1)/10·10: 0 at the middle, ±10° at the ends
    assert deg[5] == 0.0 and deg[10] == pytest.approx(10.0) and deg[0] == pytest.approx(-10.0)
    assert deg[6] == pytest.approx(11 ** 0.2 - 1.0, rel=1e-6)
    np.testing.assert_allclose(deg, -deg[::-1])


def test_minetest_spec_and_demos_follow_the_schema():
    spec = minetest_spec(MinetestConfig(frame_size=24))
    schema = X.ObservationSchema((24, 24))
    assert {k: v for k, v in spec.observation.items() if k != "info"} == schema.array_specs()
    assert spec.observation["rgb"].shape == (24, 24, 3) and spec.observation["family"].high == 3
    # demos keep the policy's fields: per step, the goal's per episode
    assert FIELDS["rgb"] == ("uint8", ("N", "T", "H", "W", 3)) and FIELDS["goal_mask"] == ("uint8", ("N", "H", "W"))
    assert FIELDS["family"] == ("int32", ("N",)) and "privileged" not in FIELDS


def test_bad_schema_is_a_one_line_error():
    with pytest.raises(ValueError, match="families"):
        X.ObservationSchema((16, 16), families=("a", "a"))
    with pytest.raises(ValueError, match="frame"):
        X.ObservationSchema((0, 16))


@pytest.fixture
def fifth_family():
    """A test-only fifth family: the family names with one more (the family table itself is module
    data, so a real one is a row in `FAMILY_TABLE` + its name in `bridge.crossview.FAMILIES`)."""
    return X.FAMILIES + ("fetch",)


def test_a_fifth_family_flows_through_ids_schema_net_and_a_minetest_spec(fifth_family):
    schema = X.ObservationSchema((16, 16), families=fifth_family)
    assert schema.num_families == 5
    # task ids have room for it: the id of family 4 decodes to family 4 (synthesis reads the id's family)
    seed, d, f = decode_task_id(encode_task_id(3, 1, 4))
    assert (int(seed), int(d), int(f)) == (3, 1, 4)
    # the net built from the schema's spaces embeds five families: family 4's logits differ from family 0's
    space = schema_spaces(schema)
    assert space["family"] == Discrete(5)
    net = make_network(TINY_NET, space, ENV.action_space(PARAMS))
    assert net.num_families == 5
    obs = zeros_of_space(space, (1, 2))
    obs["family"] = jnp.asarray([[0, 4]], jnp.int32)
    reset = jnp.ones((1, 2), bool)
    params = net.init(jax.random.key(0), net.initial_carry(2), obs, reset)
    assert params["params"]["family_embed"]["embedding"].shape[0] == 5
    _, logits, _ = net.apply(params, net.initial_carry(2), obs, reset)
    assert not np.allclose(np.asarray(logits[0, 0]), np.asarray(logits[0, 1]))   # the same frames, another goal
    # a Minetest-style spec of the same schema declares the family range [0, 4] and takes family 4
    spec = minetest_spec(MinetestConfig(frame_size=16), schema)
    assert (spec.observation["family"].low, spec.observation["family"].high) == (0, 4)
    obs = {k: np.zeros(v.shape, v.dtype) for k, v in spec.observation.items()}
    assert check_observation(dict(obs, family=np.int32(4)), spec.observation)["family"] == 4
