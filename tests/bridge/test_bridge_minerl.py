"""MineRL translation, checked against fake envs shaped like the documented MineRL 1.0 spaces."""
from dataclasses import dataclass

import numpy as np
import pytest

from bridge import Pool, PoolConfig
from bridge.adapters.minerl_env import (BUTTONS, MINERL_POV_SHAPE, UNUSED_KEYS, MineRLFactory,
                                        from_minerl_action, from_minerl_obs, minerl_spec,
                                        to_minerl_action)

# The MineRL 1.0 HumanSurvival action keys, as listed in the MineRL docs.
MINERL_KEYS = {"ESC", "attack", "back", "camera", "drop", "forward", "inventory", "jump",
               "left", "pickItem", "right", "sneak", "sprint", "swapHands", "use",
               *(f"hotbar.{i}" for i in range(1, 10))}


class FakeMineRLEnv:
    """Old gym API; validates actions like MineRL would and encodes them in the frame."""

    def __init__(self):
        self.t = 0
        self.seeded = None

    def seed(self, s):
        self.seeded = s

    def _obs(self, code):
        pov = np.zeros(MINERL_POV_SHAPE, np.uint8)
        pov[0, : len(code)] = np.asarray(code, np.uint8)[:, None]
        return {"pov": pov, "inventory": {"dirt": 0}}

    def reset(self):
        self.t = 0
        return self._obs([(self.seeded or 0) % 256])

    def step(self, action):
        assert set(action) == MINERL_KEYS, set(action) ^ MINERL_KEYS
        assert all(action[k] in (0, 1) for k in MINERL_KEYS - {"camera"})
        assert all(action[k] == 0 for k in UNUSED_KEYS)
        cam = np.asarray(action["camera"])
        assert cam.shape == (2,) and np.all(np.abs(cam) <= 180)
        self.t += 1
        code = [action[b] for b in BUTTONS] + [int(cam[0]) + 128, int(cam[1]) + 128]
        return self._obs(code), float(action["attack"]), self.t >= 3, {"TimeLimit.truncated": self.t >= 3}

    def close(self):
        pass


@dataclass(frozen=True)
class MakeFake:
    def __call__(self):
        return FakeMineRLEnv()


def test_action_translation_round_trips_and_fills_every_minerl_key():
    buttons = np.zeros(len(BUTTONS), np.int8)
    buttons[[BUTTONS.index("forward"), BUTTONS.index("hotbar.3")]] = 1
    act = to_minerl_action({"buttons": buttons, "camera": np.array([-200.0, 12.5])})
    assert set(act) == MINERL_KEYS
    assert act["forward"] == 1 and act["hotbar.3"] == 1 and act["attack"] == 0 and act["ESC"] == 0
    np.testing.assert_array_equal(act["camera"], [-180.0, 12.5])  # clipped to the documented range
    back = from_minerl_action(act)
    np.testing.assert_array_equal(back["buttons"], buttons)
    with pytest.raises(ValueError, match="20 entries"):
        to_minerl_action({"buttons": np.zeros(3), "camera": np.zeros(2)})


def test_observation_translation_checks_and_resizes_pov():
    pov = np.random.default_rng(0).integers(0, 255, MINERL_POV_SHAPE, dtype=np.uint8)
    assert from_minerl_obs({"pov": pov})["pov"] is pov
    small = from_minerl_obs({"pov": pov}, pov_size=(90, 160))["pov"]
    assert small.shape == (90, 160, 3) and small.dtype == np.uint8
    assert abs(float(small.mean()) - float(pov.mean())) < 2
    with pytest.raises(KeyError, match="'pov'"):
        from_minerl_obs({"image": pov})
    with pytest.raises(ValueError, match="uint8"):
        from_minerl_obs({"pov": pov.astype(np.float32)})
    spec = minerl_spec()
    assert spec.observation["pov"].shape == MINERL_POV_SHAPE
    assert spec.action["buttons"].shape == (20,) and spec.action["camera"].shape == (2,)


def test_minerl_style_env_runs_in_the_pool_at_full_resolution():
    factory = MineRLFactory(make_env=MakeFake())
    with Pool(factory, PoolConfig(num_envs=2, num_workers=1, seed=7), spec=minerl_spec()) as pool:
        b = pool.reset()
        assert b.obs["pov"].shape == (2, *MINERL_POV_SHAPE)
        assert b.obs["pov"][:, 0, 0, 0].tolist() == [7, 8]  # reset seeds reached the env
        buttons = np.zeros((2, 20), np.int8)
        buttons[1, 0] = 1  # env 1 attacks
        camera = np.array([[5.0, -7.0], [0.0, 90.0]], np.float32)
        for t in range(3):
            b = pool.step({"buttons": buttons, "camera": camera})
        code = b.final_obs["pov"][:, 0, :22, 0].astype(int)
        np.testing.assert_array_equal(code[:, :20], buttons)
        np.testing.assert_array_equal(code[:, 20:] - 128, camera.astype(int))
        assert b.truncated.all() and not b.terminated.any()
        assert b.episode_return.tolist() == [0.0, 3.0]
        with pytest.raises(ValueError, match="env 0: action field 'camera'"):
            pool.step({"buttons": buttons, "camera": camera * 100})


def test_action_map_turns_discrete_policy_actions_into_buttons_and_degrees():
    from bridge.adapters.minerl_env import MineRLActionMap
    amap = MineRLActionMap()
    assert amap.nvec == (2,) * 20 + (11, 11)
    act = np.zeros((3, 22), np.int64)
    act[0, [0, 19]] = 1                  # attack and hotbar.9
    act[:, 20] = [0, 5, 10]              # pitch bins: -10°, 0°, +10° (centre bin 5)
    act[:, 21] = [7, 3, 6]               # yaw: (7-5)/5*10 = 4°, -4°, 2°
    out = amap(act)
    assert out["buttons"].dtype == np.int8 and out["buttons"].shape == (3, 20)
    assert out["buttons"][0].tolist() == [1] + [0] * 18 + [1] and not out["buttons"][1:].any()
    assert out["camera"].dtype == np.float32
    np.testing.assert_allclose(out["camera"], [[-10, 4], [0, -4], [10, 2]], rtol=0, atol=1e-6)
    # Bins and range are parameters: 3 bins over ±15° -> -15, 0, 15.
    small = MineRLActionMap(num_buttons=1, bins=3, max_degrees=15.0)
    np.testing.assert_allclose(small(np.array([[1, 0, 2]]))["camera"], [[-15, 15]])
    # The mapped action drives the MineRL translation end to end (valid for to_minerl_action).
    row = {k: v[0] for k, v in out.items()}
    assert to_minerl_action(row)["attack"] == 1
