"""What a simulator returns, checked against its spec in the worker before it is written.

A violation raises `ObservationError` (naming field and value), which the worker treats
as a simulator error under the pool's `on_simulator_error` policy — never a silent
broadcast ((1,) into (4,)), a wrapping cast (300.7 → 44 in uint8) or an unflagged NaN.

Rules per field: the shape must match exactly; the dtype may differ only when the cast
is lossless (a safe cast, or values that survive the round trip exactly) or narrows
float to float (precision only); float fields declared `finite` reject NaN/inf. The
reward must be a finite real number.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from bridge.spec import ArraySpec


class ObservationError(ValueError):
    """A simulator's output does not match its declared spec."""


def checked_field(key: str, value: Any, spec: ArraySpec) -> np.ndarray:
    """`value` as an array of `spec.dtype`, or ObservationError naming the problem."""
    arr = np.asarray(value)
    if arr.shape != spec.shape:
        raise ObservationError(f"observation field {key!r} has shape {arr.shape}, "
                               f"expected {spec.shape}")
    dt = spec.dtype
    if arr.dtype != dt:
        if arr.dtype.kind in "OUSV" :
            raise ObservationError(f"observation field {key!r} has dtype {arr.dtype}, "
                                   f"expected {dt}")
        if not (np.can_cast(arr.dtype, dt, "safe") or (arr.dtype.kind == dt.kind == "f")):
            with np.errstate(all="ignore"):
                cast = arr.astype(dt)
                exact = np.array_equal(cast.astype(arr.dtype), arr)
            if not exact:
                bad = np.argwhere(cast.astype(arr.dtype) != arr)
                where = tuple(int(i) for i in bad[0]) if bad.size else ()
                raise ObservationError(
                    f"observation field {key!r}: value {arr[where]!r} ({arr.dtype}) at index "
                    f"{where} does not fit its declared dtype {dt}")
            arr = cast
    if dt.kind == "f" and spec.finite and arr.size:
        fin = np.isfinite(arr)
        if not fin.all():
            where = tuple(int(i) for i in np.argwhere(~fin)[0])
            raise ObservationError(f"observation field {key!r}: non-finite value "
                                   f"{arr[where]} at index {where}")
    return arr


def check_observation(obs: Any, fields: Mapping[str, ArraySpec]) -> dict[str, np.ndarray]:
    """Every declared field present and valid (extra keys are ignored)."""
    if not isinstance(obs, Mapping):
        raise ObservationError(f"observation must be a dict with fields {sorted(fields)}, "
                               f"got {type(obs).__name__}")
    missing = [k for k in fields if k not in obs]
    if missing:
        raise ObservationError(f"observation misses field(s) {missing} "
                               f"(got keys {sorted(map(str, obs))})")
    return {k: checked_field(k, obs[k], f) for k, f in fields.items()}


def check_reward(reward: Any) -> float:
    try:
        r = float(reward)
    except (TypeError, ValueError):
        raise ObservationError(f"reward {reward!r} is not a number") from None
    if not np.isfinite(r):
        raise ObservationError(f"reward is {r} (not finite)")
    return r
