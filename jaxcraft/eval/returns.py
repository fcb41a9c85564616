"""Episode returns of any policy on its own env: JAX envs (gymnax, the world) and bridged simulators.

    result = evaluate_jax_env(policy, env, env_params, episodes=100, key=jax.random.key(0), max_steps=1000)
    result = evaluate_simulator(policy, bridged_env, episodes=20, seed0=0, max_steps=10000)
    write_returns_report(result, "runs/cartpole/eval/returns")

The cross-view tasks have their own success tables (`jaxcraft.eval.runner`); every other env is
scored by undiscounted episode return. An episode runs until it terminates, is truncated by the
env, or reaches `max_steps` (then it counts as it stands; `cut` says how many). `policy` is any
`BatchPolicy` (`jaxcraft.load_policy`'s `LoadedPolicy`): `act(obs [B, ...], key, carry, reset)`.
The 95 % interval is the normal one of the mean (mean ± 1.96·sd/√n), as printed beside the n.
"""
from __future__ import annotations

import dataclasses
import json
import pathlib
import time
from typing import Any, Optional, Protocol

import jax
import jax.numpy as jnp
import numpy as np

from jaxcraft.envs.base import step_without_reset

class BatchPolicy(Protocol):
    name: str

    def act(self, obs: Any, key: Optional[jax.Array] = None, carry: Any = None,
            reset: Optional[Any] = None) -> tuple[Any, Any]: ...


@dataclasses.dataclass(frozen=True)
class ReturnsResult:
    policy: str
    env: str
    returns: np.ndarray     # float64[episodes], undiscounted
    lengths: np.ndarray     # int64[episodes]
    cut: int                # episodes stopped by max_steps
    seconds: float

    def summary(self) -> dict:
        n, r = len(self.returns), self.returns
        sd = float(np.std(r, ddof=1)) if n > 1 else 0.0
        half = 1.96 * sd / np.sqrt(n) if n > 1 else float("nan")
        return dict(policy=self.policy, env=self.env, episodes=n, mean_return=float(np.mean(r)), sd=sd,
                    ci95=[float(np.mean(r) - half), float(np.mean(r) + half)], min=float(np.min(r)),
                    max=float(np.max(r)), mean_length=float(np.mean(self.lengths)), cut_by_max_steps=self.cut,
                    seconds=self.seconds)

    def line(self) -> str:
        s = self.summary()
        return (f"{s['policy']} on {s['env']}: mean return {s['mean_return']:.2f} "
                f"[{s['ci95'][0]:.2f}, {s['ci95'][1]:.2f}] (sd {s['sd']:.2f}, {s['episodes']} episodes, "
                f"mean length {s['mean_length']:.0f}, {self.cut} cut at the step limit)")


def evaluate_jax_env(policy: BatchPolicy, env: Any, env_params: Any, episodes: int, key: jax.Array,
                     max_steps: int, sample: bool = True) -> ReturnsResult:
    """`episodes` episodes of a JAX env (gymnax's or jaxcraft's `Environment`), all in one batch,
    stepped without auto-reset (`jaxcraft.envs.base.step_without_reset`)."""
    t0 = time.perf_counter()
    k_reset, k_run = jax.random.split(key)
    obs, state = jax.jit(jax.vmap(env.reset, in_axes=(0, None)))(jax.random.split(k_reset, episodes), env_params)
    step = jax.jit(jax.vmap(lambda k, s, a, p: step_without_reset(env, k, s, a, p), in_axes=(0, 0, 0, None)))
    ret, length = np.zeros(episodes), np.zeros(episodes, np.int64)
    live = np.ones(episodes, bool)
    carry = None
    for t in range(max_steps):
        k_act, k_env, k_run = jax.random.split(jax.random.fold_in(k_run, t), 3)
        action, carry = policy.act(obs, key=k_act if sample else None, carry=carry)
        out = step(jax.random.split(k_env, episodes), state, jnp.asarray(action), env_params)
        obs, state = out.obs, out.state
        ret += np.where(live, np.asarray(out.reward, np.float64), 0.0)
        length += live
        live &= ~(np.asarray(out.terminated, bool) | np.asarray(out.truncated, bool))
        if not live.any():
            break
    return ReturnsResult(policy.name, str(type(env).__name__), ret, length, int(live.sum()), time.perf_counter() - t0)


def evaluate_simulator(policy: BatchPolicy, bridged_env: Any, episodes: int, seed0: int, max_steps: int,
                       key: Optional[jax.Array] = None, sample: bool = True) -> ReturnsResult:
    """`episodes` episodes of a bridged env's simulator, run in this process one after another
    (episode e reset with seed seed0 + e); `bridged_env` is a `jaxcraft.train.bridged.envs.BridgedEnv`."""
    t0 = time.perf_counter()
    sim = bridged_env.factory(0)
    (field,) = bridged_env.spec.action if bridged_env.action_fn is None else (None,)
    ret, length, cut = np.zeros(episodes), np.zeros(episodes, np.int64), 0
    key = jax.random.key(seed0) if key is None else key
    try:
        for e in range(episodes):
            obs, carry, done = sim.reset(seed0 + e), None, False
            for t in range(max_steps):
                batch = jax.tree.map(lambda x: np.asarray(x)[None], bridged_env.policy_obs(obs))
                k = jax.random.fold_in(jax.random.fold_in(key, e), t) if sample else None
                action, carry = policy.act(batch, key=k, carry=carry)
                sent = bridged_env.to_bridge_action(np.asarray(action))
                sent = {k: np.asarray(v)[0] for k, v in sent.items()} if isinstance(sent, dict) else {field: sent[0]}
                obs, reward, terminated, truncated = sim.step(sent)
                ret[e] += float(reward)
                length[e] += 1
                if terminated or truncated:
                    done = True
                    break
            cut += not done
    finally:
        sim.close()
    return ReturnsResult(policy.name, bridged_env.spec.name, ret, length, cut, time.perf_counter() - t0)


def write_returns_report(result: ReturnsResult, out_dir: str | pathlib.Path) -> dict:
    """eval.json (summary + per-episode returns and lengths) and eval.md (one table) in `out_dir`."""
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    s = result.summary()
    (out / "eval.json").write_text(json.dumps({**s, "returns": result.returns.tolist(),
                                               "lengths": result.lengths.tolist()}, indent=1))
    (out / "eval.md").write_text(
        f"# {s['policy']} on {s['env']}\n\n| episodes | mean return (95 % CI) | sd | min | max | mean length | cut at the limit |\n"
        f"|---:|---:|---:|---:|---:|---:|---:|\n| {s['episodes']} | {s['mean_return']:.2f} [{s['ci95'][0]:.2f}, "
        f"{s['ci95'][1]:.2f}] | {s['sd']:.2f} | {s['min']:.2f} | {s['max']:.2f} | {s['mean_length']:.0f} | {s['cut_by_max_steps']} |\n")
    return {"json": out / "eval.json", "md": out / "eval.md"}


__all__ = ["BatchPolicy", "ReturnsResult", "evaluate_jax_env", "evaluate_simulator", "write_returns_report"]
