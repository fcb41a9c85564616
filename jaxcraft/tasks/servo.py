"""A visual-servo teacher: acts only on whether and where the target is in the agent's view.

The planning expert (`expert.py`) knows the map: its first moves, its detours and which way
it turns to face an unseen target follow from state a pixel policy never sees, so a reactive
student cloning it learns an average of incompatible actions. This teacher's action is a
fixed function of what a *perfect recogniser* would see in the current frame — whether the
target is in view and where (privileged: its centre projected with the pinhole camera,
inside the frame, before the fog's end and not occluded: the ray from the eye to its centre
or to its top hits the target first; two rays instead of a frame of them) — plus the camera pitch:

    target visible:  turn the camera towards the target centre (nearest camera bin to its
                     angle off the optical axis), walk forward sprinting and jumping; when the
                     crosshair is on the target within reach, stand still and attack (break,
                     hunt) or press `use` on alternate ticks (interact).
    not visible:     walk forward sprinting and jumping while turning right by SEARCH_YAW_BIN
                     per step (a memoryless spiral search), pitch back towards level.

`servo_resolved` is the same teacher with a dead zone of one pixel of the agent's frame: with the
target less than a pixel's angle off the crosshair (2.5° at 32 px, 70° FOV) it does not turn
(yaw) or tilt (pitch). The plain servo's in-view labels are mostly sub-pixel corrections (the
±0.6° and ±1.6° bins: a quarter to two thirds of a pixel at 32 px) that no student can read off
its frame, so cloning learns their marginal; the resolved servo's in-view turns all follow from
where the target is in the frame.

A reactive student that learns to find the target in the frame (given the goal image) can
copy it exactly; the auxiliary visibility/centroid heads of `goal_cnn` learn the very inputs
it acts on. Same interface as the expert (`servo_init`, `servo_act`); no PRNG use.
Measured (`benchmarks/expert_success.py --teacher servo --split unseen`, docs/tasks.md): 74 %
of approach and 80 % of hunt tasks at distance 20, 22–32 % at 40; it is weaker than the
planning expert far away (it has no map: it finds the target by spiralling, walls of 2+ blocks
and tree trunks stop it).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxcraft.tasks import families as F
from jaxcraft.tasks.goal_camera import first_hit, look_at
from jaxcraft.tasks.state import TaskState
from jaxcraft.tasks.synthesis import target_centre
from jaxcraft.world import actions as A
from jaxcraft.world.camera import basis, tan_half_fov
from jaxcraft.world.edit import agent_camera
from jaxcraft.world.interact import crosshair_target

SEARCH_YAW_BIN = 9           # +5.8°/step while searching: a full circle every ~62 steps of walking
_BIN_RAD = np.radians(A.camera_bin_degrees()).astype(np.float32)


@struct.dataclass
class ServoCarry:
    """The servo is memoryless; the carry only keeps the teacher interface uniform."""

    steps: jax.Array   # int32 steps taken (diagnostics only)


def servo_init(env, state: TaskState) -> ServoCarry:
    return ServoCarry(steps=jnp.zeros((), jnp.int32))


def _nearest_bin(angle: jax.Array) -> jax.Array:
    return jnp.argmin(jnp.abs(jnp.asarray(_BIN_RAD) - angle)).astype(jnp.int32)


def target_in_view(static, world, cam, centre: jax.Array, target_id: jax.Array):
    """(seen bool, d_yaw, d_pitch): the target centre projects inside the frame, its planar
    depth is short of the fog's end and the ray to it is not blocked by anything else; and the
    camera rotation (radians; + turns right / looks up) that puts it on the crosshair."""
    right, up, fwd = basis(cam.yaw, cam.pitch)
    d = centre - cam.pos
    x, y, z = d @ right, d @ up, d @ fwd
    tan_x, tan_y = tan_half_fov(static.fov_y_deg, static.height, static.width)
    zc = jnp.maximum(z, 1e-3)
    inside = (z > 0.05) & (jnp.abs(x / zc) < tan_x) & (jnp.abs(y / zc) < tan_y) & (z < static.view_distance)
    # The centre or the top of the target: a block on the ground often shows only its top face.
    top = centre + jnp.asarray([0.0, 0.45, 0.0])
    seen = inside & ((first_hit(static, world, cam.pos, centre) == target_id)
                     | (first_hit(static, world, cam.pos, top) == target_id))
    want_yaw, want_pitch = look_at(cam.pos, centre)
    d_yaw = jnp.mod(want_yaw - cam.yaw + jnp.pi, 2 * jnp.pi) - jnp.pi
    return seen, d_yaw, want_pitch - cam.pitch


def servo_act(env, params, state: TaskState, carry: ServoCarry, key: jax.Array, deadzone_px: float = 0.0):
    """One servo step: (new carry, action int32[11]); see the module doc. `key` is unused.

    deadzone_px: no camera turn or tilt while the target is less than this many pixels' angle
    (at the frame's centre) off the crosshair."""
    del key
    static, w, task = env.static, state.world, state.task
    cam = agent_camera(w)
    visible, d_yaw, d_pitch = target_in_view(static, w, cam, target_centre(static, w, task), task.target_id)
    if deadzone_px:
        _, tan_y = tan_half_fov(static.fov_y_deg, static.height, static.width)
        dead = deadzone_px * float(np.arctan(tan_y / (static.height / 2)))   # one pixel's angle at the centre
        d_yaw = jnp.where(jnp.abs(d_yaw) < dead, 0.0, d_yaw)
        d_pitch = jnp.where(jnp.abs(d_pitch) < dead, 0.0, d_pitch)
    yaw_bin = jnp.where(visible, _nearest_bin(d_yaw), SEARCH_YAW_BIN)
    pitch_bin = jnp.where(visible, _nearest_bin(d_pitch), _nearest_bin(-w.agent.pitch))
    on_target = crosshair_target(static, w, cam, params.world.reach).obj_id == task.target_id
    walk = ~on_target
    attack = on_target & jnp.asarray(F.ATTACKS)[task.family]
    use = on_target & jnp.asarray(F.USES)[task.family] & ~w.agent.prev_use
    b = lambda x: x.astype(jnp.int32)  # noqa: E731
    zero = jnp.int32(0)
    action = jnp.stack([b(walk), zero, zero, zero, b(walk & w.agent.on_ground), zero, b(walk),
                        b(attack), b(use), pitch_bin, yaw_bin])
    return carry.replace(steps=carry.steps + 1), action


def servo_resolved_act(env, params, state: TaskState, carry: ServoCarry, key: jax.Array):
    """The servo with a one-pixel dead zone (see the module doc)."""
    return servo_act(env, params, state, carry, key, deadzone_px=1.0)
