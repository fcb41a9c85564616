"""Save rollouts for people: PNG frames, GIF, MP4; optional goal view + mask panel.

Pure NumPy/Pillow/imageio (no JAX): frames are uint8[T, H, W, 3] arrays.
"""
from __future__ import annotations

import os
from typing import Sequence

import numpy as np
from PIL import Image

MASK_TINT = np.asarray([255, 40, 40], np.float32)


def _upscale(img: np.ndarray, scale: int) -> np.ndarray:
    return np.asarray(Image.fromarray(img).resize((img.shape[1] * scale, img.shape[0] * scale), Image.NEAREST))


def overlay_mask(img: np.ndarray, mask: np.ndarray, alpha: float = 0.55) -> np.ndarray:
    """Tint the masked pixels of an RGB image red (the goal-mask panel)."""
    img = np.asarray(img, np.float32)
    m = np.asarray(mask, bool)[..., None]
    return np.where(m, img * (1 - alpha) + MASK_TINT * alpha, img).astype(np.uint8)


def compose(agent: np.ndarray, goal: np.ndarray | None = None, mask: np.ndarray | None = None,
            scale: int = 4) -> np.ndarray:
    """One display frame: agent view | goal view | goal view with the mask (those given)."""
    agent = np.asarray(agent, np.uint8)
    if agent.ndim != 3 or agent.shape[-1] != 3:
        raise ValueError(f"agent frame must be uint8[H, W, 3], got shape {agent.shape}")
    panels = [agent]
    if goal is not None:
        goal = np.asarray(goal, np.uint8)
        if goal.shape != agent.shape:
            goal = np.asarray(Image.fromarray(goal).resize((agent.shape[1], agent.shape[0]), Image.NEAREST))
        panels.append(goal)
        if mask is not None:
            m = np.asarray(Image.fromarray(np.asarray(mask, np.uint8) * 255).resize(
                (agent.shape[1], agent.shape[0]), Image.NEAREST)) > 0
            panels.append(overlay_mask(goal, m))
    sep = np.full((agent.shape[0], 1, 3), 255, np.uint8)
    row = panels[0]
    for p in panels[1:]:
        row = np.concatenate([row, sep, p], 1)
    return _upscale(row, scale)


def save_rollout(frames: np.ndarray, out_dir: str, goal: np.ndarray | None = None, mask: np.ndarray | None = None,
                 fps: int = 20, scale: int = 4, png_every: int = 0, gif: bool = True, mp4: bool = False,
                 name: str = "rollout") -> dict[str, str | list[str]]:
    """Write a rollout (uint8[T, H, W, 3]) as GIF/MP4 and optionally every `png_every`-th PNG.

    Returns the written paths: {"gif": ..., "mp4": ..., "png": [...]}.
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be uint8[T, H, W, 3], got shape {frames.shape}")
    os.makedirs(out_dir, exist_ok=True)
    shown = [compose(f, goal, mask, scale) for f in frames]
    out: dict = {"png": []}
    if png_every:
        for t in range(0, len(shown), png_every):
            p = os.path.join(out_dir, f"{name}_{t:04d}.png")
            Image.fromarray(shown[t]).save(p)
            out["png"].append(p)
    if gif:
        import imageio.v2 as imageio
        p = os.path.join(out_dir, f"{name}.gif")
        imageio.mimsave(p, shown, duration=1.0 / fps, loop=0)
        out["gif"] = p
    if mp4:
        try:
            import imageio.v2 as imageio
            p = os.path.join(out_dir, f"{name}.mp4")
            imageio.mimsave(p, shown, fps=fps, macro_block_size=1)
            out["mp4"] = p
        except Exception as e:  # imageio-ffmpeg is optional
            raise RuntimeError(f"MP4 needs the imageio-ffmpeg package ({e}); use the GIF instead") from e
    return out


def save_png(img: np.ndarray, path: str, scale: int = 1) -> str:
    """Save one uint8[H, W, 3] image (nearest-neighbour upscaled)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    Image.fromarray(_upscale(np.asarray(img, np.uint8), scale)).save(path)
    return path


__all__: Sequence[str] = ("compose", "overlay_mask", "save_rollout", "save_png")
