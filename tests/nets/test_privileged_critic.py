"""The privileged critic (asymmetric actor-critic; `net.goal.privileged_critic`).

Oracles: hand-placed geometry for the env's `privileged` observation (target straight ahead at 5
blocks, then the agent turned and tilted by known angles); the policy's logits do not depend on
it while the value does; value gradients stay in the value-only modules when the value head is
detached; cloned params without a privileged critic load into a net with one (value-only modules
fresh, everything else bit-identical).
"""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcraft.build import make_network
from jaxcraft.config import ConfigError, EnvConfig, ExperimentConfig, GoalNetConfig, NetConfig, validate
from jaxcraft.envs.spaces import VALUE_ONLY_KEYS, policy_observation
from jaxcraft.tasks import TaskConfig, make_task_env, target_centre
from jaxcraft.tasks.env import PRIVILEGED_SIZE, target_mask
from jaxcraft.train.imitation.pretrain import load_params, save_params
from jaxcraft.world.edit import agent_camera, place_agent
from jaxcraft.world.physics import EYE_HEIGHT
from jaxcraft.world.render import render

ENV, PARAMS = make_task_env(TaskConfig(frame_size=16, max_steps=9, families=("approach",), distances=(20,),
                                       privileged_obs=True))
NET = NetConfig(kind="goal_cnn", channels=(4,), hidden=(8,), core_size=0, activation="relu", separate_critic=False,
                goal=GoalNetConfig(privileged_critic=True, value_stop_gradient=True))


def test_the_observation_carries_it_only_when_asked():
    plain, plain_params = make_task_env(TaskConfig(frame_size=16, max_steps=9))
    assert "privileged" not in plain.observation_space(plain_params) and "privileged" in ENV.observation_space(PARAMS)
    bad = ExperimentConfig(env=EnvConfig(name="jaxcraft:tasks"), net=NET, task=TaskConfig(frame_size=16))
    with pytest.raises(ConfigError, match="needs task.privileged_obs=True"):
        validate(bad, 1)


def test_privileged_observation_is_the_hand_placed_geometry():
    obs, state = jax.jit(ENV.reset_to_task)(jnp.asarray(5, jnp.int32), PARAMS)
    assert obs["privileged"].shape == (PRIVILEGED_SIZE,) and "privileged" in VALUE_ONLY_KEYS
    c = np.asarray(target_centre(ENV.static, state.world, state.task))
    feet = c - np.asarray([0.0, EYE_HEIGHT, 5.0], np.float32)        # eye level with the centre, 5 blocks towards −z
    observe = jax.jit(ENV.observe)
    for yaw, pitch in ((0.0, 0.0), (0.4, 0.0), (-1.0, 0.3)):
        placed = state.replace(world=place_agent(state.world, feet, yaw, pitch))
        p = np.asarray(observe(placed, PARAMS)["privileged"])
        want = [5.0 / 32, np.sin(-yaw), np.cos(-yaw), np.sin(-pitch), np.cos(-pitch)]
        np.testing.assert_allclose(p[:5], want, atol=1e-5)
        frame = render(ENV.static, placed.world, agent_camera(placed.world))
        assert p[5] == float(np.asarray(target_mask(frame, placed.task.target_id)).any())   # the renderer's truth
        assert p[6] == 1.0                                                                 # no time spent yet


@pytest.fixture(scope="module")
def net_params():
    net = make_network(NET, ENV.observation_space(PARAMS), ENV.action_space(PARAMS))
    obs, _ = jax.jit(jax.vmap(lambda i: ENV.reset_to_task(i, PARAMS)))(jnp.arange(2, dtype=jnp.int32))
    obs = jax.tree.map(lambda x: x[None], obs)
    params = net.init(jax.random.key(0), (), obs, jnp.zeros((1, 2), bool))
    return net, params, obs


def test_only_the_value_reads_it_and_an_env_without_it_still_acts(net_params):
    net, params, obs = net_params
    assert net.privileged_dim == PRIVILEGED_SIZE and set(net.value_only_modules) == {"value_head", "privileged_proj"}
    apply = jax.jit(lambda p, o: net.apply(p, (), o, jnp.zeros((1, 2), bool)))
    _, logits, value = apply(params, obs)
    _, logits2, value2 = apply(params, {**obs, "privileged": obs["privileged"] + 1.0})
    np.testing.assert_array_equal(np.asarray(logits), np.asarray(logits2))
    assert not np.allclose(np.asarray(value), np.asarray(value2))
    _, logits3, _ = apply(params, policy_observation(obs))           # Minetest / bridged: no privileged key
    np.testing.assert_array_equal(np.asarray(logits), np.asarray(logits3))


def test_value_gradients_stay_in_the_value_only_modules(net_params):
    net, params, obs = net_params
    grads = jax.grad(lambda p: net.apply(p, (), obs, jnp.zeros((1, 2), bool))[2].sum())(params)["params"]
    for name, g in grads.items():
        moved = any(np.abs(np.asarray(x)).sum() > 0 for x in jax.tree.leaves(g))
        assert moved == (name in net.value_only_modules), name


def test_cloned_params_without_it_load_with_fresh_value_modules(net_params, tmp_path):
    net, params, obs = net_params
    plain = make_network(dataclasses.replace(NET, goal=GoalNetConfig(value_stop_gradient=True)),
                         ENV.observation_space(PARAMS), ENV.action_space(PARAMS))
    cloned = plain.init(jax.random.key(5), (), obs, jnp.zeros((1, 2), bool))
    save_params(tmp_path / "cloned", cloned)
    with pytest.raises(ValueError, match="do not fit"):
        load_params(tmp_path / "cloned", params)
    got = load_params(tmp_path / "cloned", params, fresh=net.value_only_modules)
    for name in got["params"]:
        src = params if name in net.value_only_modules else cloned
        for x, y in zip(jax.tree.leaves(got["params"][name]), jax.tree.leaves(src["params"][name])):
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_a_frozen_encoder_carries_it_to_the_value_only(net_params):
    """With ppo.freeze_encoder the features end with the privileged vector: decide on them equals the
    network (logits and value), and the policy's logits do not depend on that tail."""
    net, params, obs = net_params
    reset = jnp.zeros((1, 2), bool)
    feats = net.apply(params, obs, method="encode")
    assert feats.shape[-1] > PRIVILEGED_SIZE
    np.testing.assert_array_equal(np.asarray(feats[..., -PRIVILEGED_SIZE:]), np.asarray(obs["privileged"]))
    full, part = net.apply(params, (), obs, reset), net.apply(params, (), feats, reset, method="decide")
    for a, b in zip(full[1:], part[1:]):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    moved = net.apply(params, (), feats.at[..., -PRIVILEGED_SIZE:].add(1.0), reset, method="decide")
    np.testing.assert_array_equal(np.asarray(moved[1]), np.asarray(part[1]))
    assert not np.allclose(np.asarray(moved[2]), np.asarray(part[2]))
