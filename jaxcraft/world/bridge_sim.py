"""The JaxCraft world as a bridge simulator: one world per `Simulator`, stepped by jitted JAX.

    from bridge import Pool, PoolConfig
    from jaxcraft.world.bridge_sim import WorldSimFactory

    factory = WorldSimFactory()                    # the 64×32×64 world, 64×64 frames, 600-step episodes
    with Pool(factory, PoolConfig(num_envs=8, num_workers=2), spec=factory.spec()) as pool: ...

This is how the bridged trainer (`env.name = "bridge:jaxcraft-world"`) runs the same world as
the fused trainer (`jaxcraft:world`), but in worker processes, one env at a time, so the two
paths can be compared on the same simulator. It is `JaxCraftEnv` with its built-in reward:

  observation  {"rgb": uint8[H, W, 3]} (NumPy; H×W = `WorldStatic.height/width`)
  action       {"action": int32[11]}: the world's MultiDiscrete (9 buttons in {0, 1}, then
               camera pitch/yaw bins in [0, 11); `jaxcraft.world.actions.NAMES`/`NVEC`).
               Out-of-range values are rejected (InvalidActionError naming the field and
               factor) instead of being clipped like `actions.decode` does.
  terminated   always False (the world has no terminal state); truncated = the time limit
               `WorldParams.max_steps_in_episode` (600, or `max_steps`). Kept apart.

Key schedule (what the in-process reference in tests/bridged/test_world_bridge.py repeats):
`reset(seed)` sets `key = jax.random.key(seed)`, `reset(None)` (the bridge's auto-reset)
continues from the current key (initially `jax.random.key(env_index)`); every reset and every
step does `key, sub = jax.random.split(key)` and calls `JaxCraftEnv.reset_env(sub, params)` /
`step_env(sub, state, action, params)`.

One world per simulator object: the bridge's worker steps its K simulators one after the
other and needs each result before the next, so K worlds cannot be vmapped into one call
behind this interface. The K simulators of a worker share one compiled reset and step (cached
per `WorldStatic`), so a worker compiles once (15–40 s here, depending on the load) however many worlds it hosts.

Worker-side JAX: the world's arrays (key, params, state) are committed to the CPU device, so
the jitted functions run on the CPU even where an accelerator is visible. Thread/platform flags
cannot be set from here: XLA reads `XLA_FLAGS` (and JAX `JAX_PLATFORMS`) when its backend
starts, and in a spawn-context worker that happens while the factory is *unpickled*, because
importing `jaxcraft.world` builds jnp tables at module level (`voxels.SOLID_TABLE`,
`worldgen.INTERACTABLES`), before any code of this module runs. Workers therefore run XLA:CPU
with the launching process's environment (default: a thread pool over all cores). Single-
threaded XLA:CPU (`--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1`) measured
0.43 vs 0.50 ms per step in-process; in a 2-worker pool the difference was within the noise of
this shared machine.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any, Mapping

import jax
import numpy as np

from bridge.spec import SINGLE_ACTION_FIELD, ArraySpec, EnvSpec, InvalidActionError
from jaxcraft.world import actions as A
from jaxcraft.world.env import JaxCraftEnv
from jaxcraft.world.params import WorldStatic, default_params

OBS_FIELD = "rgb"
ACTION_FIELD = SINGLE_ACTION_FIELD  # "action": the bridged trainer maps a single MultiDiscrete field
NVEC = np.asarray(A.NVEC, np.int64)
NAMES = A.NAMES


def world_spec(static: WorldStatic, max_steps: int = 0, name: str = "jaxcraft-world") -> EnvSpec:
    """Bridge fields of the world (the parent uses them to size the slabs); max_steps 0 = the world's."""
    max_steps = int(max_steps or default_params().max_steps_in_episode)
    return EnvSpec(
        observation={OBS_FIELD: ArraySpec((static.height, static.width, 3), np.uint8, 0, 255)},
        action={ACTION_FIELD: ArraySpec((len(NVEC),), np.int32, np.zeros(len(NVEC), np.int64), NVEC - 1)},
        name=name, max_episode_steps=max_steps,
        extra={"nvec": tuple(int(n) for n in NVEC), "names": NAMES})


def check_world_action(action: Mapping[str, Any], name: str = "jaxcraft-world") -> np.ndarray:
    """The int32[11] action of a bridge action dict; InvalidActionError naming field and factor."""
    if ACTION_FIELD not in action:
        raise InvalidActionError(f"{name}: action has no field {ACTION_FIELD!r} (got {sorted(action)})")
    a = np.asarray(action[ACTION_FIELD])
    if a.shape != NVEC.shape:
        raise InvalidActionError(f"{name}: action field {ACTION_FIELD!r} has shape {a.shape}, expected "
                                 f"{NVEC.shape} = {NAMES}")
    if a.dtype.kind not in "iub":
        raise InvalidActionError(f"{name}: action field {ACTION_FIELD!r} has dtype {a.dtype}, expected integers")
    bad = (a < 0) | (a >= NVEC)
    if bad.any():
        i = int(np.argmax(bad))
        raise InvalidActionError(f"{name}: action field {ACTION_FIELD!r} index {i} ({NAMES[i]}) is {a[i]}, "
                                 f"outside [0, {NVEC[i] - 1}]")
    return a.astype(np.int32)  # a copy: the slab view is only valid during the call


@functools.lru_cache(maxsize=None)
def _compiled(static: WorldStatic):
    """Jitted (reset, step) of one world, shared by all simulators of a process."""
    env = JaxCraftEnv(static)

    def reset(key, params):
        key, sub = jax.random.split(key)
        obs, state = env.reset_env(sub, params)
        return key, state, obs[OBS_FIELD]

    def step(key, state, action, params):
        key, sub = jax.random.split(key)
        obs, state, reward, terminated, truncated, _ = env.step_env(sub, state, action, params)
        return key, state, (obs[OBS_FIELD], reward, terminated, truncated)

    # The old state is dead after a step: donating it lets XLA update the voxels in place.
    return jax.jit(reset), jax.jit(step, donate_argnums=(1,))


class WorldSimulator:
    """One JaxCraft world behind the bridge's `Simulator` protocol (see the module docstring)."""

    def __init__(self, static: WorldStatic | None = None, max_steps: int = 0, seed: int = 0,
                 name: str = "jaxcraft-world"):
        self.static = WorldStatic() if static is None else static
        self.spec = world_spec(self.static, max_steps, name)
        self._cpu = jax.devices("cpu")[0]
        params = default_params()
        if max_steps:
            params = params.replace(max_steps_in_episode=np.int32(max_steps))
        self.params = jax.device_put(params, self._cpu)
        self._reset, self._step = _compiled(self.static)
        self._key = jax.device_put(jax.random.key(seed), self._cpu)
        self._state = None

    def reset(self, seed: int | None) -> dict[str, np.ndarray]:
        if seed is not None:
            self._key = jax.device_put(jax.random.key(int(seed)), self._cpu)
        self._key, self._state, rgb = self._reset(self._key, self.params)
        return {OBS_FIELD: np.asarray(rgb)}

    def step(self, action: Mapping[str, np.ndarray]) -> tuple[dict[str, np.ndarray], float, bool, bool]:
        if self._state is None:
            raise RuntimeError(f"{self.spec.name}: step() before reset()")
        a = check_world_action(action, self.spec.name)
        self._key, self._state, out = self._step(self._key, self._state, a, self.params)
        rgb, reward, terminated, truncated = (np.asarray(x) for x in out)
        return {OBS_FIELD: rgb}, float(reward), bool(terminated), bool(truncated)

    def close(self) -> None:
        self._state = None


@dataclasses.dataclass(frozen=True)
class WorldSimFactory:
    """Picklable `factory(env_index) -> WorldSimulator` for `bridge.Pool` (spawn-context workers).

    static: the world's shapes (frame = height × width); max_steps: time limit, 0 = the world's
    600. Env i's simulator starts from key `jax.random.key(i)` until the pool seeds it.
    """

    static: WorldStatic = WorldStatic()
    max_steps: int = 0
    name: str = "jaxcraft-world"

    def spec(self) -> EnvSpec:
        return world_spec(self.static, self.max_steps, self.name)

    def __call__(self, env_index: int) -> WorldSimulator:
        return WorldSimulator(self.static, self.max_steps, seed=int(env_index), name=self.name)
