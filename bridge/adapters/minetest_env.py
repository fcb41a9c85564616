"""Minetest 5.6 (a real third-party voxel engine) as a bridge `Simulator` of cross-view tasks.

    from bridge import Pool, PoolConfig
    from bridge.adapters.minetest_env import MinetestConfig, MinetestFactory
    factory = MinetestFactory(MinetestConfig(frame_size=64, families=("approach",), distances=(20,)))
    with Pool(factory, PoolConfig(num_envs=2, num_workers=2), spec=factory.spec()) as pool: ...

Each simulator starts and owns one Xvfb + Minetest client/server pair (`minetest/process.py`:
killed with the worker, even by SIGKILL) and a Lua world mod that reports the player's state
every server step and builds the task scenes (`minetest/mod/jaxcraft_bridge/init.lua`).

Fields (the cross-view observation schema `bridge.crossview.ObservationSchema` of the `jaxcraft:tasks`
observation, plus privileged diagnostics):
  observation  rgb uint8[S, S, 3] first-person frame; goal_rgb uint8[S, S, 3] the target from
               the goal camera; goal_mask uint8[S, S] its exact mask; family int32 (its index in
               `bridge.crossview.FAMILIES`);
               info float64[len(INFO_FIELDS)] task id, target and eye positions, look, flags
               (privileged: for teachers and evaluation only, never for the policy).
  action       {"action": int32[11]}: jaxcraft's factored action (jaxcraft/world/actions.py):
               9 buttons (forward, back, left, right, jump, sneak, sprint, attack, use) then the
               camera pitch and yaw bins (mu-law, 11 bins, ±10°, bin 5 = no move).
Mapping: forward/back/left/right/jump/sneak → keys W/S/A/D/space/shift, sprint → E (Minetest's
"special"; it does nothing without the fast privilege), attack/use → mouse buttons 1/3 (held
while pressed, so digging takes the node's dig time); the camera bins' degrees become pointer
pixels (`DEG_PER_PIXEL`, the fractional remainder is carried to the next step, so the total
turn is exact to one pixel), + yaw turns right and + pitch looks up as in jaxcraft.

Step semantics (lock-step as far as a real-time engine allows): apply the buttons and the
pointer move, then wait until (a) the mod has reported at least one new server step and (b)
`step_s` seconds have passed since the input, then wait half a client frame and read the screen.
The player's movement is simulated by the client in real time while the keys are held, so a
step is `step_s` of game time plus the jitter documented in docs/minetest.md. Success comes
from the mod's events: approach = the crosshair's node within `reach` is the target; break =
the target was dug; interact = it was right-clicked. Success terminates (reward
`success_reward`); `max_steps` truncates, and so does walking off the scene's edge (feet below
`FALL_Y`: the scene floats in an otherwise empty world).

Reset: build the task's scene (`minetest/scene.py`), put the frozen player at the goal camera,
capture the goal image, swap the target for a flat magenta node, capture again and take the
changed pixels as the mask, swap back, put the player at the spawn. A crashed engine or X
server raises `MinetestCrashed`; the bridge worker then replaces the simulator and reports the
episode truncated (`on_simulator_error="restart"`).
"""
from __future__ import annotations

import dataclasses
import math
import time
from typing import Mapping

import numpy as np

from bridge import crossview as X
# jaxcraft's buttons and camera-bin table, one definition (re-exported for the teacher and tests)
from bridge.crossview import BUTTONS, CAMERA_BINS, camera_bin_degrees  # noqa: F401
from bridge.adapters.minetest import scene as S
from bridge.adapters.minetest.framebuffer import FrameBuffer
from bridge.adapters.minetest.process import MinetestLaunch, MinetestProcess
from bridge.adapters.minetest.protocol import ModLink, ModState
from bridge.adapters.minetest.xinput import XInput
from bridge.spec import SINGLE_ACTION_FIELD, ArraySpec, EnvSpec, InvalidActionError

NVEC = np.asarray(X.NVEC, np.int64)   # jaxcraft's factored action (bridge.crossview)
# Measured: Minetest 5.6 turns 0.338° per pixel at mouse_sensitivity 0.35 and fov 56 (it scales
# the pointer by the FOV): 0.966 deg/px per unit of sensitivity.
DEG_PER_PIXEL_PER_SENSITIVITY = 0.966
INFO_FIELDS = ("task_id", "family", "distance", "seed", "success", "target_x", "target_y", "target_z",
               "eye_x", "eye_y", "eye_z", "yaw", "pitch", "pointed", "los", "t")
INFO = {k: i for i, k in enumerate(INFO_FIELDS)}
# The `fov` setting 56 gives a 71° vertical FOV (fitted: the projected target node matches the
# swap-and-diff mask with IoU 0.96-0.98 at 70-72°, tests/minetest/test_minetest_env.py), close
# to jaxcraft's 70°; Minetest widens its `fov` setting by ~1.27 at this window size.
FOV_SETTING_DEG = 56.0
FOV_Y_DEG = 71.0
MASK_THRESHOLD = 24   # max channel difference counted as "changed" by the node swap
FALL_Y = -10.0        # feet below this: walked off the scene's edge; the episode is truncated


def _changed(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.abs(x.astype(np.int16) - y.astype(np.int16)).max(-1) > MASK_THRESHOLD


class MinetestCrashed(RuntimeError):
    """The Minetest client or its X server died, or the mod stopped reporting."""


@dataclasses.dataclass(frozen=True)
class MinetestConfig:
    """One Minetest task simulator: frames, tasks, timing."""

    frame_size: int = 64                     # square frame (window = Xvfb screen) in pixels
    families: tuple[str, ...] = ("approach",)  # drawn uniformly at reset (approach, break, interact)
    distances: tuple[int, ...] = (20,)       # spawn distances (Manhattan blocks), any of 20, 40, 60
    max_steps: int = 300                     # truncation
    num_distractors: int = 3
    reach: float = 4.5                       # blocks from the eye (jaxcraft's reach)
    success_reward: float = 1.0
    step_s: float = 0.05                     # game time per env step (jaxcraft: 20 ticks/s)
    server_step_s: float = 0.05              # dedicated_server_step
    fps_max: int = 40
    mouse_sensitivity: float = 0.35
    timeout_s: float = 120.0                 # start-up / scene build / mod report limit (loaded machines: slow)

    def __post_init__(self):
        bad = [f for f in self.families if f not in S.SUPPORTED_FAMILIES]
        if not self.families or bad:
            raise ValueError(f"MinetestConfig.families={self.families!r}: choose from {S.SUPPORTED_FAMILIES}")
        if not self.distances or any(d not in S.DISTANCES for d in self.distances):
            raise ValueError(f"MinetestConfig.distances={self.distances!r}: choose from {S.DISTANCES}")
        if not 16 <= self.frame_size <= 512:
            raise ValueError(f"MinetestConfig.frame_size={self.frame_size} must be in [16, 512]")
        if self.max_steps < 1 or self.step_s <= 0:
            raise ValueError("MinetestConfig.max_steps must be >= 1 and step_s > 0")

    @property
    def deg_per_pixel(self) -> float:
        return DEG_PER_PIXEL_PER_SENSITIVITY * self.mouse_sensitivity

    def launch(self) -> MinetestLaunch:
        return MinetestLaunch(width=self.frame_size, height=self.frame_size, server_step_s=self.server_step_s,
                              fov_deg=FOV_SETTING_DEG,
                              fps_max=self.fps_max, mouse_sensitivity=self.mouse_sensitivity,
                              start_timeout_s=self.timeout_s)


def minetest_schema(config: MinetestConfig) -> X.ObservationSchema:
    """The policy-facing part of the observation: the cross-view schema at the frame size (no value-only fields)."""
    return X.ObservationSchema((config.frame_size, config.frame_size))


def minetest_spec(config: MinetestConfig, schema: X.ObservationSchema | None = None) -> EnvSpec:
    """The simulator's spec: `schema`'s fields (default `minetest_schema(config)`) plus the privileged `info`."""
    schema = minetest_schema(config) if schema is None else schema
    return EnvSpec(
        observation={**schema.array_specs(), "info": ArraySpec((len(INFO_FIELDS),), np.float64)},
        action={SINGLE_ACTION_FIELD: ArraySpec((len(NVEC),), np.int32, np.zeros(len(NVEC), np.int64), NVEC - 1)},
        name="minetest", max_episode_steps=config.max_steps, extra={"info_fields": INFO_FIELDS})


def check_action(action: Mapping[str, np.ndarray]) -> np.ndarray:
    """The int32[11] of a bridge action dict; InvalidActionError naming the factor otherwise."""
    if SINGLE_ACTION_FIELD not in action:
        raise InvalidActionError(f"minetest: action has no field {SINGLE_ACTION_FIELD!r} (got {sorted(action)})")
    a = np.asarray(action[SINGLE_ACTION_FIELD])
    if a.shape != NVEC.shape or a.dtype.kind not in "iub":
        raise InvalidActionError(f"minetest: action must be integers of shape {NVEC.shape}, got {a.dtype} {a.shape}")
    bad = (a < 0) | (a >= NVEC)
    if bad.any():
        i = int(np.argmax(bad))
        raise InvalidActionError(f"minetest: action index {i} is {a[i]}, outside [0, {NVEC[i] - 1}]")
    return a.astype(np.int32)


def pose_matches(state: ModState, pose: S.Pose, pos_tol: float = 0.05, look_tol_deg: float = 0.5) -> bool:
    """True when the mod reports the player at `pose`: feet within `pos_tol` blocks per axis,
    yaw and pitch within `look_tol_deg` (yaw compared modulo 360°)."""
    near = all(abs(a - b) <= pos_tol for a, b in ((state.x, pose.x), (state.y, pose.y), (state.z, pose.z)))
    d_yaw = (state.yaw - pose.yaw + math.pi) % (2 * math.pi) - math.pi
    tol = math.radians(look_tol_deg)
    return near and abs(d_yaw) <= tol and abs(state.pitch - pose.pitch) <= tol


def camera_pixels(action: np.ndarray, carry: np.ndarray, deg_per_pixel: float) -> tuple[int, int, np.ndarray]:
    """(dx, dy) pointer pixels for the action's camera bins and the new fractional carry.

    jaxcraft: + pitch looks up, + yaw turns right. Minetest: pointer right turns right, pointer
    down looks down. carry float64[2] holds the (x, y) remainder in pixels.
    """
    deg = camera_bin_degrees()
    want = np.array([deg[action[10]], -deg[action[9]]], np.float64) / deg_per_pixel + carry
    px = np.round(want)
    return int(px[0]), int(px[1]), want - px


class MinetestSimulator:
    """One Minetest instance running cross-view tasks (see the module docstring)."""

    def __init__(self, config: MinetestConfig, env_index: int = 0, schedule: tuple[int, ...] = ()):
        self.config = config
        self.spec = minetest_spec(config)
        self.schedule = tuple(int(t) for t in schedule)
        self.env_index = env_index
        self._rng = np.random.default_rng(env_index)
        self._k = -1
        self.proc = MinetestProcess.start(config.launch())
        try:
            self.link = ModLink(self.proc.world)
            self.state = self.link.wait(lambda s: True, config.timeout_s, self.proc.alive)
            self.fb = FrameBuffer(self.proc.framebuffer)
            self.xi = XInput(self.proc.display, config.frame_size, config.frame_size, config.timeout_s)
            self.xi.focus()
            self.xi.tap("F2")   # hide the chat overlay
            self.xi.move_pointer(0, 0)
        except BaseException:
            self.proc.close()
            raise
        self.scene: S.Scene | None = None
        self._carry = np.zeros(2)
        self._t = 0
        self._obs: dict[str, np.ndarray] | None = None
        self.step_durations: list[float] = []   # wall seconds per step (jitter diagnostics)

    # -- helpers -----------------------------------------------------------------------
    def _alive(self) -> bool:
        return self.proc.alive()

    def _wait(self, until, timeout: float | None = None) -> ModState:
        try:
            self.state = self.link.wait(until, timeout or self.config.timeout_s, self._alive)
        except (RuntimeError, TimeoutError) as e:
            raise MinetestCrashed(f"minetest instance {self.proc.directory.name}: {e}\n{self.proc.log_tail(600)}") from None
        return self.state

    def _command(self, *commands: str) -> ModState:
        seq = self.link.send(commands)
        return self._wait(lambda s: s.seq >= seq)

    def _pose(self, pose: S.Pose, freeze: bool, attempts: int = 3, settle_s: float = 2.0) -> ModState:
        """Put the player at `pose` and wait until the mod reports it on four consecutive server
        steps. Why: on a loaded machine the client can send its old look after the server set
        the new one, and the state then shows the old pose for a while; such a pose is resent."""
        for _ in range(attempts):
            self._command(pose.command(freeze=freeze))
            agreed: list[int] = []

            def settled(s: ModState) -> bool:
                if pose_matches(s, pose) and (not agreed or s.step > agreed[-1]):
                    agreed.append(s.step)
                elif not pose_matches(s, pose):
                    agreed.clear()
                return len(agreed) >= 4
            try:
                return self._wait(settled, timeout=settle_s)
            except MinetestCrashed:
                if not self._alive():
                    raise
        raise MinetestCrashed(f"minetest instance {self.proc.directory.name}: the player did not stay at "
                              f"{pose} after {attempts} attempts (last state: {self.state})")

    def _stable_frame(self, differs_from: np.ndarray | None = None, settle_s: float = 0.15,
                      timeout_s: float = 6.0) -> np.ndarray:
        """A frame unchanged over 3 reads 1/fps apart (and unlike `differs_from`, if given)."""
        time.sleep(settle_s)
        dt = 1.0 / self.config.fps_max
        deadline = time.monotonic() + timeout_s
        prev, same = self.fb.rgb(), 0
        while time.monotonic() < deadline:
            time.sleep(dt)
            if not self._alive():
                raise MinetestCrashed(f"minetest instance {self.proc.directory.name} died")
            cur = self.fb.rgb()
            if np.array_equal(cur, prev) and (differs_from is None or not np.array_equal(cur, differs_from)):
                same += 1
                if same >= 3:
                    return cur
            else:
                same = 0
            prev = cur
        return prev

    def _capture_goal(self, sc: S.Scene, attempts: int = 3) -> tuple[np.ndarray, np.ndarray]:
        """(goal rgb, mask): frames A (target), B (mask node), C (target again); the mask is
        the pixels where B differs from both A and C. A != C means something else changed
        meanwhile (meshes still loading): capture again."""
        x, y, z = sc.target
        a = self._stable_frame(settle_s=0.3)
        for _ in range(attempts):
            self._command(f"setnode {x} {y} {z} {S.MASK_NODE}")
            b = self._stable_frame(differs_from=a)
            self._command(f"setnode {x} {y} {z} {sc.target_node}")
            c = self._stable_frame(differs_from=b)
            if _changed(a, c).sum() <= 2:
                break
            a = c
        return c, (_changed(a, b) & _changed(c, b)).astype(np.uint8)

    def _next_task(self, seed: int | None) -> int:
        if seed is not None:
            self._rng = np.random.default_rng(int(seed))
            self._k = -1
        self._k += 1
        if self.schedule:
            return self.schedule[self._k % len(self.schedule)]
        c = self.config
        f = S.FAMILIES.index(c.families[int(self._rng.integers(len(c.families)))])
        d = S.DISTANCES.index(c.distances[int(self._rng.integers(len(c.distances)))])
        return S.encode_task_id(int(self._rng.integers(0, 2**20)), d, f)

    def _info(self, success: bool) -> np.ndarray:
        sc, st = self.scene, self.state
        out = np.zeros(len(INFO_FIELDS), np.float64)
        out[:8] = [sc.task_id, S.FAMILIES.index(sc.family), sc.distance, sc.seed, float(success), *sc.target]
        out[8:11] = st.eye
        out[11:] = [st.yaw, st.pitch, st.pointed, st.los, self._t]
        return out

    # -- Simulator -----------------------------------------------------------------------
    def reset(self, seed: int | None) -> dict[str, np.ndarray]:
        if not self._alive():
            raise MinetestCrashed(f"minetest instance {self.proc.directory.name} died")
        self.xi.release_all()
        self.xi.move_pointer(0, 0)
        self._carry[:] = 0
        self._t = 0
        sc = self.scene = S.synthesise(self._next_task(seed), self.config.num_distractors)
        seq = self.link.scene(sc.spec(self.config.reach))
        self._wait(lambda s: s.ready >= seq)
        self._pose(sc.goal, freeze=True)
        self._wait(lambda s: s.step >= self.state.step + 2)
        self._pose(sc.goal, freeze=True)   # again: any velocity left is gone now
        goal, mask = self._capture_goal(sc)
        self.goal_state = self.state   # where the goal camera really was (diagnostics, tests)
        self._pose(sc.spawn, freeze=False)
        rgb = self._stable_frame()
        self._obs = {X.RGB: rgb, X.GOAL_RGB: goal, X.GOAL_MASK: mask, X.FAMILY: np.int32(X.FAMILIES.index(sc.family))}
        return dict(self._obs, info=self._info(False))

    def step(self, action: Mapping[str, np.ndarray]):
        if self.scene is None:
            raise RuntimeError("minetest: step() before reset()")
        a = check_action(action)
        if not self._alive():
            raise MinetestCrashed(f"minetest instance {self.proc.directory.name} died")
        t0 = time.monotonic()
        self.xi.set_buttons({b: bool(a[i]) for i, b in enumerate(BUTTONS)})
        dx, dy, self._carry = camera_pixels(a, self._carry, self.config.deg_per_pixel)
        if dx or dy:
            self.xi.move_pointer(dx, dy)
        s0 = self.state.step
        self._wait(lambda s: s.step > s0 and time.monotonic() >= t0 + self.config.step_s, timeout=10.0)
        time.sleep(0.5 / self.config.fps_max)   # half a client frame after the server step
        rgb = self.fb.rgb()
        if not self._alive():   # the state file may predate a crash during this step
            raise MinetestCrashed(f"minetest instance {self.proc.directory.name} died")
        self.step_durations.append(time.monotonic() - t0)
        self._t += 1
        st, fam = self.state, self.scene.family
        success = bool({"approach": st.pointed, "break": st.dug, "interact": st.used}[fam])
        # The scene floats in an empty world: a player who walked off its edge falls forever.
        fell = st.y < FALL_Y
        truncated = (self._t >= self.config.max_steps or fell) and not success
        if success or truncated:
            self.xi.release_all()
        obs = {**self._obs, X.RGB: rgb, "info": self._info(success)}
        return obs, (self.config.success_reward if success else 0.0), success, truncated

    def place_player(self, pose: S.Pose) -> None:
        """Teleport the player (tests, demonstrations); the episode goes on from there."""
        self._command(pose.command(freeze=False))
        self._wait(lambda s: s.step >= self.state.step + 2)

    def close(self) -> None:
        for part in ("xi", "fb"):
            obj = getattr(self, part, None)
            if obj is not None:
                obj.close()
        self.proc.close()


@dataclasses.dataclass(frozen=True)
class MinetestFactory:
    """Picklable factory. `schedules[i]`: task ids env i runs in order (cycled; its seeded reset
    restarts the list); empty: tasks drawn from the config's families and distances."""

    config: MinetestConfig = MinetestConfig()
    schedules: tuple[tuple[int, ...], ...] = ()

    def spec(self) -> EnvSpec:
        return minetest_spec(self.config)

    def __call__(self, env_index: int) -> MinetestSimulator:
        schedule = self.schedules[env_index % len(self.schedules)] if self.schedules else ()
        return MinetestSimulator(self.config, env_index, schedule)
