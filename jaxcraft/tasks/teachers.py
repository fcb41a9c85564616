"""Scripted teachers with privileged state, by name: demonstrations, baselines, benchmarks.

    init, act = get_teacher("servo")
    carry = init(env, state); carry, action = act(env, params, state, carry, key)

    expert  path planning over the voxel grid (`expert.py`): solves ~100 % of tasks, but acts on
            map knowledge a pixel policy does not have
    servo   visual servoing on the target's pixels in the agent frame (`servo.py`): weaker, but
            its action is a function of what is visible, so a reactive student can clone it
"""
from __future__ import annotations

from typing import Callable, NamedTuple


class Teacher(NamedTuple):
    init: Callable     # (env, state) -> carry
    act: Callable      # (env, params, state, carry, key) -> (carry, action int32[11])


def get_teacher(name: str) -> Teacher:
    """The teacher called `name` (ValueError naming the known ones otherwise)."""
    if name == "expert":
        from jaxcraft.tasks.expert import expert_act, expert_init
        return Teacher(expert_init, expert_act)
    if name == "servo":
        from jaxcraft.tasks.servo import servo_act, servo_init
        return Teacher(servo_init, servo_act)
    raise ValueError(f"unknown teacher {name!r}; known: {', '.join(TEACHER_NAMES)}")


TEACHER_NAMES = ("expert", "servo")
