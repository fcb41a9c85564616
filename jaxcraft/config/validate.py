"""One validation of an experiment, before anything is built or compiled.

Every section checks its own fields (`section.validate()`); this module adds what crosses
sections and depends on the env kind (fused JAX env or bridged simulators) and the device
count. Each failure is a `ConfigError` naming the field.
"""
from __future__ import annotations

from typing import Optional

from jaxcraft.config.experiment import ExperimentConfig
from jaxcraft.config.fields import ConfigError, check_types
# Not deferred: jaxcraft.config already loads jaxcraft.ppo (and JAX) through fields' ConfigError.
from jaxcraft.ppo.update import check_batch_layout


def is_bridged(config: ExperimentConfig) -> bool:
    """Bridged env ids (`bridge:<adapter>`) run simulators out of process; all others are JAX envs.
    `run.trainer` must agree when it is set ('fused' or 'bridged' instead of 'auto')."""
    bridged = config.env.name.startswith("bridge:")
    chosen = config.run.trainer
    if chosen != "auto" and (chosen == "bridged") != bridged:
        kind = "a bridged simulator (bridge:<adapter>)" if bridged else "a JAX env"
        raise ConfigError(f"run.trainer={chosen!r} cannot run env.name={config.env.name!r}: it is {kind}; "
                          f"use run.trainer={'bridged' if bridged else 'fused'!r} or 'auto'")
    return bridged


def validate(config: ExperimentConfig, num_devices_available: int, recurrent: Optional[bool] = None,
             num_processes: int = 1) -> int:
    """Check everything that can be checked before compiling; returns the device count to use.

    `num_devices_available` is the *global* device count (`jax.device_count()`: every device of
    every process of a multi-process job); `num_processes` is `jax.process_count()`.
    """
    check_types(config)
    env, run = config.env, config.run
    for section in (config.ppo, env, config.net, run, config.task):
        section.validate()
    bins = config.ppo.hl_gauss_bins if config.ppo.value_head == "hl_gauss" else 0
    if config.net.value_bins != bins:
        need = f"ppo.hl_gauss_bins={bins} with ppo.value_head='hl_gauss'" if bins else f"ppo.value_head={config.ppo.value_head!r}"
        raise ConfigError(f"net.value_bins={config.net.value_bins} must be {bins} ({need})")
    if run.total_env_steps < config.batch_size:
        raise ConfigError(f"run.total_env_steps={run.total_env_steps} must be >= num_envs·rollout_len = "
                          f"{config.batch_size} (at least one update)")
    devices = run.num_devices or num_devices_available
    where = f" ({num_processes} processes)" if num_processes > 1 else ""
    if devices > num_devices_available:
        raise ConfigError(f"run.num_devices={devices} but only {num_devices_available} devices are available{where}")
    if num_processes > 1 and devices != num_devices_available:
        raise ConfigError(f"run.num_devices={devices}: a multi-process run uses all {num_devices_available} "
                          f"devices of its {num_processes} processes; set run.num_devices=0")
    if env.num_envs % devices:
        raise ConfigError(f"env.num_envs={env.num_envs} must be divisible by the number of devices ({devices}{where})")
    if config.ppo.freeze_encoder and (is_bridged(config) or config.net.kind != "goal_cnn" or config.net.separate_critic):
        raise ConfigError("ppo.freeze_encoder needs the fused trainer and net.kind='goal_cnn' with a value that reads "
                          "the features (net.separate_critic=False)")
    if config.net.goal.privileged_critic and not config.task.privileged_obs:
        raise ConfigError("net.goal.privileged_critic=True needs task.privileged_obs=True (the env's value-only input)")
    if config.ppo.aux_coef and not (config.net.kind == "goal_cnn" and config.net.goal.bearing_head
                                    and config.net.goal.privileged_critic and not config.net.separate_critic
                                    and not is_bridged(config)):
        raise ConfigError("ppo.aux_coef > 0 needs the fused trainer and net.kind='goal_cnn' with net.goal.bearing_head=True "
                          "and net.goal.privileged_critic=True (its labels), net.separate_critic=False")
    if config.run.guide.teacher and (is_bridged(config) or not env.name.startswith("jaxcraft:tasks")):
        raise ConfigError(f"run.guide.teacher={config.run.guide.teacher!r} needs a fused jaxcraft:tasks env "
                          f"(the teacher reads the task's state); env.name={env.name!r}")
    if is_bridged(config):
        if env.reset_pool_size:
            raise ConfigError("env.reset_pool_size applies to JAX envs only; set it to 0 for bridge:<adapter> envs")
        # Each process runs its own simulators for its share of the envs, on its own devices.
        config.bridge.check(env.num_envs // num_processes, devices // num_processes)
    elif env.reset_pool_size:
        if env.reset_pool_size % devices:
            raise ConfigError(f"env.reset_pool_size={env.reset_pool_size} must be divisible by the number of devices ({devices})")
        per_device = env.reset_pool_size // devices
        if not 0 <= env.pool_refresh_per_step <= per_device:
            raise ConfigError(f"env.pool_refresh_per_step={env.pool_refresh_per_step} must be in [0, reset_pool_size/devices = {per_device}]")
    is_recurrent = config.net.core_size > 0 if recurrent is None else recurrent
    check_batch_layout(config.ppo, env.rollout_len, is_recurrent)   # raises ConfigError itself
    return devices
