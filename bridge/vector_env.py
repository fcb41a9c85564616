"""`BridgeVectorEnv`: a gymnasium `VectorEnv` over a `Pool` — a drop-in for `AsyncVectorEnv`.

Two constructors:

* gymnasium's: `BridgeVectorEnv(env_fns, autoreset_mode=NEXT_STEP, observation_mode="same",
  copy=True, context=None, num_workers=None, **pool_options)`. `env_fns` are cloudpickled
  like AsyncVectorEnv's; each env runs in a `GymEnvSlot` (gym_slot.py) with gymnasium's
  own autoreset, seeding, info and call semantics. `num_workers=None` means one env per
  worker process, as AsyncVectorEnv (envs that share module-level state must not share a
  worker); fewer workers host several envs each (faster, see docs/bridge.md).
  Sub-env exceptions are raised with their own type (`on_simulator_error="raise"`), after
  gymnasium's error log lines. AsyncVectorEnv's `shared_memory=` and `daemon=` are taken.
  Actions are checked against the action space before they leave the process (a safety
  check AsyncVectorEnv does not make; a bad one raises `InvalidActionError`, a `ValueError`,
  or `InvalidActionTypeError`, also a `TypeError`, for an unbatched action) but reach the
  env with the dtype the caller gave them, as in AsyncVectorEnv.
* the bridge's native one: `BridgeVectorEnv(factory, num_envs, num_workers, spec=None,
  **pool_options)` over any `SimulatorFactory`: SAME_STEP autoreset done by the workers,
  `infos["final_obs"]`, `infos["episode"] = {"r", "l"}` and `infos["crashed"]`.
"""
from __future__ import annotations

import dataclasses
import multiprocessing
from copy import deepcopy
from enum import Enum
from typing import Any, Callable, Sequence

import gymnasium as gym
import numpy as np
from gymnasium import logger
from gymnasium.error import (AlreadyPendingCallError, ClosedEnvironmentError, NoAsyncCallError,
                             ResetNeeded)
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import (batch_differing_spaces, batch_space, concatenate,
                                    create_empty_array, iterate)

from bridge.adapters.gymnasium_env import fits_slabs, space_to_fields
from bridge.batch import Batch
from bridge.config import PoolConfig
from bridge.errors import SimulatorError
from bridge.gym_slot import GENERAL_FIELD, EnvFnsFactory, RawAction
from bridge.pool import Pool
from bridge.spec import (SINGLE_ACTION_FIELD, SINGLE_OBS_FIELD, ArraySpec, EnvSpec,
                         InvalidActionError, validate_actions)
from bridge.vector_native import native_infos, space_of

_POOL_OPTIONS = frozenset(f.name for f in dataclasses.fields(PoolConfig)) - {
    "num_envs", "num_workers", "auto_reset"}


class InvalidActionTypeError(InvalidActionError, TypeError):
    """An action that is not a batch (e.g. one scalar for all envs): gymnasium raises a
    `TypeError` there, the bridge's action checks an `InvalidActionError` (`ValueError`)."""


class BridgeResetNeeded(ResetNeeded, RuntimeError):
    """`step` before the first `reset`: gymnasium's `ResetNeeded` (what its `OrderEnforcing`
    raises), and a `RuntimeError` as the pool's own refusal is."""


class _State(Enum):
    DEFAULT = "default"
    WAITING_RESET = "reset"
    WAITING_STEP = "step"
    WAITING_CALL = "call"


def _fields(space: gym.Space, single: str, fast: bool) -> dict[str, ArraySpec]:
    if fast:
        return space_to_fields(space, single)
    return {GENERAL_FIELD: ArraySpec((0,), np.uint8)}


class BridgeVectorEnv(VectorEnv):
    def __init__(self, env_fns: Sequence[Callable[[], gym.Env]] | Callable[[int], Any],
                 num_envs: int | None = None, num_workers: int | None = None,
                 spec: EnvSpec | None = None, *, autoreset_mode: str | AutoresetMode | None = None,
                 observation_mode: str | tuple = "same", copy: bool = True,
                 context: str | None = None, shared_memory: bool = True, daemon: bool = True,
                 **pool_options: Any):
        self._state = _State.DEFAULT
        self._needs_reset = True
        self.pool = None
        _check_options(pool_options, daemon, context)
        if not isinstance(env_fns, (list, tuple)):
            self._init_native(env_fns, num_envs, num_workers, spec, autoreset_mode, pool_options)
            return
        self._native = False
        if num_envs is not None and num_envs != len(env_fns):
            raise ValueError(f"num_envs={num_envs} but {len(env_fns)} env_fns")
        if not env_fns:
            raise ValueError("env_fns is empty")
        self.env_fns = env_fns
        self.num_envs = len(env_fns)
        self.copy = copy
        self.observation_mode = observation_mode
        self.autoreset_mode = AutoresetMode(autoreset_mode or AutoresetMode.NEXT_STEP)
        dummy = env_fns[0]()
        self.metadata = dict(dummy.metadata)
        self.metadata["autoreset_mode"] = self.autoreset_mode
        self.render_mode = dummy.render_mode
        self.single_action_space = dummy.action_space
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        if isinstance(observation_mode, tuple) and len(observation_mode) == 2:
            self.observation_space, self.single_observation_space = observation_mode
        elif observation_mode == "same":
            self.single_observation_space = dummy.observation_space
            self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        elif observation_mode == "different":
            spaces = [fn().observation_space for fn in env_fns]
            self.single_observation_space = spaces[0]
            self.observation_space = batch_differing_spaces(spaces)
        else:
            raise ValueError("Invalid `observation_mode`, expected: 'same' or 'different' or tuple "
                             f"of single and batch observation space, actual got {observation_mode}")
        dummy.close()
        del dummy
        import cloudpickle
        # shared_memory=False: observations travel pickled, as AsyncVectorEnv(shared_memory=False)
        self._fast_obs = bool(shared_memory) and fits_slabs(self.single_observation_space)
        self._fast_act = fits_slabs(self.single_action_space)
        self._dict_obs = isinstance(self.single_observation_space, gym.spaces.Dict)
        self._dict_act = isinstance(self.single_action_space, gym.spaces.Dict)
        spec = EnvSpec(observation=_fields(self.single_observation_space, SINGLE_OBS_FIELD,
                                           self._fast_obs),
                       action=_fields(self.single_action_space, SINGLE_ACTION_FIELD, self._fast_act),
                       name=type(self).__name__)
        factory = EnvFnsFactory(tuple(cloudpickle.dumps(fn) for fn in env_fns), spec,
                                self.autoreset_mode, self._fast_obs, self._fast_act)
        pool_options.setdefault("on_simulator_error", "raise")
        if context is not None:
            pool_options["start_method"] = context
        self.pool = Pool(factory, PoolConfig(num_envs=self.num_envs,
                                             num_workers=num_workers or self.num_envs,
                                             auto_reset=False, **pool_options), spec)
        self._obs_buf = create_empty_array(self.single_observation_space, self.num_envs, fn=np.zeros)
        self._obs_items: list[Any] = [None] * self.num_envs
        self._reset_ids = np.arange(self.num_envs)
        try:
            self._check_spaces()
        except BaseException:
            self.pool.close()
            raise

    # ------------------------------------------------------------------ gymnasium API
    @property
    def np_random_seed(self) -> tuple[int, ...]:
        return self.get_attr("np_random_seed")

    @property
    def np_random(self) -> tuple[np.random.Generator, ...]:
        return self.get_attr("np_random")

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict | None = None):
        if self._native:
            return self._native_reset(seed)
        self.reset_async(seed=seed, options=options)
        return self.reset_wait()

    def reset_async(self, seed: int | list[int | None] | None = None, options: dict | None = None):
        self._assert_idle("reset_async")
        if seed is None:
            seed = [None] * self.num_envs
        elif isinstance(seed, (int, np.integer)):
            seed = [int(seed) + i for i in range(self.num_envs)]
        assert len(seed) == self.num_envs, (
            f"If seeds are passed as a list the length must match num_envs={self.num_envs} "
            f"but got length={len(seed)}.")
        ids = np.arange(self.num_envs)
        if options is not None and "reset_mask" in options:
            options = dict(options)
            mask = options.pop("reset_mask")
            assert isinstance(mask, np.ndarray), (
                f"`options['reset_mask': mask]` must be a numpy array, got {type(mask)}")
            assert mask.shape == (self.num_envs,), (
                f"`options['reset_mask': mask]` must have shape `({self.num_envs},)`, got {mask.shape}")
            assert mask.dtype == np.bool_, (
                f"`options['reset_mask': mask]` must have `dtype=np.bool_`, got {mask.dtype}")
            assert np.any(mask), (
                f"`options['reset_mask': mask]` must contain a boolean array, got reset_mask={mask}")
            ids = np.flatnonzero(mask)
        self._guard(self.pool.reset_envs, ids, [seed[i] for i in ids], options)
        self._needs_reset = False
        self._reset_ids = ids
        self._state = _State.WAITING_RESET

    def reset_wait(self, timeout: float | None = None):
        self._assert_waiting(_State.WAITING_RESET, "reset_wait", "reset_async")
        batch = self._wait(len(self._reset_ids), timeout)
        self._state = _State.DEFAULT
        infos: dict[str, Any] = {}
        for j, e in enumerate(batch.env_ids.tolist()):
            obs, info = batch.extras.get(e, (None, {}))
            if self._fast_obs:
                self._write_row(e, {k: v[j] for k, v in batch.obs.items()})
            else:
                self._obs_items[e] = obs
            infos = self._add_info(infos, info, e)
        return self._observations(), infos

    def step_async(self, actions):
        self._assert_idle("step_async")
        self._assert_reset()
        if self._fast_act:
            acts = dict(actions) if self._dict_act else {SINGLE_ACTION_FIELD: actions}
            acts = {k: np.asarray(v) for k, v in acts.items()}
            spec = self.pool.spec
            unbatched = sorted(k for k, v in acts.items() if v.ndim == 0 and k in spec.action)
            if unbatched:
                raise InvalidActionTypeError(
                    f"{type(self).__name__}.step: actions must be a batch of {self.num_envs} (one "
                    f"per env, an element of `action_space`), got a scalar for {unbatched}")
            if all(k in spec.action and v.dtype == spec.action[k].dtype for k, v in acts.items()):
                self._guard(self.pool.send, acts)  # the space's dtype: the shared-memory path
            else:  # checked as any action, but sent as given (AsyncVectorEnv does not cast)
                if self.pool.config.validate_actions:
                    validate_actions(acts, spec, np.arange(self.num_envs))
                rows = [RawAction({k: v[i] for k, v in acts.items()} if self._dict_act
                                  else acts[SINGLE_ACTION_FIELD][i])
                        for i in range(self.num_envs)]
                self._guard(self.pool.send, None, None, rows)
        else:
            self._guard(self.pool.send, None, None, list(iterate(self.action_space, actions)))
        self._state = _State.WAITING_STEP

    def step_wait(self, timeout: float | None = None):
        self._assert_waiting(_State.WAITING_STEP, "step_wait", "step_async")
        batch = self._wait(self.num_envs, timeout)
        self._state = _State.DEFAULT
        infos: dict[str, Any] = {}
        for e in range(self.num_envs):
            obs, info = batch.extras.get(e, (None, {}))
            if not self._fast_obs:
                self._obs_items[e] = obs
            if batch.crashed[e]:  # its worker died or hung: a truncation, flagged
                info = {**info, "crashed": True}
            if info:
                infos = self._add_info(infos, info, e)
        if self._fast_obs:
            for k, v in batch.obs.items():
                self._buf_field(k)[...] = v
        return (self._observations(), batch.reward.copy(), batch.terminated.copy(),
                batch.truncated.copy(), infos)

    def step(self, actions):
        if self._native:
            return self._native_step(actions)
        self.step_async(actions)
        return self.step_wait()

    def call_async(self, name: str, *args: Any, **kwargs: Any):
        self._assert_idle("call_async")
        self._pending_call = (name, args, kwargs)
        self._state = _State.WAITING_CALL

    def call_wait(self, timeout: float | None = None) -> tuple[Any, ...]:
        self._assert_waiting(_State.WAITING_CALL, "call_wait", "call_async")
        name, args, kwargs = self._pending_call
        self._state = _State.DEFAULT
        return self._call_all("env_call", [(name, args, kwargs)] * self.num_envs)

    def call(self, name: str, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        self.call_async(name, *args, **kwargs)
        return self.call_wait()

    def get_attr(self, name: str) -> tuple[Any, ...]:
        return self.call(name)

    def set_attr(self, name: str, values: list[Any] | tuple[Any, ...] | object):
        self._assert_running()
        if not isinstance(values, (list, tuple)):
            values = [values] * self.num_envs
        if len(values) != self.num_envs:
            raise ValueError("Values must be a list or tuple with length equal to the number of "
                             f"environments. Got `{len(values)}` values for {self.num_envs} environments.")
        self._assert_idle("set_attr")
        self._call_all("env_set", [(name, v) for v in values])

    def render(self) -> tuple[Any, ...] | None:
        return self.call("render")

    def close_extras(self, timeout: float | None = None, terminate: bool = False, **kwargs):
        """As AsyncVectorEnv's: warn about a pending call, finish it (unless `terminate`),
        then stop the workers."""
        try:
            if self._state != _State.DEFAULT:
                logger.warn(f"Calling `close` while waiting for a pending call to "
                            f"`{self._state.value}` to complete.")
                if not terminate and self._state != _State.WAITING_CALL:
                    getattr(self, f"{self._state.value}_wait")(timeout)
        except Exception:  # a timeout or a sub-env error: close anyway
            pass
        finally:
            self._state = _State.DEFAULT
            if self.pool is not None:
                self.pool.close()

    def __del__(self):
        if not getattr(self, "closed", True) and getattr(self, "pool", None) is not None:
            self.close()

    # ------------------------------------------------------------------ internals
    def _assert_running(self) -> None:
        if self.closed:
            raise ClosedEnvironmentError(
                f"Trying to operate on `{type(self).__name__}`, after a call to `close()`.")

    def _assert_reset(self) -> None:
        if self._needs_reset:
            raise BridgeResetNeeded("Cannot call `step` before calling `reset`.")

    def _assert_idle(self, what: str) -> None:
        self._assert_running()
        if self._state != _State.DEFAULT:
            raise AlreadyPendingCallError(
                f"Calling `{what}` while waiting for a pending call to `{self._state.value}` "
                f"to complete.", str(self._state.value))

    def _assert_waiting(self, state: _State, what: str, first: str) -> None:
        self._assert_running()
        if self._state != state:
            raise NoAsyncCallError(f"Calling `{what}` without any prior call to `{first}`.",
                                   state.value)

    def _guard(self, fn, *args):
        """Run a pool call; a sub-env's own exception is re-raised with its own type."""
        try:
            return fn(*args)
        except SimulatorError as err:
            self._state = _State.DEFAULT
            if err.env_id is not None:  # gymnasium's log lines for a failed sub-env
                logger.error(f"Received the following error from Worker-{err.env_id} - "
                             "Shutting it down")
                logger.error(f"{err.traceback or err}")
                logger.error("Raising the last exception back to the main process.")
            if err.original is not None:
                raise err.original from err
            raise

    def _wait(self, n: int, timeout: float | None) -> Batch:
        try:
            return self._guard(self.pool.recv, n, timeout, True, True)
        except TimeoutError:
            self._state = _State.DEFAULT
            raise multiprocessing.TimeoutError(f"The call has timed out after {timeout} second(s).")

    def _call_all(self, method: str, args: list[tuple]) -> tuple[Any, ...]:
        results = self._guard(self.pool.call, method, dict(enumerate(args)))
        errors = [v for ok, v in (results[e] for e in range(self.num_envs)) if not ok]
        if errors:
            raise errors[-1]
        return tuple(results[e][1] for e in range(self.num_envs))

    def _check_spaces(self) -> None:
        mode = self.observation_mode if isinstance(self.observation_mode, str) else "different"
        res = self._call_all("spaces_match", [(mode, self.single_observation_space,
                                               self.single_action_space)] * self.num_envs)
        same_obs, same_act = zip(*res)
        if not all(same_obs):
            if mode == "same":
                raise RuntimeError(
                    f"{type(self).__name__}(..., observation_mode='same') however some of the "
                    "sub-environments observation spaces are not equivalent. If this is "
                    "intentional, use `observation_mode='different'` instead.")
            raise RuntimeError(
                f"{type(self).__name__}(..., observation_mode='different' or custom space) however "
                "the sub-environment's observation spaces do not share a common shape and dtype.")
        if not all(same_act):
            raise RuntimeError(
                f"Some environments have an action space different from `{self.single_action_space}`. "
                "In order to batch actions, the action spaces from all environments must be equal.")

    def _buf_field(self, k: str) -> np.ndarray:
        return self._obs_buf[k] if self._dict_obs else self._obs_buf

    def _write_row(self, e: int, row: dict[str, np.ndarray]) -> None:
        for k, v in row.items():
            self._buf_field(k)[e] = v

    def _observations(self):
        if not self._fast_obs:
            self._obs_buf = concatenate(self.single_observation_space, self._obs_items, self._obs_buf)
        return deepcopy(self._obs_buf) if self.copy else self._obs_buf

    # ------------------------------------------------------------------ native form
    def _init_native(self, factory, num_envs, num_workers, spec, autoreset_mode, pool_options):
        if num_envs is None or num_workers is None:
            raise TypeError("BridgeVectorEnv(factory, num_envs, num_workers): give num_envs and "
                            "num_workers, or pass gymnasium's env_fns list")
        if autoreset_mode not in (None, AutoresetMode.SAME_STEP, "SameStep"):
            raise ValueError("the factory form auto-resets in the workers (SAME_STEP); for "
                             "NEXT_STEP or DISABLED pass gymnasium's env_fns list")
        self._native = True
        self.metadata = {"autoreset_mode": AutoresetMode.SAME_STEP}
        self.autoreset_mode = AutoresetMode.SAME_STEP
        self.pool = Pool(factory, PoolConfig(num_envs=num_envs, num_workers=num_workers,
                                             **pool_options), spec)
        spec = self.pool.spec
        self.num_envs = num_envs
        self.single_observation_space = spec.extra.get(
            "observation_space") or space_of(dict(spec.observation), SINGLE_OBS_FIELD)
        self.single_action_space = spec.extra.get(
            "action_space") or space_of(dict(spec.action), SINGLE_ACTION_FIELD)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._dict_obs = isinstance(self.single_observation_space, gym.spaces.Dict)
        self._dict_act = isinstance(self.single_action_space, gym.spaces.Dict)

    def _native_reset(self, seed):
        self._assert_running()
        if seed is not None and not isinstance(seed, int):
            raise TypeError("the factory form of BridgeVectorEnv.reset takes one int seed "
                            "(env i gets seed + i)")
        batch = self.pool.reset(seed)
        self._needs_reset = False
        return self._native_obs(batch.obs), {}

    def _native_step(self, actions):
        self._assert_running()
        self._assert_reset()
        acts = dict(actions) if self._dict_act else {SINGLE_ACTION_FIELD: actions}
        batch = self.pool.step(acts)
        return (self._native_obs(batch.obs), batch.reward.copy(), batch.terminated.copy(),
                batch.truncated.copy(), native_infos(batch, self.num_envs, self._dict_obs))

    def _native_obs(self, obs: dict[str, np.ndarray]):
        return obs if self._dict_obs else obs[SINGLE_OBS_FIELD]


def _check_options(pool_options: dict[str, Any], daemon: bool, context: str | None) -> None:
    """Refuse, in one line naming BridgeVectorEnv, what neither gymnasium nor the pool takes."""
    if "forkserver" in (context, pool_options.get("start_method")):
        raise ValueError("BridgeVectorEnv does not run with context='forkserver': its workers "
                         "exit when their parent process is not the one that made the pool, "
                         "and under a forkserver it is not; use 'spawn' (the default) or 'fork'")
    if pool_options.get("worker") is not None:
        raise TypeError("BridgeVectorEnv does not take AsyncVectorEnv's `worker=`: its workers "
                        "run the bridge's own loop (bridge/worker.py)")
    pool_options.pop("worker", None)
    if not daemon:
        raise TypeError("BridgeVectorEnv does not take daemon=False: its workers are always "
                        "daemonic (and watch their parent), so an env cannot start processes "
                        "with multiprocessing in them")
    unknown = sorted(set(pool_options) - _POOL_OPTIONS)
    if unknown:
        raise TypeError(f"BridgeVectorEnv() got an unexpected keyword argument {unknown[0]!r} "
                        f"(gymnasium's AsyncVectorEnv keywords, or PoolConfig's: "
                        f"{', '.join(sorted(_POOL_OPTIONS))})")
