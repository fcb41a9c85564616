"""CrossViewTaskEnv: the JaxCraft world with one synthesised cross-view task per episode.

Observation (dict, `bridge.crossview.ObservationSchema`: `env.schema`): rgb uint8[H, W, 3]
first-person frame; goal_rgb uint8[H, W, 3] the target seen from the goal camera; goal_mask
uint8[H, W] its exact mask; family int32 (interaction); with `task.privileged_obs`, privileged
float32[7], read only by a value function (the schema's value-only keys; see `privileged_observation`).
Reward: `success_reward` when the interaction happens on the target (paper: binary), plus
optional shaping (distance closed, target in view; off by default). Success terminates the
episode; the time limit (default 600 steps) truncates it.
Step info: success, family, distance, task_id, target_visible, target_centroid (row, col in
[0, 1] of the target's pixels in the agent frame), target_mask (bool[H, W]: which pixels of the
agent frame show the target, from the renderer's object ids) and the world's interaction events.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from bridge import crossview as X
from bridge.crossview import PRIVILEGED_SIZE, ObservationSchema  # noqa: F401  (PRIVILEGED_SIZE: re-exported)
from jaxcraft.envs.spaces import schema_spaces
from jaxcraft.tasks import families as F
from jaxcraft.tasks.params import TaskEnvParams, TaskStatic
from jaxcraft.tasks.state import TaskState
from jaxcraft.tasks.goal_camera import look_at
from jaxcraft.tasks.synthesis import sample_task_id, synthesise, target_centre
from jaxcraft.world.edit import agent_camera
from jaxcraft.world.env import JaxCraftEnv
from jaxcraft.world.params import WorldStatic
from jaxcraft.world.render import Frame, render


def target_mask(frame: Frame, target_id: jax.Array) -> jax.Array:
    """bool[H, W]: the pixels whose visible surface is the target (empty when it is occluded)."""
    return frame.obj_id == target_id


def target_in_frame(frame: Frame, target_id: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(visible bool, centroid float32[2] = (row, col) in [0, 1], 0.5 when not visible)."""
    mask = target_mask(frame, target_id).astype(jnp.float32)
    h, w = mask.shape
    n = mask.sum()
    rows = (jnp.arange(h, dtype=jnp.float32) + 0.5) / h
    cols = (jnp.arange(w, dtype=jnp.float32) + 0.5) / w
    c = jnp.stack([(mask.sum(1) * rows).sum(), (mask.sum(0) * cols).sum()]) / jnp.maximum(n, 1.0)
    return n > 0, jnp.where(n > 0, c, 0.5)


_DISTANCE_SCALE = 32.0   # blocks: the normalised distance is 1 at 32 blocks


def privileged_observation(static: WorldStatic, world, task, visible: jax.Array, max_steps: jax.Array) -> jax.Array:
    """float32[7], what the critic may know and the policy may not (asymmetric actor-critic):

        [ d / 32,  sin β, cos β,  sin ε, cos ε,  visible,  1 − t / T ]

    d: distance from the eye to the target's centre (blocks); β: the target's bearing, its yaw
    seen from the eye minus the agent's yaw (0 = straight ahead, the camera convention of
    `goal_camera.look_at`); ε: its elevation minus the agent's pitch; visible: target pixels in the
    frame; t / T: the episode's time over its limit.
    """
    cam = agent_camera(world)
    centre = target_centre(static, world, task)
    yaw, pitch = look_at(cam.pos, centre)
    bearing, elevation = yaw - cam.yaw, pitch - cam.pitch
    d = jnp.linalg.norm(centre - cam.pos)
    return jnp.stack([d / _DISTANCE_SCALE, jnp.sin(bearing), jnp.cos(bearing), jnp.sin(elevation), jnp.cos(elevation),
                      visible.astype(jnp.float32),
                      1.0 - world.time.astype(jnp.float32) / max_steps.astype(jnp.float32)]).astype(jnp.float32)


class CrossViewTaskEnv(JaxCraftEnv):
    """Gymnax-style env of ROCKET-3 cross-view tasks in the JaxCraft world."""

    def __init__(self, static: WorldStatic, task_static: TaskStatic, default: TaskEnvParams):
        super().__init__(static)
        self.task_static = task_static
        self._default = default
        self.schema = ObservationSchema((static.height, static.width), F.FAMILIES, task_static.privileged_obs)

    def __hash__(self):
        return hash((type(self), self.static, self.task_static))

    def __eq__(self, other):
        return type(self) is type(other) and (self.static, self.task_static) == (other.static, other.task_static)

    @property
    def default_params(self) -> TaskEnvParams:
        return self._default

    @property
    def name(self) -> str:
        return "JaxCraft-CrossView-v0"

    # -- observation -------------------------------------------------------------------
    def _obs(self, state: TaskState, frame: Frame, params: TaskEnvParams) -> dict:
        obs = {X.RGB: frame.rgb, X.GOAL_RGB: state.task.goal_rgb, X.GOAL_MASK: state.task.goal_mask,
               X.FAMILY: state.task.family}
        if self.schema.privileged:
            visible = jnp.any(target_mask(frame, state.task.target_id))
            obs[X.PRIVILEGED] = privileged_observation(self.static, state.world, state.task, visible,
                                                       params.max_steps_in_episode)
        return obs

    def observe(self, state: TaskState, params: TaskEnvParams) -> dict:
        return self._obs(state, render(self.static, state.world, agent_camera(state.world)), params)

    # -- reset / step ------------------------------------------------------------------
    def reset_to_task(self, task_id: jax.Array, params: TaskEnvParams | None = None):
        """(obs, state) of the task with this id (deterministic)."""
        obs, state, _ = self.reset_to_task_frame(task_id, params)
        return obs, state

    def reset_to_task_frame(self, task_id: jax.Array, params: TaskEnvParams | None = None):
        """(obs, state, frame): `reset_to_task` and the first agent frame's RGB, depth and object ids
        (`world.render.Frame`) — for callers that need the renderer's truth at the reset (the target's
        visibility, centroid and mask) without a second ray caster in their program."""
        params = self.default_params if params is None else params
        state, frame = synthesise(self.static, self.task_static, params, task_id)
        return self._obs(state, frame, params), state, frame

    def reset_env(self, key: jax.Array, params: TaskEnvParams):
        return self.reset_to_task(sample_task_id(key, params), params)

    def step_env(self, key: jax.Array, state: TaskState, action, params: TaskEnvParams):
        task, tp = state.task, params.task
        world, ev = self.advance(key, state.world, action, params.world)
        cam = agent_camera(world)
        frame = render(self.static, world, cam)
        success = F.success(task.family, ev, task.target_id, task.target_voxel, task.target_mob)
        visible, centroid = target_in_frame(frame, task.target_id)
        dist = jnp.linalg.norm(target_centre(self.static, world, task) - cam.pos)
        reward = (jnp.where(success, tp.success_reward, 0.0) + tp.shaping_distance * (task.prev_distance - dist)
                  + tp.shaping_visible * visible.astype(jnp.float32))
        state = TaskState(world=world, task=task.replace(prev_distance=dist), success=state.success | success)
        terminated = success
        truncated = (world.time >= params.max_steps_in_episode) & ~success
        info = dict(ev._asdict(), success=success, family=task.family, distance=task.distance,
                    task_id=task.task_id, target_visible=visible, target_centroid=centroid,
                    target_mask=target_mask(frame, task.target_id))
        return self._obs(state, frame, params), state, reward.astype(jnp.float32), terminated, truncated, info

    # -- spaces ------------------------------------------------------------------------
    def observation_space(self, params: TaskEnvParams | None = None) -> dict:
        return schema_spaces(self.schema)
