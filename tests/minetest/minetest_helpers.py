"""Shared by the Minetest tests: the skip reason, a projection oracle, process scans."""
from __future__ import annotations

import math
import os

import numpy as np
import pytest

from bridge.adapters.minetest.process import missing_reason

REASON = missing_reason()
needs_minetest = pytest.mark.skipif(REASON is not None, reason=f"Minetest cannot run here: {REASON}")


def projected_node_mask(eye, yaw: float, pitch: float, node, size: int, fov_y_deg: float) -> np.ndarray:
    """bool[size, size]: pixels whose centres fall inside the convex hull of the projected unit
    cube `node` (Minetest camera: yaw 0 looks along +z, grows left; pitch > 0 looks down;
    left-handed axes, so right = (cos yaw, 0, sin yaw) and up = forward × right)."""
    from matplotlib.path import Path
    from scipy.spatial import ConvexHull
    f = np.array([-math.sin(yaw) * math.cos(pitch), -math.sin(pitch), math.cos(yaw) * math.cos(pitch)])
    r = np.array([math.cos(yaw), 0.0, math.sin(yaw)])
    u = np.cross(f, r)
    corners = np.array([[node[0] + dx, node[1] + dy, node[2] + dz] for dx in (-.5, .5) for dy in (-.5, .5)
                        for dz in (-.5, .5)]) - np.asarray(eye)
    t = math.tan(math.radians(fov_y_deg) / 2)
    z = corners @ f
    pts = np.stack([((corners @ r) / z / t + 1) / 2 * size, (1 - (corners @ u) / z / t) / 2 * size], 1)
    hull = pts[ConvexHull(pts).vertices]
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    return Path(hull).contains_points(np.stack([xx.ravel(), yy.ravel()], 1)).reshape(size, size)


def descendants(pid: int) -> set[int]:
    """All live descendant pids of `pid` (from /proc)."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d))
    out, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.add(c)
            todo.append(c)
    return out


def command_of(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
