"""The cross-view task env and the teachers, registered by `register`.

    env.name = "jaxcraft:tasks"   ROCKET-3 cross-view tasks; what is synthesised is set by the
                                  experiment's `task` section (families, distances, split, reward);
                                  its net is `net.kind="goal_cnn"`
    teachers  "expert" (path planning), "servo" (visual servoing)   see `teachers.py`
"""
from __future__ import annotations

from jaxcraft.tasks import make_task_env
from jaxcraft.tasks.teachers import register_teachers

ENV_NAME = "jaxcraft:tasks"


def tasks(config):
    """`factory(experiment_config) -> (env, params)` of the task env of `config.task`."""
    return make_task_env(config.task)


def register(envs, teachers) -> None:
    envs.register(ENV_NAME, tasks)
    register_teachers(teachers)
