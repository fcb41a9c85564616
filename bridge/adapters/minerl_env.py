"""MineRL 1.0 / MineStudio-style Minecraft (optional extra `jaxcraft[minerl]`).

Not runnable on the jaxcraft CI machines (MineRL builds Minecraft with Gradle and needs
JDK 8); the translation below is tested against fake MineRL-shaped dicts instead.

Documented MineRL 1.0 spaces (HumanSurvival, the VPT/BASALT environments):
  observation  {"pov": Box(0, 255, (360, 640, 3), uint8), ...}
  action       {"ESC", "attack", "back", "drop", "forward", "hotbar.1".."hotbar.9",
                "inventory", "jump", "left", "pickItem", "right", "sneak", "sprint",
                "swapHands", "use"}: Discrete(2) each, and "camera": Box(-180, 180, (2,))
                (pitch, yaw in degrees).

Bridge fields:
  observation  "pov": uint8 [H, W, 3] (360×640 unless `pov_size` resizes it)
  action       "buttons": int8 [20] in {0, 1}, in the VPT order `BUTTONS`
               "camera":  float32 [2] in [-180, 180] degrees (pitch, yaw)
ESC, pickItem and swapHands are always sent as 0 (VPT never presses them; ESC would end
BASALT episodes). A discrete policy drives it through `MineRLActionMap`:
MultiDiscrete([2]*20 + [11, 11]) → buttons + camera pitch/yaw in 11 bins over ±10°. MineStudio's `MinecraftSim` (gymnasium API, obs key "image", action
space "env") plugs in with `pov_key="image"`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from bridge.spec import ArraySpec, EnvSpec

# Buttons.ALL of OpenAI VPT (lib/actions.py): the agent's button order.
BUTTONS: tuple[str, ...] = (
    "attack", "back", "forward", "jump", "left", "right", "sneak", "sprint", "use",
    "drop", "inventory", *(f"hotbar.{i}" for i in range(1, 10)))
# MineRL env keys the agent never presses.
UNUSED_KEYS: tuple[str, ...] = ("ESC", "pickItem", "swapHands")
MINERL_POV_SHAPE = (360, 640, 3)
CAMERA_LIMIT = 180.0
CAMERA_BINS = 11          # discrete policies: pitch/yaw each in CAMERA_BINS bins
CAMERA_MAX_DEGREES = 10.0  # the bins span [-10°, 10°] per step (VPT's camera range)


@dataclass(frozen=True)
class MineRLActionMap:
    """MultiDiscrete([2]*20 + [bins, bins]) → {"buttons": int8[20], "camera": float32[2]}.

    Batched: `action` is [B, num_buttons + 2]; camera bin j maps linearly to
    (j - c) / c * max_degrees with c = (bins - 1) / 2, so the middle bin is no motion.
    """

    num_buttons: int = len(BUTTONS)
    bins: int = CAMERA_BINS
    max_degrees: float = CAMERA_MAX_DEGREES

    @property
    def nvec(self) -> tuple[int, ...]:
        """The policy's MultiDiscrete sizes."""
        return (2,) * self.num_buttons + (self.bins, self.bins)

    def __call__(self, action: np.ndarray) -> dict[str, np.ndarray]:
        action = np.asarray(action)
        buttons = action[:, : self.num_buttons].astype(np.int8)
        centre = (self.bins - 1) / 2
        camera = (action[:, self.num_buttons:].astype(np.float32) - centre) / centre * self.max_degrees
        return {"buttons": buttons, "camera": camera.astype(np.float32)}


def minerl_spec(pov_size: tuple[int, int] | None = None) -> EnvSpec:
    h, w = pov_size or MINERL_POV_SHAPE[:2]
    return EnvSpec(
        observation={"pov": ArraySpec((h, w, 3), np.uint8, 0, 255)},
        action={"buttons": ArraySpec((len(BUTTONS),), np.int8, 0, 1),
                "camera": ArraySpec((2,), np.float32, -CAMERA_LIMIT, CAMERA_LIMIT)},
        name="minerl")


def to_minerl_action(action: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Bridge action fields -> a MineRL 1.0 action dict."""
    buttons = np.asarray(action["buttons"]).reshape(-1)
    if buttons.shape != (len(BUTTONS),):
        raise ValueError(f"buttons must have {len(BUTTONS)} entries, got shape {buttons.shape}")
    out: dict[str, Any] = {name: int(b != 0) for name, b in zip(BUTTONS, buttons)}
    for k in UNUSED_KEYS:
        out[k] = 0
    camera = np.asarray(action["camera"], np.float32).reshape(-1)
    if camera.shape != (2,):
        raise ValueError(f"camera must have 2 entries (pitch, yaw), got shape {camera.shape}")
    out["camera"] = np.clip(camera, -CAMERA_LIMIT, CAMERA_LIMIT)
    return out


def from_minerl_action(action: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """A MineRL 1.0 action dict (e.g. from a recorded dataset) -> bridge action fields."""
    buttons = np.array([int(np.asarray(action.get(k, 0)).reshape(-1)[0]) for k in BUTTONS], np.int8)
    return {"buttons": buttons, "camera": np.asarray(action["camera"], np.float32).reshape(2)}


def from_minerl_obs(obs: Mapping[str, Any], pov_size: tuple[int, int] | None = None,
                    pov_key: str = "pov") -> dict[str, np.ndarray]:
    """A MineRL observation dict -> bridge observation fields (validates the frame)."""
    if pov_key not in obs:
        raise KeyError(f"MineRL observation has no {pov_key!r} (keys: {sorted(obs)})")
    pov = np.asarray(obs[pov_key])
    if pov.ndim != 3 or pov.shape[2] != 3 or pov.dtype != np.uint8:
        raise ValueError(f"{pov_key!r} must be uint8 [H, W, 3], got {pov.dtype} {pov.shape}")
    if pov_size is not None and pov.shape[:2] != tuple(pov_size):
        from PIL import Image  # resize only when asked (bilinear, like MineStudio's cv2 path)
        pov = np.asarray(Image.fromarray(pov).resize((pov_size[1], pov_size[0]), Image.BILINEAR))
    return {"pov": pov}


class MineRLSimulator:
    """A MineRL-style env (old gym API by default, gymnasium API if `gymnasium_api`)."""

    def __init__(self, env: Any, pov_size: tuple[int, int] | None = None,
                 pov_key: str = "pov", gymnasium_api: bool = False):
        self.env = env
        self.pov_size = pov_size
        self.pov_key = pov_key
        self.gymnasium_api = gymnasium_api
        self.spec = minerl_spec(pov_size)

    def reset(self, seed: int | None):
        if self.gymnasium_api:
            obs, _ = self.env.reset(seed=seed)
        else:
            if seed is not None and hasattr(self.env, "seed"):
                self.env.seed(seed)
            obs = self.env.reset()
        return from_minerl_obs(obs, self.pov_size, self.pov_key)

    def step(self, action):
        act = to_minerl_action(action)
        if self.gymnasium_api:
            obs, reward, terminated, truncated, _ = self.env.step(act)
        else:
            obs, reward, done, info = self.env.step(act)
            truncated = bool(done and info.get("TimeLimit.truncated", False))
            terminated = bool(done and not truncated)
        return from_minerl_obs(obs, self.pov_size, self.pov_key), float(reward), terminated, truncated

    def close(self) -> None:
        self.env.close()


@dataclass(frozen=True)
class MineRLFactory:
    """`gym.make(env_id)` of MineRL (imported in the worker), or a custom `make_env()`."""

    env_id: str = "MineRLBasaltFindCave-v0"
    pov_size: tuple[int, int] | None = None
    make_env: Callable[[], Any] | None = None
    pov_key: str = "pov"
    gymnasium_api: bool = False

    def __call__(self, env_index: int) -> MineRLSimulator:
        if self.make_env is not None:
            env = self.make_env()
        else:
            try:
                import gym  # MineRL 1.0 registers with the old `gym`
                import minerl  # noqa: F401
            except ImportError as exc:
                raise ImportError("MineRL is not installed: pip install 'jaxcraft[minerl]' "
                                  "(needs JDK 8; see docs/bridge.md)") from exc
            env = gym.make(self.env_id)
        return MineRLSimulator(env, self.pov_size, self.pov_key, self.gymnasium_api)
