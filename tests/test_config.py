"""The config package: nested sections, typed --set, one-line errors, finite numbers, one validation."""
import dataclasses

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
                                ("env.num_envs=0", "env.num_envs=0 must be >= 1"),
                                # the batch-layout check (jaxcraft.ppo.update) raises it too: 128 steps, 1 per chunk
                                ("ppo.num_minibatches=3", "ppo.num_minibatches=3 must divide the 128 chunks per env "
                                                          "(rollout length 128 / chunk_len 1)")]:
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


# --- settings that are not experiment sections: `--set` names the flag or key that sets them ---

def _message(key: str) -> str:
    with pytest.raises(ConfigError) as e:
        override(ExperimentConfig(), [f"{key}=1"])
    assert "\n" not in str(e.value)
    return str(e.value)


def test_set_imitation_names_the_pretrain_flag_that_sets_it():
    import argparse
    import dataclasses

    from jaxcraft.cli import pretrain as cli_pretrain
    from jaxcraft.train.imitation.pretrain import ImitationConfig
    assert _message("imitation.steps") == ("imitation.steps is not an experiment key: behaviour cloning "
                                           "(ImitationConfig) is set by `jaxcraft pretrain` flags; use the "
                                           "`jaxcraft pretrain` flag --steps")
    parser = argparse.ArgumentParser()
    cli_pretrain.add_arguments(parser)
    base = ["exp.py", "--demos", "d", "--out", "o"]
    assert cli_pretrain.imitation_config(parser.parse_args(base)) == ImitationConfig()
    for f in dataclasses.fields(ImitationConfig):      # every field: its named flag sets exactly it
        flag = _message(f"imitation.{f.name}").rsplit(" ", 1)[1]
        default = getattr(ImitationConfig(), f.name)
        value = (not default) if isinstance(default, bool) else default + 3
        argv = base + ([flag] if isinstance(default, bool) else [flag, str(value)])
        assert cli_pretrain.imitation_config(parser.parse_args(argv)) == ImitationConfig(**{f.name: value}), flag
    assert "(steps, batch_episodes," in _message("imitation.nonsense")


def test_set_distributed_names_the_train_flag_and_variable_that_set_it():
    import argparse
    import dataclasses

    from jaxcraft.train.multihost import distributed as D
    assert _message("distributed.coordinator") == (
        "distributed.coordinator is not an experiment key: a multi-process job (DistributedConfig) is set per "
        "launch by `jaxcraft train` flags or JAXCRAFT_* environment variables; use the `jaxcraft train` flag "
        "--coordinator (or JAXCRAFT_COORDINATOR)")
    values = {"coordinator": "host:1234", "num_processes": 4, "process_id": 3, "auto": True, "init_timeout": 7,
              "heartbeat_timeout": 9}
    assert set(values) == {f.name for f in dataclasses.fields(D.DistributedConfig)}
    parser = argparse.ArgumentParser()
    D.add_arguments(parser)
    for name, value in values.items():
        words = _message(f"distributed.{name}").split()
        flag, var = words[-3], words[-1].strip("()").split("=")[0]
        job = {"--num-processes": "4"} if name == "process_id" else {}   # a process id needs its job size
        args = parser.parse_args(([flag] if value is True else [flag, str(value)]) + [w for kv in job.items() for w in kv])
        by_flag = D.DistributedConfig.resolve(args.coordinator, args.num_processes, args.process_id, args.distributed,
                                              args.init_timeout, args.heartbeat_timeout, environ={})
        by_var = D.DistributedConfig.resolve(environ={var: "1" if value is True else str(value),
                                                      **({D.ENV_NUM_PROCESSES: "4"} if job else {})})
        assert getattr(by_flag, name) == value and getattr(by_var, name) == value, (name, flag, var)


def test_set_minetest_names_the_experiment_key_that_sets_it():
    import dataclasses

    from bridge.adapters.minetest_env import MinetestConfig
    from jaxcraft.train.bridged.minetest import minetest_config
    assert _message("minetest.frame_size") == ("minetest.frame_size is not an experiment key: the Minetest simulator "
                                               "(MinetestConfig) is built from the experiment's keys; use --set "
                                               "bridge.frame_size (0 = task.frame_size)")
    values = {"frame_size": 48, "families": ("break",), "distances": (40,), "max_steps": 77, "num_distractors": 2,
              "success_reward": 2.5}
    for name, value in values.items():        # the named key, set with --set, reaches the simulator's config
        key = _message(f"minetest.{name}").split("use --set ")[1].split()[0]
        text = f"({value[0]},)" if isinstance(value, tuple) else str(value)
        assert getattr(minetest_config(override(ExperimentConfig(), [f"{key}={text}"])), name) == value, key
    fixed = {f.name for f in dataclasses.fields(MinetestConfig)} - set(values)
    assert "step_s" in fixed and "MinetestConfig" in _message("minetest.step_s")


def test_set_rejections_reach_the_command_line(capsys):
    from jaxcraft.cli import main
    assert main(["train", "experiments/quickstart.py", "--set", "imitation.lr=0.1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("jaxcraft: config error: imitation.lr is not an experiment key: behaviour cloning (ImitationConfig) "
                   "is set by `jaxcraft pretrain` flags; use the `jaxcraft pretrain` flag --lr")


def test_run_trainer_names_the_trainer_and_must_agree_with_the_env():
    from jaxcraft.config import ConfigError, EnvConfig, ExperimentConfig, RunConfig, is_bridged
    fused = ExperimentConfig(env=EnvConfig(name="gymnax:CartPole-v1"), run=RunConfig(trainer="fused"))
    assert is_bridged(fused) is False
    assert is_bridged(dataclasses.replace(fused, env=EnvConfig(name="bridge:gym:CartPole-v1"),
                                          run=RunConfig(trainer="bridged"))) is True
    with pytest.raises(ConfigError, match=r"run.trainer='bridged' cannot run env.name='gymnax:CartPole-v1'") as e:
        is_bridged(dataclasses.replace(fused, run=RunConfig(trainer="bridged")))
    assert "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="run.trainer"):
        RunConfig(trainer="async").validate()


def test_a_net_without_the_network_contract_is_named_when_built(monkeypatch):
    from jaxcraft import registry
    from jaxcraft.build import make_network, register_builtins
    from jaxcraft.config import NetConfig
    register_builtins()   # before the swap: the builtins must land in the global registry, not in ours
    nets = registry.Registry("net kind")   # a private registry: the global one stays as it is
    nets.register("no_carry_net_for_test", lambda config, obs, act: object())
    monkeypatch.setattr(registry, "NETS", nets)
    with pytest.raises(ValueError, match=r"net.kind='no_carry_net_for_test': object is not a jaxcraft network: "
                                         r"it lacks apply, initial_carry, recurrent"):
        make_network(NetConfig(kind="no_carry_net_for_test"), None, None)
