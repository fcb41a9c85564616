"""Experiment configuration: frozen, typed, documented sections; one validation.

    fields.py      the machinery: documented fields, typed parsing of --set values, checks
    sections.py    env, net (+ net.goal), run
    bridge.py      bridge (+ bridge.load)          task.py   task (cross-view synthesis)
    experiment.py  ExperimentConfig, experiment files, --set overrides, from_dict
    validate.py    the one cross-section validation (knows fused vs bridged envs)
The ppo section is `jaxcraft.ppo.PPOConfig` (kept in jaxcraft.ppo so that it stays importable alone).
"""
from jaxcraft.config.bridge import BridgeConfig, BridgeLoadConfig
from jaxcraft.config.experiment import SECTIONS, ExperimentConfig, from_dict, load_experiment, override, valid_keys
from jaxcraft.config.fields import ConfigError, describe, documented
from jaxcraft.config.sections import EnvConfig, GoalNetConfig, GuideConfig, NetConfig, RunConfig
from jaxcraft.config.task import DISTANCES, FAMILIES, SPLITS, TaskConfig
from jaxcraft.config.validate import is_bridged, validate
from jaxcraft.ppo.config import PPOConfig

__all__ = ["BridgeConfig", "BridgeLoadConfig", "ConfigError", "DISTANCES", "EnvConfig", "ExperimentConfig", "FAMILIES", "GoalNetConfig", "GuideConfig",
           "NetConfig", "PPOConfig", "RunConfig", "SECTIONS", "SPLITS", "TaskConfig", "describe",
           "documented", "from_dict", "is_bridged", "load_experiment", "override", "valid_keys", "validate"]


def __getattr__(name: str):
    # Deprecated spelling of BridgeLoadConfig (renamed: bridge.adapters.load_sim.LoadSimConfig is
    # a different class); kept for callers outside this package, e.g. benchmarks/bridged_training.py.
    if name == "LoadSimConfig":
        import warnings
        warnings.warn("jaxcraft.config.LoadSimConfig is now jaxcraft.config.BridgeLoadConfig (the `bridge.load` "
                      "section; bridge.adapters.load_sim.LoadSimConfig is the adapter's own class)",
                      DeprecationWarning, stacklevel=2)
        return BridgeLoadConfig
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
