"""One validation of an experiment, before anything is built or compiled.

Every section checks its own fields (`section.validate()`); this module adds what crosses
sections and depends on the env kind (fused JAX env or bridged simulators) and the device
count. Each failure is a `ConfigError` naming the field.
"""
from __future__ import annotations

from typing import Optional

from jaxcraft.config.experiment import ExperimentConfig
from jaxcraft.config.fields import ConfigError, check_types


def is_bridged(config: ExperimentConfig) -> bool:
    """Bridged env ids (`bridge:<adapter>`) run simulators out of process; all others are JAX envs."""
    return config.env.name.startswith("bridge:")


def validate(config: ExperimentConfig, num_devices_available: int, recurrent: Optional[bool] = None) -> int:
    """Check everything that can be checked before compiling; returns the device count to use."""
    from jaxcraft.ppo.update import check_batch_layout

    check_types(config)
    env, run = config.env, config.run
    try:
        config.ppo.validate()
    except ValueError as e:
        raise ConfigError(str(e)) from None
    for section in (env, config.net, run, config.task):
        section.validate()
    if run.total_env_steps < config.batch_size:
        raise ConfigError(f"run.total_env_steps={run.total_env_steps} must be >= num_envs·rollout_len = "
                          f"{config.batch_size} (at least one update)")
    devices = run.num_devices or num_devices_available
    if devices > num_devices_available:
        raise ConfigError(f"run.num_devices={devices} but only {num_devices_available} devices are available")
    if env.num_envs % devices:
        raise ConfigError(f"env.num_envs={env.num_envs} must be divisible by the number of devices ({devices})")
    if is_bridged(config):
        if env.reset_pool_size:
            raise ConfigError("env.reset_pool_size applies to JAX envs only; set it to 0 for bridge:<adapter> envs")
        config.bridge.check(env.num_envs, devices)
    elif env.reset_pool_size:
        if env.reset_pool_size % devices:
            raise ConfigError(f"env.reset_pool_size={env.reset_pool_size} must be divisible by the number of devices ({devices})")
        per_device = env.reset_pool_size // devices
        if not 1 <= env.pool_refresh_per_step <= per_device:
            raise ConfigError(f"env.pool_refresh_per_step={env.pool_refresh_per_step} must be in [1, reset_pool_size/devices = {per_device}]")
    is_recurrent = config.net.core_size > 0 if recurrent is None else recurrent
    try:
        check_batch_layout(config.ppo, env.rollout_len, is_recurrent)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    return devices
