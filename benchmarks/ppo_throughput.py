"""Validate and time the PPO library on gymnax CartPole-v1 and MinAtar Breakout.

Prints, per env: env steps trained, final mean episode return (last 5% of updates),
a uniformly random policy's return measured in the same run, steps/s of the training
loop (after compile) and compile time. Pass --quick for a small smoke run.

    python benchmarks/ppo_throughput.py            # full validation (~10 min on 2 cores)
    python benchmarks/ppo_throughput.py --quick
"""
from __future__ import annotations

import argparse
import dataclasses
import pathlib
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from jaxcraft.config import load_experiment, override  # noqa: E402
from jaxcraft.envs import BatchedEnv  # noqa: E402
from jaxcraft.build import make_env, make_trainer  # noqa: E402
from jaxcraft.envs.spaces import action_distribution  # noqa: E402


def random_return(config, episodes_steps: int = 20_000, seed: int = 0) -> float:
    """Mean episode return of a uniformly random policy on the same env (same run)."""
    env, params = make_env(config.env)
    b = 64
    benv = BatchedEnv(env, params)
    dist = action_distribution(benv.action_space())

    @jax.jit
    def rollout(key):
        k0, k1 = jax.random.split(key)
        state = benv.reset(jax.random.split(k0, b), k1)

        def step(carry, key):
            state = carry
            ka, ke = jax.random.split(key)
            logits = jnp.zeros((b, dist.num_logits))
            action = jax.vmap(dist.sample)(jax.random.split(ka, b), logits)
            state, out = benv.step(state, action, jax.random.split(ke, b))
            return state, (out.info["done"], out.info["episode_return"])

        _, (done, ret) = jax.lax.scan(step, state, jax.random.split(key, episodes_steps // b))
        return (ret * done).sum() / jnp.maximum(done.sum(), 1)

    return float(rollout(jax.random.key(seed)))


def bench(path: str, quick: bool) -> dict:
    config = load_experiment(ROOT / path)
    if quick:
        config = override(config, [f"run.total_env_steps={config.batch_size * config.run.updates_per_call * 2}"])
    trainer = make_trainer(config)
    state = trainer.init(jax.random.key(config.run.seed))
    n, per = config.num_updates, config.run.updates_per_call
    t0 = time.perf_counter()
    state, m = trainer.run(state, per)
    jax.block_until_ready(m)
    first_call = time.perf_counter() - t0
    returns, episodes = [np.asarray(m["episode_return"])], [np.asarray(m["episodes"])]
    t1 = time.perf_counter()
    done = per
    while done < n:
        k = min(per, n - done)
        state, m = trainer.run(state, k)
        returns.append(np.asarray(m["episode_return"]))
        episodes.append(np.asarray(m["episodes"]))
        done += k
    jax.block_until_ready(state)
    loop = time.perf_counter() - t1
    ret, eps = np.concatenate(returns), np.concatenate(episodes)
    tail = max(1, len(ret) // 20)
    sel = eps[-tail:] > 0
    final = float(ret[-tail:][sel].mean()) if sel.any() else float("nan")
    steps_after = (done - per) * config.batch_size
    sps = steps_after / loop if steps_after else float("nan")
    call_time = loop / max(1, (done - per) / per)
    return dict(env=config.env.name, steps=done * config.batch_size, final=final,
                random=random_return(config), sps=sps, compile=max(0.0, first_call - call_time))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny budgets (smoke test of the script)")
    args = parser.parse_args()
    rows = [bench("experiments/cartpole.py", args.quick), bench("experiments/minatar_breakout.py", args.quick)]
    print(f"\nPPO validation on {jax.devices()[0].platform.upper()} x{len(jax.devices())}"
          f"{' (quick)' if args.quick else ''}")
    print(f"| env | env steps | final return | random policy | ratio | steps/s | compile s |")
    print(f"|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        ratio = r["final"] / r["random"] if r["random"] else float("nan")
        print(f"| {r['env']} | {r['steps']:,} | {r['final']:.1f} | {r['random']:.2f} | {ratio:.1f}x | "
              f"{r['sps']:,.0f} | {r['compile']:.1f} |")


if __name__ == "__main__":
    main()
