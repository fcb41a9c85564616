"""The experiment: name plus its sections; loading experiment files; `--set` overrides.

An experiment file (`experiments/*.py`) defines `CONFIG: ExperimentConfig`. Overrides
`section.field=value` (nested: `net.goal.fusion=conv`) are parsed against the field's type
and applied with `dataclasses.replace` (configs are never mutated). Unknown keys and
ill-typed values are rejected with the list of valid keys.

Three settings classes are not experiment sections, so `--set` cannot reach them; a key under
their name is rejected with the flag or key that sets it (`NOT_SECTIONS`):
  imitation    `jaxcraft.train.imitation.pretrain.ImitationConfig`: flags of `jaxcraft pretrain`
               (--steps, --batch, --window, --lr, --seed, --visible-weight, --mirror-in-view, ...).
  distributed  `jaxcraft.train.multihost.distributed.DistributedConfig`: flags of `jaxcraft train`
               (--coordinator, --num-processes, --process-id, --distributed, --init-timeout,
               --heartbeat-timeout) or their JAXCRAFT_* environment variables; per launch, not
               per experiment.
  minetest     `bridge.adapters.minetest_env.MinetestConfig`: built from the experiment by
               `jaxcraft.train.bridged.minetest.minetest_config` (frame size, families, distances,
               episode length, distractors, success reward: task.* / bridge.frame_size /
               env.max_episode_steps); its timing and client settings are the adapter's defaults.
"""
from __future__ import annotations

import dataclasses
import difflib
import importlib.util
import json
import pathlib
import traceback
from typing import Sequence

from jaxcraft.config.bridge import BridgeConfig
from jaxcraft.config.fields import (ConfigError, documented, field_types, leaf_keys, parse_value, replace_path,
                                    type_at)
from jaxcraft.config.sections import EnvConfig, NetConfig, RunConfig
from jaxcraft.config.task import TaskConfig
from jaxcraft.ppo.config import PPOConfig


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
    """One experiment: name plus its sections."""

    name: str = documented("experiment", "Experiment name (used in run_dir).")
    env: EnvConfig = documented(EnvConfig(), "Environment section.")
    net: NetConfig = documented(NetConfig(), "Network section.")
    ppo: PPOConfig = documented(PPOConfig(), "PPO section.")
    run: RunConfig = documented(RunConfig(), "Run section.")
    bridge: BridgeConfig = documented(BridgeConfig(), "Out-of-process simulators (bridged trainer only).")
    task: TaskConfig = documented(TaskConfig(), "Cross-view task synthesis (jaxcraft:tasks envs only).")

    @property
    def batch_size(self) -> int:
        return self.env.num_envs * self.env.rollout_len

    @property
    def num_updates(self) -> int:
        return self.run.total_env_steps // self.batch_size

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


SECTIONS = ("env", "net", "ppo", "run", "bridge", "task")


def valid_keys(config: ExperimentConfig) -> dict[str, str]:
    """{"section.field": doc} for every overridable key (plus "name"); nested sections are dotted."""
    return {"name": "Experiment name.", **leaf_keys(type(config))}


# Settings that are not experiment sections: {name: (what sets them, {field: flag or experiment key})}.
# Config sits below train/ and bridge/, so the field names are spelled out here;
# tests/test_config.py checks them against the classes and the flags against the CLI parsers.
_PRETRAIN = "`jaxcraft pretrain` flag"
_TRAIN = "`jaxcraft train` flag"
NOT_SECTIONS: dict[str, tuple[str, dict[str, str]]] = {
    "imitation": ("behaviour cloning (ImitationConfig) is set by `jaxcraft pretrain` flags", {
        "steps": f"the {_PRETRAIN} --steps", "batch_episodes": f"the {_PRETRAIN} --batch",
        "window": f"the {_PRETRAIN} --window", "lr": f"the {_PRETRAIN} --lr", "seed": f"the {_PRETRAIN} --seed",
        "max_grad_norm": f"the {_PRETRAIN} --max-grad-norm", "aux_coef": f"the {_PRETRAIN} --aux-coef",
        "map_coef": f"the {_PRETRAIN} --map-coef", "visible_weight": f"the {_PRETRAIN} --visible-weight",
        "mirror_in_view": f"the {_PRETRAIN} --mirror-in-view"}),
    "distributed": ("a multi-process job (DistributedConfig) is set per launch by `jaxcraft train` flags or "
                    "JAXCRAFT_* environment variables", {
        "coordinator": f"the {_TRAIN} --coordinator (or JAXCRAFT_COORDINATOR)",
        "num_processes": f"the {_TRAIN} --num-processes (or JAXCRAFT_NUM_PROCESSES)",
        "process_id": f"the {_TRAIN} --process-id (or JAXCRAFT_PROCESS_ID)",
        "auto": f"the {_TRAIN} --distributed (or JAXCRAFT_DISTRIBUTED=1)",
        "init_timeout": f"the {_TRAIN} --init-timeout (or JAXCRAFT_INIT_TIMEOUT)",
        "heartbeat_timeout": f"the {_TRAIN} --heartbeat-timeout (or JAXCRAFT_HEARTBEAT_TIMEOUT)"}),
    "minetest": ("the Minetest simulator (MinetestConfig) is built from the experiment's keys", {
        "frame_size": "--set bridge.frame_size (0 = task.frame_size)", "families": "--set task.families",
        "distances": "--set task.distances", "max_steps": "--set env.max_episode_steps (0 = task.max_steps)",
        "num_distractors": "--set task.num_distractors", "success_reward": "--set task.success_reward"}),
}


def not_a_section_message(key: str) -> str | None:
    """One line for a key under a settings class that is not an experiment section (else None)."""
    section, _, leaf = key.partition(".")
    if section not in NOT_SECTIONS:
        return None
    how, fields = NOT_SECTIONS[section]
    if leaf in fields:
        return f"{key} is not an experiment key: {how}; use {fields[leaf]}"
    if section == "minetest":
        return (f"{key} is not an experiment key: {how} ({', '.join(fields)}); its other settings are the "
                "defaults of bridge.adapters.minetest_env.MinetestConfig")
    return f"{key} is not an experiment key: {how} ({', '.join(fields)})"


def unknown_key_message(key: str, keys: Sequence[str]) -> str:
    """One line: the unknown key, the closest valid keys and where to see them all.

    Closest: a key of the same section whose name abbreviates the typed one or is abbreviated by it
    (initials: `ppo.learning_rate` → `ppo.lr`), then difflib's nearest spellings."""
    initials = lambda name: "".join(w[0] for w in name.split("_") if w)  # noqa: E731
    section, _, leaf = key.rpartition(".")
    same_section = [k for k in keys if k.rpartition(".")[0] == section]
    abbreviated = [k for k in same_section if k.rpartition(".")[2] == initials(leaf) or initials(k.rpartition(".")[2]) == leaf]
    close = list(dict.fromkeys(abbreviated + difflib.get_close_matches(key, list(keys), n=3, cutoff=0.5)))[:3]
    hint = f"did you mean {', '.join(close)}? " if close else ""
    return f"unknown config key {key!r}; {hint}`--show-config` lists every key"


def override(config: ExperimentConfig, assignments: Sequence[str]) -> ExperimentConfig:
    """Apply ["section.field=value", ...]; returns a new config (the input is unchanged)."""
    keys = valid_keys(config)
    for item in assignments:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not of the form key=value")
        key, value = item.split("=", 1)
        key = key.strip()
        if key not in keys:
            raise ConfigError(not_a_section_message(key) or unknown_key_message(key, keys))
        config = replace_path(config, key, parse_value(value, type_at(type(config), key), key))
    return config


def load_experiment(path: str | pathlib.Path) -> ExperimentConfig:
    """Import an experiment file and return its `CONFIG`; any failure is one ConfigError line."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise ConfigError(f"experiment file {str(path)!r} does not exist")
    spec = importlib.util.spec_from_file_location(f"jaxcraft_experiment_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as e:
        raise ConfigError(f"{path}:{e.lineno}: syntax error: {e.msg}") from None
    except Exception as e:  # noqa: BLE001 — an experiment file may fail in any way; name where
        frames = [f for f in traceback.extract_tb(e.__traceback__) if pathlib.Path(f.filename) == path.resolve()
                  or f.filename == str(path)]
        where = f"{path}:{frames[-1].lineno}" if frames else str(path)
        raise ConfigError(f"{where}: {type(e).__name__}: {e}") from None
    config = getattr(module, "CONFIG", None)
    if not isinstance(config, ExperimentConfig):
        raise ConfigError(f"{path} must define CONFIG = ExperimentConfig(...)")
    return config


def from_dict(d: dict) -> ExperimentConfig:
    """Inverse of `ExperimentConfig.to_dict` (lists become tuples; unknown keys are ignored)."""
    def build(cls, data):
        kwargs = {}
        hints = field_types(cls)
        for f in dataclasses.fields(cls):
            if f.name not in data:
                continue
            v = data[f.name]
            if dataclasses.is_dataclass(hints[f.name]):
                v = build(hints[f.name], v)
            elif isinstance(v, list):
                v = tuple(v)
            kwargs[f.name] = v
        return cls(**kwargs)
    return build(ExperimentConfig, d)
