"""Experiment configs: frozen, typed, documented dataclasses; file loading; `--set` overrides.

An experiment file (`experiments/*.py`) defines `CONFIG: ExperimentConfig`. Overrides
`section.field=value` are parsed against the field's type and applied with
`dataclasses.replace` (configs are never mutated). Unknown keys and ill-typed values are
rejected with the list of valid keys; `validate` checks cross-field constraints (batch
divisibility, device counts) before anything is compiled.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import json
import pathlib
import types
import typing
from typing import Any, Optional, Sequence

from jaxcraft.bridge_config import BridgeConfig
from jaxcraft.ppo.config import PPOConfig, describe, documented
from jaxcraft.tasks.config import TaskConfig


class ConfigError(ValueError):
    """A config value or key is invalid; the message names the field."""


@dataclasses.dataclass(frozen=True)
class EnvConfig:
    """Which environment, how many copies, and how long each rollout is."""

    name: str = documented("gymnax:CartPole-v1", "Environment id: 'gymnax:<gymnax id>' or 'jaxcraft:<world/task id>' (see jaxcraft.registry).")
    num_envs: int = documented(4, "Parallel envs in total (split over devices); must be divisible by the device count.")
    rollout_len: int = documented(128, "Steps per env per update (T of the [T, B] batch).")
    reset_pool_size: int = documented(0, "Pre-generated reset states per run (split over devices); 0 = fresh reset for each finished env (cheap envs only).")
    pool_refresh_per_step: int = documented(1, "Reset-pool entries regenerated per env step (per device).")
    max_episode_steps: int = documented(0, "Override the env's time limit; 0 = keep the env's default.")


@dataclasses.dataclass(frozen=True)
class NetConfig:
    """The actor-critic network."""

    kind: str = documented("mlp", "Encoder: 'mlp' (vector obs), 'cnn' (image obs), or an env-specific net from jaxcraft.registry.")
    hidden: tuple[int, ...] = documented((64, 64), "Hidden sizes of the MLP encoder / the dense layers after the CNN.")
    channels: tuple[int, ...] = documented((16, 32), "Conv channels of the CNN encoder.")
    core_size: int = documented(0, "GRU size of the recurrent core; 0 = feed-forward.")
    activation: str = documented("tanh", "Activation: tanh, relu, gelu or silu.")
    separate_critic: bool = documented(True, "Give the critic its own encoder (feed-forward nets only).")
    aux_heads: bool = documented(False, "Goal-conditioned nets only: add heads predicting target visibility and its image centroid (ROCKET-2), trained by imitation pretraining.")
    goal_fusion: str = documented("late", "Goal-conditioned nets only: 'late' (FiLM the frame code by the goal code) or 'conv' (also FiLM every frame conv layer: spatial fusion).")


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Budget, seeding, devices, logging and checkpoints."""

    seed: int = documented(0, "PRNG seed of the whole run (params, envs, actions, minibatches).")
    total_env_steps: int = documented(500_000, "Env steps over the run; updates = total_env_steps // (num_envs · rollout_len).")
    num_devices: int = documented(0, "Devices on the data mesh axis; 0 = all local devices.")
    updates_per_call: int = documented(10, "Updates fused into one jitted call (a lax.scan); metrics, NaN checks and SIGTERM are handled between calls.")
    scan_updates: Optional[bool] = documented(None, "Fuse the updates of a call into one lax.scan (True) or loop over one jitted update on the host (False); None = scan on GPU/TPU, loop on CPU (XLA:CPU is slow inside while-loops).")
    checkpoint_every: int = documented(50, "Save a checkpoint every this many updates (a multiple of updates_per_call); 0 = only at the end.")
    keep_checkpoints: int = documented(3, "How many recent checkpoints to keep.")
    run_dir: str = documented("runs/{name}", "Where metrics.jsonl, TensorBoard events, checkpoints and summary.json go ({name} = experiment name).")
    tensorboard: bool = documented(True, "Also write TensorBoard event files.")
    progress: bool = documented(True, "Show a progress bar with steps/s and return.")
    wandb_project: str = documented("", "Also log metrics to this Weights & Biases project (needs the 'wandb' extra); '' = no W&B.")
    wandb_mode: str = documented("", "W&B mode: 'online', 'offline' (no network; `wandb sync` later) or 'disabled'; '' = W&B's default (WANDB_MODE, else online).")
    init_params: str = documented("", "Start from these params (e.g. imitation-pretrained, saved by `jaxcraft pretrain`); with ppo.kl_coef > 0 they are also the frozen KL reference. '' = random init.")


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
    """One experiment: name plus the four sections."""

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
    """{"section.field": doc} for every overridable key (plus "name")."""
    keys = {"name": "Experiment name."}
    for section in SECTIONS:
        for k, doc in describe(type(getattr(config, section))).items():
            keys[f"{section}.{k}"] = doc
    return keys


def _parse(text: str, typ: Any, key: str) -> Any:
    """Parse `text` as a value of the annotated type `typ`."""
    origin = typing.get_origin(typ)
    args = typing.get_args(typ)
    if origin in (typing.Union, types.UnionType):
        if text.strip().lower() in ("none", "null") and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _parse(text, inner[0], key)
    if typ is bool:
        low = text.strip().lower()
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off"):
            return False
        raise ConfigError(f"{key}: expected a bool (true/false), got {text!r}")
    if typ is int:
        try:
            return int(text.replace("_", ""))
        except ValueError:
            try:
                f = float(text)
            except ValueError:
                f = None
            if f is not None and f.is_integer():
                return int(f)
            raise ConfigError(f"{key}: expected an int, got {text!r}") from None
    if typ is float:
        try:
            return float(text)
        except ValueError:
            raise ConfigError(f"{key}: expected a float, got {text!r}") from None
    if typ is str:
        return text
    if origin is tuple:
        parts = [p for p in text.strip("()[] ").split(",") if p.strip()]
        elem = args[0] if args else str
        return tuple(_parse(p.strip(), elem, key) for p in parts)
    raise ConfigError(f"{key}: cannot parse values of type {typ}")


def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def override(config: ExperimentConfig, assignments: Sequence[str]) -> ExperimentConfig:
    """Apply ["section.field=value", ...]; returns a new config (the input is unchanged)."""
    keys = valid_keys(config)
    for item in assignments:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not of the form key=value")
        key, value = item.split("=", 1)
        key = key.strip()
        if key not in keys:
            raise ConfigError(f"unknown config key {key!r}; valid keys are:\n  " + "\n  ".join(sorted(keys)))
        if key == "name":
            config = dataclasses.replace(config, name=value)
            continue
        section, field = key.split(".", 1)
        sub = getattr(config, section)
        parsed = _parse(value, _field_types(type(sub))[field], key)
        config = dataclasses.replace(config, **{section: dataclasses.replace(sub, **{field: parsed})})
    return config


def _check_types(obj: Any, prefix: str) -> None:
    for f in dataclasses.fields(obj):
        typ = _field_types(type(obj))[f.name]
        v = getattr(obj, f.name)
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(v):
            _check_types(v, key + ".")
            continue
        base = [a for a in typing.get_args(typ) if a is not type(None)] if typing.get_origin(typ) in (typing.Union, types.UnionType) else [typ]
        if v is None and len(base) < len(typing.get_args(typ) or [0, 0]):
            continue
        t = typing.get_origin(base[0]) or base[0]
        ok = isinstance(v, t) and not (t is int and isinstance(v, bool))
        if t is float and isinstance(v, int) and not isinstance(v, bool):
            ok = True
        if not ok:
            raise ConfigError(f"{key}={v!r} should be of type {getattr(t, '__name__', t)}")


def validate(config: ExperimentConfig, num_local_devices: int, recurrent: Optional[bool] = None) -> int:
    """Check everything that can be checked before compiling; returns the device count to use."""
    from jaxcraft.ppo.update import check_batch_layout

    _check_types(config, "")
    env, run = config.env, config.run
    try:
        config.ppo.validate()
        config.task.validate()
    except ValueError as e:
        raise ConfigError(str(e)) from None
    for key, ok, why in [
        ("env.num_envs", env.num_envs >= 1, "must be >= 1"),
        ("env.rollout_len", env.rollout_len >= 1, "must be >= 1"),
        ("env.reset_pool_size", env.reset_pool_size >= 0, "must be >= 0"),
        ("env.max_episode_steps", env.max_episode_steps >= 0, "must be >= 0"),
        ("run.updates_per_call", run.updates_per_call >= 1, "must be >= 1"),
        ("run.checkpoint_every", run.checkpoint_every >= 0, "must be >= 0"),
        ("run.keep_checkpoints", run.keep_checkpoints >= 1, "must be >= 1"),
        ("run.num_devices", run.num_devices >= 0, "must be >= 0"),
        ("run.total_env_steps", run.total_env_steps >= config.batch_size,
         f"must be >= num_envs·rollout_len = {config.batch_size} (at least one update)"),
    ]:
        if not ok:
            raise ConfigError(f"{key}={getattr(getattr(config, key.split('.')[0]), key.split('.')[1])!r} {why}")
    devices = run.num_devices or num_local_devices
    if devices > num_local_devices:
        raise ConfigError(f"run.num_devices={devices} but only {num_local_devices} devices are available")
    if env.num_envs % devices:
        raise ConfigError(f"env.num_envs={env.num_envs} must be divisible by the number of devices ({devices})")
    if env.reset_pool_size:
        if env.reset_pool_size % devices:
            raise ConfigError(f"env.reset_pool_size={env.reset_pool_size} must be divisible by the number of devices ({devices})")
        per_device = env.reset_pool_size // devices
        if not 1 <= env.pool_refresh_per_step <= per_device:
            raise ConfigError(f"env.pool_refresh_per_step={env.pool_refresh_per_step} must be in [1, reset_pool_size/devices = {per_device}]")
    if run.checkpoint_every and run.checkpoint_every % run.updates_per_call:
        raise ConfigError(f"run.checkpoint_every={run.checkpoint_every} must be a multiple of run.updates_per_call={run.updates_per_call}")
    is_recurrent = config.net.core_size > 0 if recurrent is None else recurrent
    try:
        check_batch_layout(config.ppo, env.rollout_len, is_recurrent)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    return devices


def load_experiment(path: str | pathlib.Path) -> ExperimentConfig:
    """Import an experiment file and return its `CONFIG`."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise ConfigError(f"experiment file {str(path)!r} does not exist")
    spec = importlib.util.spec_from_file_location(f"jaxcraft_experiment_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = getattr(module, "CONFIG", None)
    if not isinstance(config, ExperimentConfig):
        raise ConfigError(f"{path} must define CONFIG = ExperimentConfig(...)")
    return config


def from_dict(d: dict) -> ExperimentConfig:
    """Inverse of `ExperimentConfig.to_dict` (lists become tuples)."""
    def build(cls, data):
        kwargs = {}
        hints = _field_types(cls)
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
