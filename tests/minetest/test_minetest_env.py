"""One real Minetest instance: contract, action mapping, exact masks, success events."""
import math

import numpy as np
import pytest

from minetest_helpers import needs_minetest, projected_node_mask

pytestmark = [needs_minetest, pytest.mark.slow]


@pytest.fixture(scope="module")
def sim():
    from bridge.adapters.minetest_env import MinetestConfig, MinetestSimulator
    s = MinetestSimulator(MinetestConfig(frame_size=64, families=("approach", "break"), max_steps=50), 0)
    yield s
    s.close()


def _act(**kw):
    from bridge.adapters.minetest_env import BUTTONS
    a = np.array([0] * 9 + [5, 5], np.int32)
    for k, v in kw.items():
        if k == "pitch":
            a[9] = v
        elif k == "yaw":
            a[10] = v
        else:
            a[BUTTONS.index(k)] = v
    return {"action": a}


def test_reset_fields_and_mask_matches_the_projected_node(sim):
    from bridge.adapters.minetest_env import FOV_Y_DEG
    for seed in (11, 12):
        obs = sim.reset(seed)
        for k, f in sim.spec.observation.items():
            assert np.asarray(obs[k]).shape == f.shape and np.asarray(obs[k]).dtype == f.dtype, k
        g = sim.goal_state
        expect = projected_node_mask(g.eye, g.yaw, g.pitch, sim.scene.target, 64, FOV_Y_DEG)
        mask = obs["goal_mask"].astype(bool)
        iou = (mask & expect).sum() / (mask | expect).sum()
        assert expect.sum() > 30 and iou > 0.85, (seed, iou, mask.sum(), expect.sum())
        # A mask pixel is never more than one pixel outside the projected silhouette.
        from scipy.ndimage import binary_dilation
        assert not (mask & ~binary_dilation(expect)).any()


def test_buttons_and_camera_bins_move_the_player_as_in_jaxcraft(sim):
    from bridge.adapters.minetest_env import camera_bin_degrees
    sim.reset(13)
    s0 = sim.state
    sim.step(_act(yaw=10))                  # +10° yaw: turn right = Minetest yaw decreases
    for _ in range(4):
        sim.step(_act())
    d_yaw = math.degrees((sim.state.yaw - s0.yaw + math.pi) % (2 * math.pi) - math.pi)
    assert abs(d_yaw + camera_bin_degrees()[10]) < 1.0, d_yaw
    p0 = sim.state
    sim.step(_act(pitch=0))                 # −10° pitch: look down = Minetest pitch increases
    for _ in range(4):
        sim.step(_act())
    assert abs(math.degrees(sim.state.pitch - p0.pitch) - 10.0) < 1.0
    sim.step(_act(pitch=10))
    start = np.array(sim.state.eye)
    fwd = np.array(sim.state.look_dir())
    for _ in range(15):
        sim.step(_act(forward=1))
    for _ in range(4):
        sim.step(_act())
    moved = np.array(sim.state.eye) - start
    horiz = np.array([fwd[0], 0, fwd[2]]) / np.linalg.norm([fwd[0], fwd[2]])
    assert moved @ horiz > 1.5 and abs(moved @ np.array([horiz[2], 0, -horiz[0]])) < 0.3, moved


def test_success_events_end_the_episode(sim):
    from bridge.adapters.minetest import scene as S
    from bridge.adapters.minetest_env import INFO
    for family in ("approach", "break"):
        obs = sim.reset(None)
        while sim.scene.family != family:
            obs = sim.reset(None)
        x, y, z = sim.scene.target
        eye = np.array([x, y - 0.5 + S.EYE_HEIGHT, z - 2.0])     # stand 2 blocks south, look at it
        yaw, pitch = S.look_at(eye, np.array(sim.scene.target, float))
        sim.place_player(S.Pose(float(x), y - 0.5, float(z - 2.0), yaw, pitch))
        done, steps = False, 0
        while not done and steps < 45:   # break: hold attack for the dig time (0.7 s)
            obs, reward, terminated, truncated = sim.step(_act(attack=int(family == "break")))
            done, steps = terminated or truncated, steps + 1
        assert terminated and reward == 1.0 and obs["info"][INFO["success"]] == 1.0, (family, steps)
        assert steps == 1 if family == "approach" else 10 <= steps <= 40
