"""The config package: nested sections, typed --set, one-line errors, finite numbers, one validation."""
import pytest

from jaxcraft.config import (ConfigError, ExperimentConfig, GoalNetConfig, NetConfig, from_dict, load_experiment,
                             override, valid_keys, validate)


def test_nested_sections_are_keys_and_overrides():
    keys = valid_keys(ExperimentConfig())
    assert {"net.goal.fusion", "net.goal.aux_heads", "bridge.load.latency_s", "ppo.lr", "task.families"} <= set(keys)
    c = override(ExperimentConfig(), ["net.goal.fusion=conv", "bridge.load.latency_s=0.5", "net.hidden=(8, 4)"])
    assert c.net.goal == GoalNetConfig(fusion="conv") and c.bridge.load.latency_s == 0.5 and c.net.hidden == (8, 4)
    assert from_dict(c.to_dict()) == c


@pytest.mark.parametrize("assignment, field", [
    ("ppo.lr=inf", "ppo.lr"), ("ppo.lr=nan", "ppo.lr"), ("net.activation=foo", "net.activation"),
    ("net.goal.fusion=early", "net.goal.fusion"),
    ("env.num_envs=0", "env.num_envs"), ("run.checkpoint_every=3", "run.checkpoint_every"),
])
def test_bad_values_are_rejected_before_building_naming_the_field(assignment, field):
    config = override(ExperimentConfig(), [assignment])
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")) as e:
        validate(config, 1)
    assert "\n" not in str(e.value)


def test_bad_experiment_files_give_one_line_naming_file_and_line(tmp_path):
    syntax = tmp_path / "syntax.py"
    syntax.write_text("from jaxcraft.config import ExperimentConfig\nCONFIG = ExperimentConfig(\n")
    failing = tmp_path / "failing.py"
    failing.write_text("import os\n\nimport not_a_module_xyz\nCONFIG = None\n")
    wrong = tmp_path / "wrong.py"
    wrong.write_text("from jaxcraft.config import NetConfig\nCONFIG = NetConfig()\n")
    for path, pattern in [(syntax, rf"{syntax}:\d+: syntax error"),
                          (failing, rf"{failing}:3: ModuleNotFoundError: No module named 'not_a_module_xyz'"),
                          (wrong, "must define CONFIG = ExperimentConfig")]:
        with pytest.raises(ConfigError, match=pattern) as e:
            load_experiment(path)
        assert "\n" not in str(e.value)


def test_bridge_only_checks_apply_to_bridged_envs():
    fused = ExperimentConfig(bridge=override(ExperimentConfig(), ["bridge.num_workers=999"]).bridge)
    assert validate(fused, 1) == 1   # the bridge section is not read by a JAX env
    bridged = override(fused, ["env.name=bridge:load"])
    with pytest.raises(ConfigError, match=r"bridge\.num_workers=999"):
        validate(bridged, 1)
    with pytest.raises(ConfigError, match=r"bridge\.load\.latency_s=-1\.0 must be >= 0"):
        validate(override(bridged, ["bridge.num_workers=1", "bridge.load.latency_s=-1"]), 1)
    with pytest.raises(ConfigError, match=r"bridge\.load\.terminate_prob=1\.5 must be in \[0, 1\]"):
        validate(override(bridged, ["bridge.num_workers=1", "bridge.load.terminate_prob=1.5"]), 1)
    with pytest.raises(ConfigError, match=r"env\.reset_pool_size"):
        validate(override(bridged, ["bridge.num_workers=1", "env.reset_pool_size=4"]), 1)


def test_net_sections_compare_by_value():
    assert NetConfig(goal=GoalNetConfig(aux_heads=True)) != NetConfig()


@pytest.mark.parametrize("key, close", [("ppo.learning_rate", "ppo.lr"), ("net.goal.fusio", "net.goal.fusion"),
                                        ("env.num_env", "env.num_envs")])
def test_unknown_key_is_one_line_with_the_closest_keys(key, close):
    with pytest.raises(ConfigError) as e:
        override(ExperimentConfig(), [f"{key}=1"])
    msg = str(e.value)
    assert "\n" not in msg and f"unknown config key {key!r}" in msg and "--show-config" in msg
    suggested = msg.split("did you mean ")[1].split("?")[0].split(", ")
    assert close in suggested and len(suggested) <= 3
    with pytest.raises(ConfigError) as e:                       # nothing alike: no guess, still one line
        override(ExperimentConfig(), ["zzzz=1"])
    assert "\n" not in str(e.value) and "did you mean" not in str(e.value)


def test_field_helpers_have_one_definition_shared_with_ppo():
    """`documented`/`describe` live once in jaxcraft.ppo (importable alone); jaxcraft.config re-exports them."""
    import jaxcraft.config
    import jaxcraft.config.fields as fields
    import jaxcraft.ppo as ppo
    assert fields.documented is ppo.documented is jaxcraft.config.documented
    assert fields.describe is ppo.describe is jaxcraft.config.describe
    assert fields.describe(GoalNetConfig)["fusion"].startswith("'late'")


def test_ppo_section_raises_the_config_error_of_every_section():
    """Bad ppo.* values raise the same ConfigError as env/net/run/...; it is a ValueError, so
    jaxcraft.ppo used alone (which imports nothing of jaxcraft.config) is caught either way."""
    import jaxcraft.ppo as ppo
    from jaxcraft.ppo import PPOConfig
    assert ppo.ConfigError is ConfigError and issubclass(ConfigError, ValueError)
    with pytest.raises(ConfigError) as e:
        PPOConfig(gamma=1.5).validate()
    assert type(e.value) is ConfigError and str(e.value) == "ppo.gamma=1.5 must be in [0, 1]"
    for assignment, message in [("ppo.gamma=1.5", "ppo.gamma=1.5 must be in [0, 1]"),
                                ("ppo.value_head=twohot", "ppo.value_head='twohot' must be 'scalar' or 'hl_gauss'"),
                                ("env.num_envs=0", "env.num_envs=0 must be >= 1")]:
        with pytest.raises(ConfigError) as e:
            validate(override(ExperimentConfig(), [assignment]), 1)
        assert type(e.value) is ConfigError and str(e.value) == message


def test_bridge_load_section_has_its_own_class_name_and_the_same_keys():
    import dataclasses

    from bridge.adapters.load_sim import LoadSimConfig as AdapterConfig
    from jaxcraft.config import BridgeConfig, BridgeLoadConfig
    hints = {f.name: f.type for f in dataclasses.fields(BridgeConfig)}
    assert BridgeConfig().load == BridgeLoadConfig() and "BridgeLoadConfig" in str(hints["load"])
    assert BridgeLoadConfig.__name__ != AdapterConfig.__name__
    keys = {k for k in valid_keys(ExperimentConfig()) if k.startswith("bridge.load.")}
    assert keys == {"bridge.load.latency_s", "bridge.load.busy_wait", "bridge.load.terminate_prob"}
    with pytest.warns(DeprecationWarning, match="BridgeLoadConfig"):
        from jaxcraft.config import LoadSimConfig   # the old spelling: the same class, deprecated
    assert LoadSimConfig is BridgeLoadConfig
