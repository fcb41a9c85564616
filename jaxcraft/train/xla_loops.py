"""How a trainer lays out its loops for XLA, decided per network when the config says `None`.

Two XLA:CPU facts, both measured on this project's conv nets: convolution gradients inside a
rolled `while` loop run ~25× slower than unrolled, and a conv update inside a `lax.scan` over
updates runs ~9× slower than one jitted update called from a host loop. So on CPU a network
with convolutions gets its epoch × minibatch loops unrolled (`ppo.unroll_minibatches`) and
its updates looped on the host (`run.scan_updates=False`). A network without convolutions
(an MLP) loses nothing inside loops, and unrolling only multiplies its compile time: it keeps
rolled loops and one `lax.scan` per call, like PureJaxRL (CartPole, 4 envs, 512 k steps on
2 CPU cores: `jaxcraft train` 66 s → 36 s wall, benchmarks/train_throughput.py --purejaxrl).
GPU/TPU always get rolled loops and the scan. Explicit `True`/`False` in the config win.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Optional

import jax

_CONV_PRIMITIVES = frozenset({"conv_general_dilated"})


def _sub_jaxprs(value: Any):
    if hasattr(value, "eqns"):                       # core.Jaxpr
        yield value
    elif hasattr(value, "jaxpr") and hasattr(value.jaxpr, "eqns"):   # core.ClosedJaxpr
        yield value.jaxpr
    elif isinstance(value, (tuple, list)):           # e.g. cond's branches
        for v in value:
            yield from _sub_jaxprs(v)


def _has_primitive(jaxpr: Any, names: frozenset) -> bool:
    for eqn in jaxpr.eqns:
        if eqn.primitive.name in names:
            return True
        if any(_has_primitive(sub, names) for v in eqn.params.values() for sub in _sub_jaxprs(v)):
            return True
    return False


def uses_convolution(fn: Callable, *args: Any) -> bool:
    """Does tracing `fn(*args)` (e.g. a network's init) emit a convolution anywhere, custom-vjp
    and control-flow bodies included? Traces only; nothing is compiled or run."""
    return _has_primitive(jax.make_jaxpr(fn)(*args).jaxpr, _CONV_PRIMITIVES)


@dataclasses.dataclass(frozen=True)
class LoopLayout:
    """The resolved loop layout of one trainer."""

    unroll_minibatches: bool   # unroll the PPO epoch × minibatch loops
    scan_updates: bool         # fuse a call's updates into one lax.scan (else a host loop)


def resolve_loop_layout(unroll_minibatches: Optional[bool], scan_updates: Optional[bool], convolutional: bool,
                        backend: Optional[str] = None) -> LoopLayout:
    """`ppo.unroll_minibatches` and `run.scan_updates`, with `None` decided as the module doc says."""
    slow_loops = (backend or jax.default_backend()) == "cpu" and convolutional
    return LoopLayout(unroll_minibatches=slow_loops if unroll_minibatches is None else bool(unroll_minibatches),
                      scan_updates=(not slow_loops) if scan_updates is None else bool(scan_updates))
