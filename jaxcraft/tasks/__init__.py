"""Cross-view tasks (ROCKET-3): families, synthesis, the task env, splits.

    from jaxcraft.tasks import TaskConfig, make_task_env
    env, params = make_task_env(TaskConfig(families=("approach",), distances=(20,)))
    obs, state = env.reset_to_task(task_id, params)      # same id → same task
"""
from jaxcraft.config.task import DISTANCES, FAMILIES, SPLITS, TaskConfig
from jaxcraft.tasks.env import CrossViewTaskEnv, target_in_frame
from jaxcraft.tasks.params import TaskEnvParams, TaskParams, TaskStatic, from_config, with_split
from jaxcraft.tasks.state import Task, TaskState
from jaxcraft.tasks.synthesis import decode_task_id, encode_task_id, sample_task_id, synthesise, target_centre


def make_task_env(task_config: TaskConfig):
    """(CrossViewTaskEnv, TaskEnvParams) of a task config."""
    static, tstatic, params = from_config(task_config)
    return CrossViewTaskEnv(static, tstatic, params), params


__all__ = ["DISTANCES", "FAMILIES", "SPLITS", "TaskConfig", "CrossViewTaskEnv", "target_in_frame", "TaskEnvParams",
           "TaskParams", "TaskStatic", "from_config", "with_split", "Task", "TaskState", "decode_task_id",
           "encode_task_id", "sample_task_id", "synthesise", "target_centre", "make_task_env"]
