"""Observation/action specs: fixed-shape, fixed-dtype fields, and action validation.

Every simulator behind the bridge exposes its observations and actions as a flat
dict of fixed-shape arrays (one `ArraySpec` per field). Fixed shapes are what let
the pool pre-allocate one shared-memory row per env and field.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

# Field names used when a simulator's observation/action is a single array, not a dict.
SINGLE_OBS_FIELD = "obs"
SINGLE_ACTION_FIELD = "action"


@dataclass(frozen=True)
class ArraySpec:
    """One field: shape and dtype per env, optional inclusive bounds (scalars or arrays).

    `finite` (float fields): a NaN or infinite observation value is a simulator error.
    """

    shape: tuple[int, ...]
    dtype: np.dtype
    low: Any = None
    high: Any = None
    finite: bool = True

    def __post_init__(self):
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))
        object.__setattr__(self, "dtype", np.dtype(self.dtype))

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize


@dataclass(frozen=True)
class EnvSpec:
    """Observation and action fields of one simulator."""

    observation: Mapping[str, ArraySpec]
    action: Mapping[str, ArraySpec]
    name: str = "env"
    max_episode_steps: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        for kind, fields in (("observation", self.observation), ("action", self.action)):
            if not fields:
                raise ValueError(f"EnvSpec {self.name!r}: no {kind} fields")
            for key, spec in fields.items():
                if not isinstance(spec, ArraySpec):
                    raise TypeError(f"EnvSpec {self.name!r}: {kind} field {key!r} is "
                                    f"{type(spec).__name__}, expected ArraySpec")


class InvalidActionError(ValueError):
    """An action that does not match the action spec (names env and field)."""


def as_action_dict(actions: Any, spec: EnvSpec) -> dict[str, np.ndarray]:
    """Accept a dict of batched arrays, or one array when the spec has a single field."""
    if isinstance(actions, Mapping):
        return dict(actions)
    if len(spec.action) != 1:
        raise InvalidActionError(
            f"{spec.name}: actions must be a dict with fields {sorted(spec.action)}, "
            f"got {type(actions).__name__}")
    (key,) = spec.action
    return {key: actions}


def validate_actions(actions: Mapping[str, Any], spec: EnvSpec,
                     env_ids: np.ndarray) -> dict[str, np.ndarray]:
    """Check a batch of actions for `env_ids`; return them as arrays of the spec dtypes.

    Raises InvalidActionError naming the env id and the field of the first problem.
    """
    missing = sorted(set(spec.action) - set(actions))
    extra = sorted(set(actions) - set(spec.action))
    if missing or extra:
        raise InvalidActionError(
            f"{spec.name}: action fields mismatch: missing {missing}, unexpected {extra}")
    n = len(env_ids)
    out = {}
    for key, fs in spec.action.items():
        value = np.asarray(actions[key])
        expected = (n, *fs.shape)
        if value.shape != expected:
            raise InvalidActionError(
                f"{spec.name}: action field {key!r} has shape {value.shape}, expected "
                f"{expected} (envs {_short(env_ids)}, per-env shape {fs.shape})")
        if not np.can_cast(value.dtype, fs.dtype, casting="same_kind"):
            raise InvalidActionError(
                f"{spec.name}: action field {key!r} has dtype {value.dtype}, expected "
                f"{fs.dtype} (envs {_short(env_ids)})")
        if value.dtype.kind == "f" and fs.dtype.kind == "f":
            bad = ~np.isfinite(value)
            if bad.any():
                env = env_ids[np.argwhere(bad)[0][0]]
                raise InvalidActionError(f"{spec.name}: env {env}: action field {key!r} is not finite")
        if value.size and _within(value, fs.low, fs.high):
            out[key] = value.astype(fs.dtype, copy=False)
            continue  # the fast path: one min/max per field
        for bound, cmp, word in ((fs.low, np.less, "below"), (fs.high, np.greater, "above")):
            if bound is None:
                continue
            bad = cmp(value, np.broadcast_to(np.asarray(bound), expected))
            if bad.any():
                where = np.argwhere(bad)[0]
                env = int(env_ids[where[0]])
                v = value[tuple(where)]
                b = np.broadcast_to(np.asarray(bound), fs.shape)[tuple(where[1:])]
                raise InvalidActionError(
                    f"{spec.name}: env {env}: action field {key!r} value {v} is {word} "
                    f"the bound {b} at index {tuple(int(i) for i in where[1:])}")
        out[key] = value.astype(fs.dtype, copy=False)
    return out


def _within(value: np.ndarray, low: Any, high: Any) -> bool:
    """True if every element is inside scalar bounds (array bounds: take the slow path)."""
    if (low is not None and np.ndim(low)) or (high is not None and np.ndim(high)):
        return False
    return ((low is None or value.min() >= low) and (high is None or value.max() <= high))


def _short(ids: np.ndarray) -> str:
    ids = list(np.asarray(ids).tolist())
    return str(ids) if len(ids) <= 8 else f"[{ids[0]}, …, {ids[-1]}] ({len(ids)} envs)"
