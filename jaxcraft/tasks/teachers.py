"""Scripted teachers with privileged state: demonstrations, baselines, benchmarks.

    teacher = get_teacher("servo")      # = jaxcraft.build.make_teacher("servo"); or servo_teacher()
    carry = teacher.init(env, state); carry, action = teacher.act(env, params, state, carry, key)

    expert  path planning over the voxel grid (`expert.py`): solves ~100 % of tasks, but acts on
            map knowledge a pixel policy does not have
    servo   visual servoing on the target's pixels in the agent frame (`servo.py`): weaker, but
            its action is a function of what is visible, so a reactive student can clone it
    servo_resolved  the servo with a one-pixel dead zone: no camera turn for a target less than a
            pixel off the crosshair (its in-view labels are then readable off the student's frame)
Both are registered under these names in `jaxcraft.registry.TEACHERS` (tasks/registration.py).
"""
from __future__ import annotations

from typing import Callable, NamedTuple

from jaxcraft.registry import TEACHERS, UnknownName
from jaxcraft.tasks.servo import servo_act, servo_init, servo_resolved_act


class Teacher(NamedTuple):
    name: str          # stored in demo manifests
    init: Callable     # (env, state) -> carry
    act: Callable      # (env, params, state, carry, key) -> (carry, action int32[11])


def expert_teacher() -> Teacher:
    from jaxcraft.tasks.expert import expert_act, expert_init   # optional: the scripted expert may be absent
    return Teacher("expert", expert_init, expert_act)


def servo_teacher() -> Teacher:
    return Teacher("servo", servo_init, servo_act)


def servo_resolved_teacher() -> Teacher:
    return Teacher("servo_resolved", servo_init, servo_resolved_act)


BUILTIN_TEACHERS = {"expert": expert_teacher, "servo": servo_teacher, "servo_resolved": servo_resolved_teacher}


def register_teachers(teachers) -> None:
    """Register the built-in teachers into `teachers` (a `jaxcraft.registry.Registry`)."""
    for name, factory in BUILTIN_TEACHERS.items():
        teachers.register(name, factory)


def get_teacher(name: str) -> Teacher:
    """The teacher registered as `name` in `jaxcraft.registry.TEACHERS` (built-ins included);
    ValueError naming the known ones otherwise."""
    if name in BUILTIN_TEACHERS and name not in TEACHERS:
        register_teachers(TEACHERS)
    try:
        return TEACHERS.lookup(name)()
    except UnknownName as e:
        raise ValueError(f"unknown teacher {name!r}; known: {', '.join(sorted(set(TEACHERS) | set(BUILTIN_TEACHERS)))}") from None


TEACHER_NAMES = tuple(BUILTIN_TEACHERS)
