"""The plug-in board: exact and prefix ids, errors that list the known names, explicit registration."""
import pytest

from jaxcraft import build, registry
from jaxcraft.config import ConfigError, EnvConfig, NetConfig


def test_exact_ids_win_over_prefixes_and_the_longest_prefix_wins():
    r = registry.Registry("thing")
    r.register("a:", "prefix-a")
    r.register("a:b:", "prefix-ab")
    r.register("a:b:c", "exact")
    assert r.lookup("a:b:c") == "exact"
    assert r.lookup("a:b:d") == "prefix-ab"
    assert r.lookup("a:x") == "prefix-a"
    with pytest.raises(registry.UnknownName, match=r"'a:' is not a registered thing; known: a:<id>, a:b:<id>, a:b:c"):
        r.lookup("a:")   # a prefix alone is not an id
    assert "a:zz" in r and "b" not in r


def test_builtins_are_registered_explicitly_and_unknown_names_are_config_errors():
    build.register_builtins()
    assert {"jaxcraft:tasks", "jaxcraft:world", "gymnax:"} <= set(registry.ENVS) and "gymnax:Acrobot-v1" in registry.ENVS
    assert {"mlp", "cnn", "world_cnn", "goal_cnn"} <= set(registry.NETS)
    assert {"expert", "servo"} <= set(registry.TEACHERS)
    assert "bridge:gym:" in set(registry.BRIDGED_ENVS) and "bridge:gym:CartPole-v1" in registry.BRIDGED_ENVS
    with pytest.raises(ConfigError, match=r"env.name='jaxcraft:nope'.*known: .*jaxcraft:tasks"):
        build.make_env(EnvConfig(name="jaxcraft:nope"))
    with pytest.raises(ConfigError, match=r"unknown gymnax id"):
        build.make_env(EnvConfig(name="gymnax:Nope-v0"))
    with pytest.raises(ConfigError, match=r"net.kind='transformer'"):
        build.make_network(NetConfig(kind="transformer"), None, None)


def test_a_plugin_env_registers_and_builds():
    from gymnax.environments.classic_control import CartPole

    registry.ENVS.register("mine:cartpole", lambda config: (CartPole(), CartPole().default_params))
    env, params = build.make_env(EnvConfig(name="mine:cartpole", max_episode_steps=7))
    assert isinstance(env, CartPole) and params.max_steps_in_episode == 7


def test_env_params_set_fields_of_the_envs_own_params_and_name_bad_ones():
    _, params = build.make_env(EnvConfig(name="gymnax:MemoryChain-bsuite", env_params=("memory_length=20",),
                                         max_episode_steps=50))
    assert (params.memory_length, params.max_steps_in_episode) == (20, 50)
    assert isinstance(params.memory_length, int)
    with pytest.raises(ConfigError, match=r"has no field 'memory' \(fields: max_steps_in_episode, memory_length\)"):
        build.make_env(EnvConfig(name="gymnax:MemoryChain-bsuite", env_params=("memory=3",)))
    with pytest.raises(ConfigError, match=r"memory_length: expected an int, got 'x'"):
        build.make_env(EnvConfig(name="gymnax:MemoryChain-bsuite", env_params=("memory_length=x",)))
    with pytest.raises(ConfigError, match=r"env.env_params=\('bad',\) must be 'field=value' strings"):
        EnvConfig(env_params=("bad",)).validate()
