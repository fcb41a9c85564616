"""Smoke test: `jaxcraft render`'s Python function writes a GIF and PNGs with the goal panels."""
import argparse
import os

import numpy as np
import pytest
from PIL import Image

from jaxcraft.world import WorldStatic
from jaxcraft.cli.render import add_arguments, render_rollout
from jaxcraft.world.video import compose, overlay_mask


def test_render_rollout_writes_gif_and_png(tmp_path):
    st = WorldStatic(size_x=16, size_y=16, size_z=16, height=16, width=16, max_mobs=1, num_interactables=1,
                     render_steps=8)
    out = render_rollout(seed=1, steps=3, out_dir=str(tmp_path), policy="explore", png_every=2, scale=2, static=st)
    assert os.path.getsize(out["gif"]) > 0 and len(out["png"]) == 2
    img = np.asarray(Image.open(out["png"][0]))
    assert img.shape == (32, 3 * 32 + 2 * 2, 3)                     # agent | goal | goal + mask, 1-px separators ×2


def test_compose_and_mask_overlay_and_errors():
    a = np.zeros((4, 4, 3), np.uint8)
    m = np.zeros((4, 4), bool)
    m[1, 2] = True
    o = overlay_mask(np.full((4, 4, 3), 100, np.uint8), m)
    assert (o[1, 2] != 100).any() and (o[0, 0] == 100).all()
    assert compose(a, None, None, scale=1).shape == (4, 4, 3)
    with pytest.raises(ValueError, match="agent frame"):
        compose(np.zeros((4, 4)), None)
    p = argparse.ArgumentParser()
    add_arguments(p)
    assert p.parse_args(["--steps", "5"]).steps == 5
