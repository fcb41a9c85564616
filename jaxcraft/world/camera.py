"""Pinhole camera model shared by the renderer and projection (ROCKET-3's goal-view maths).

A camera is an eye position plus yaw/pitch (Minecraft-like: yaw 0 looks along +z, yaw grows
turning right, towards -x; pitch > 0 looks up). Pixel (row i, col j) of an H×W image looks
along  forward + n_x·tan(f_x/2)·right + n_y·tan(f_y/2)·up  with n_x = 2(j+½)/W − 1,
n_y = 1 − 2(i+½)/H and f_x = 2·atan(tan(f_y/2)·W/H). Ray directions are NOT normalised:
their forward component is 1, so the ray parameter t is the planar (z-)depth.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import struct


@struct.dataclass
class Camera:
    pos: jax.Array    # float32[3], eye position
    yaw: jax.Array    # float32, radians
    pitch: jax.Array  # float32, radians


def make_camera(pos, yaw, pitch) -> Camera:
    return Camera(jnp.asarray(pos, jnp.float32), jnp.asarray(yaw, jnp.float32), jnp.asarray(pitch, jnp.float32))


def basis(yaw: jax.Array, pitch: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(right, up, forward) unit vectors, each float32[3]."""
    cy, sy, cp, sp = jnp.cos(yaw), jnp.sin(yaw), jnp.cos(pitch), jnp.sin(pitch)
    forward = jnp.stack([-sy * cp, sp, cy * cp])
    right = jnp.stack([-cy, jnp.zeros_like(cy), -sy])
    up = jnp.cross(right, forward)
    return right, up, forward


def tan_half_fov(fov_y_deg: float, height: int, width: int) -> tuple[float, float]:
    """(tan(f_x/2), tan(f_y/2)) for a vertical FOV in degrees and an H×W image."""
    ty = math.tan(math.radians(fov_y_deg) / 2.0)
    return ty * width / height, ty


def ray_directions(cam: Camera, height: int, width: int, fov_y_deg: float) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Per-pixel ray directions as three float32[H*W] arrays (x, y, z), row-major pixels."""
    tx, ty = tan_half_fov(fov_y_deg, height, width)
    right, up, forward = basis(cam.yaw, cam.pitch)
    nx = (2.0 * (jnp.arange(width, dtype=jnp.float32) + 0.5) / width - 1.0) * tx
    ny = (1.0 - 2.0 * (jnp.arange(height, dtype=jnp.float32) + 0.5) / height) * ty
    nx = jnp.tile(nx, height)
    ny = jnp.repeat(ny, width)
    return tuple(forward[a] + nx * right[a] + ny * up[a] for a in range(3))


def project(cam: Camera, points: jax.Array, height: int, width: int, fov_y_deg: float):
    """Project world points [..., 3] to continuous pixel coords.

    Returns (u, v, depth): u is the column coordinate in [0, W) for visible points (pixel
    column floor(u)), v the row coordinate in [0, H), depth the planar depth C_z; points
    with depth <= 0 are behind the camera.
    """
    tx, ty = tan_half_fov(fov_y_deg, height, width)
    right, up, forward = basis(cam.yaw, cam.pitch)
    rel = jnp.asarray(points, jnp.float32) - cam.pos
    cx, cy, cz = rel @ right, rel @ up, rel @ forward
    safe = jnp.where(jnp.abs(cz) < 1e-9, 1e-9, cz)
    u = (cx / (safe * tx) + 1.0) / 2.0 * width
    v = (1.0 - cy / (safe * ty)) / 2.0 * height
    return u, v, cz
