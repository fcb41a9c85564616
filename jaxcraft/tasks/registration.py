"""Registers the cross-view task env with `jaxcraft.registry`.

    env.name = "jaxcraft:tasks"   ROCKET-3 cross-view tasks; what is synthesised is set by the
                                  experiment's `task` section (families, distances, split, reward)
    net.kind = "goal_cnn"         the goal-conditioned actor-critic (jaxcraft.nets.goal)
"""
from __future__ import annotations

from jaxcraft.nets import goal_registration  # noqa: F401  (registers net.kind="goal_cnn")
from jaxcraft.registry import register_env
from jaxcraft.tasks import make_task_env

register_env("jaxcraft:tasks", lambda env_config, task_config: make_task_env(task_config), takes_task=True)
