"""Where one fused training update goes: env only / rollout / whole update, and the learner's share.

For each experiment, one jitted call of each part (after compile), on the experiment's own
config (num_envs × rollout_len steps):

    env only     `rollout_len` batched env steps with uniformly random actions (auto-reset pool)
    rollout      the trainer's acting scan: policy (+ frozen reference policy) + env steps
    update       the whole fused update: rollout + GAE + epochs × minibatches of PPO

learner share = (update − rollout) / update. Columns: ms per update (median of --repeats
calls), env steps/s if that part ran alone, compile time of that part, XLA's peak
temporary buffer size for it (`compiled.memory_analysis()`), and the machine (lscpu model,
cores, load average) in the header. Params are freshly initialised (the timing does not
depend on their values); the KL reference is the initial policy, as in `make run`.

    python benchmarks/train_throughput.py                       # quickstart
    python benchmarks/train_throughput.py --experiments quickstart world_builtin
"""
from __future__ import annotations

import argparse
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time

import jax
import jax.numpy as jnp

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from jaxcraft.config import load_experiment, override  # noqa: E402
from jaxcraft.build import make_trainer  # noqa: E402


def machine() -> str:
    model = platform.processor() or "?"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")), model)
    except (OSError, subprocess.CalledProcessError):
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{model}, {os.cpu_count()} cores, load average {load}, jax {jax.__version__} {jax.default_backend()}"


def _timed(fn, args, repeats: int):
    """(compile s, median ms per call, peak temp MiB) of jitted `fn(*args)`; returns the last output."""
    t0 = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    compile_s = time.perf_counter() - t0
    mem = compiled.memory_analysis()
    temp_mib = getattr(mem, "temp_size_in_bytes", 0) / 2**20 if mem is not None else float("nan")
    out = jax.block_until_ready(compiled(*args))  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = jax.block_until_ready(compiled(*args))
        times.append(time.perf_counter() - t)
    return compile_s, 1e3 * statistics.median(times), temp_mib, out


def measure(name: str, repeats: int, sets: list[str]) -> list[dict]:
    config = load_experiment(ROOT / "experiments" / f"{name}.py")
    config = override(config, ["run.init_params="] + sets)
    trainer = make_trainer(config)
    state = trainer.init(jax.random.key(0))
    env, dist, T = trainer.env, trainer.dist, config.env.rollout_len
    steps = config.env.num_envs * T

    def env_only(env_state, key):
        def step(s, k):
            ka, ke = jax.random.split(k)
            b = config.env.num_envs
            action = jax.vmap(dist.sample)(jax.random.split(ka, b), jnp.zeros((b, dist.num_logits)))
            s, out = env.step(s, action, jax.random.split(ke, b))
            return s, out.reward
        return jax.lax.scan(step, env_state, jax.random.split(key, T))

    def rollout(ppo, actor):
        return trainer.rollout(ppo.params, ppo.ref_params, ppo.value_norm, actor)

    rows = []
    for part, fn, args in [("env only", env_only, (state.actor.env, jax.random.key(1))),
                           ("rollout", rollout, (state.ppo, state.actor)),
                           ("update", trainer.update, (state,))]:
        c, ms, mem, _ = _timed(fn, args, repeats)
        rows.append(dict(experiment=name, part=part, ms=ms, sps=steps / (ms / 1e3), compile=c, mem=mem))
    learner = rows[2]["ms"] - rows[1]["ms"]
    rows[2]["share"] = learner / rows[2]["ms"]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiments", nargs="+", default=["quickstart"], help="experiment file stems")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per part (median)")
    parser.add_argument("--set", action="append", default=[], help="config override key=value (repeatable)")
    args = parser.parse_args()
    rows = [r for name in args.experiments for r in measure(name, args.repeats, args.set)]
    print(f"\nTraining-step throughput on {machine()}")
    print("| experiment | part | ms per update | env steps/s | compile s | peak temp MiB | learner share |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        share = f"{100 * r['share']:.0f} %" if "share" in r else ""
        print(f"| {r['experiment']} | {r['part']} | {r['ms']:,.0f} | {r['sps']:,.0f} | {r['compile']:.1f} | "
              f"{r['mem']:,.0f} | {share} |")


if __name__ == "__main__":
    main()
