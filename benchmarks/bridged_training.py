"""Bridged training throughput vs the raw bridge without learning (same simulators, same run).

    python benchmarks/bridged_training.py [--quick]

Scenario `load-20ms`: the load simulator sleeping ~20 ms per step (lognormal σ=0.3), 16 envs
in 2 workers, async recv of 8. "raw bridge" drives the pool with random numpy actions (no JAX);
"bridged PPO" is the full trainer (jitted inference, trajectory assembly, PPO updates in the
learner while the simulators keep stepping). Simulators are the bottleneck, so the target is
learning + inference overhead ≤ 20 %, i.e. bridged/raw ≥ 0.80.
Fused vs bridged on the JaxCraft world: reported as skipped until `jaxcraft.world` exports an env.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import time

import numpy as np


def config(frame: int, latency: float, num_envs: int, rollout_len: int):
    from jaxcraft.bridge_config import BridgeConfig
    from jaxcraft.config import EnvConfig, ExperimentConfig, NetConfig, RunConfig
    from jaxcraft.ppo import PPOConfig
    return ExperimentConfig(
        name="bench_bridged",
        env=EnvConfig(name="bridge:load", num_envs=num_envs, rollout_len=rollout_len, max_episode_steps=200),
        net=NetConfig(kind="mlp", hidden=(64, 64), separate_critic=False),
        ppo=PPOConfig(num_epochs=2, num_minibatches=2),
        run=RunConfig(total_env_steps=10**9, progress=False, tensorboard=False),
        bridge=BridgeConfig(num_workers=2, recv_batch_size=num_envs // 2, frame_size=frame,
                            sim_latency_s=latency, max_policy_lag=2))


def raw_bridge(cfg, seconds: float) -> float:
    from bridge import Pool, PoolConfig
    from jaxcraft.train.bridged_envs import make_bridged_env
    env = make_bridged_env(cfg)
    n, b = cfg.env.num_envs, cfg.bridge.recv_batch_size
    rng = np.random.default_rng(0)
    with Pool(env.factory, PoolConfig(num_envs=n, num_workers=cfg.bridge.num_workers, batch_size=b),
              spec=env.spec) as pool:
        pool.async_reset()
        for _ in range(2 * n // b):  # warm-up: workers up, first steps done
            batch = pool.recv()
            pool.send(rng.integers(0, 4, len(batch)), batch.env_ids)
        steps, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            batch = pool.recv()
            pool.send(rng.integers(0, 4, len(batch)), batch.env_ids)
            steps += len(batch)
        return steps / (time.perf_counter() - t0)


def bridged(cfg, updates: int) -> tuple[float, dict]:
    import jax
    from jaxcraft.train.bridged import build_bridged_trainer
    with build_bridged_trainer(cfg) as trainer:
        state = trainer.init(jax.random.key(0))
        state, _ = trainer.run(state, 2)  # compile inference + update, workers up
        t0 = time.perf_counter()
        state, m = trainer.run(state, updates)
        sps = updates * trainer.env_steps_per_update / (time.perf_counter() - t0)
        c = trainer.actor.counters
        return sps, dict(lag_max=int(m["policy_lag_max"].max()), dropped=int(m["dropped_fragments"][-1]),
                         inference_ms=1e3 * c.inference_s / max(c.batches, 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer updates / seconds (≈1 min)")
    args = parser.parse_args()
    updates, seconds = (6, 8.0) if args.quick else (20, 30.0)
    cfg = config(frame=64, latency=0.02, num_envs=16, rollout_len=32)
    raw = raw_bridge(cfg, seconds)
    sps, info = bridged(cfg, updates)
    print(f"cores visible: {os.cpu_count()} (shared; ratios from the same run are the result); "
          f"{'quick' if args.quick else 'full'} run")
    print(f"{'scenario':<12}{'system':<16}{'envs':>5}{'steps/s':>10}{'vs raw':>8}  notes")
    print(f"{'load-20ms':<12}{'raw bridge':<16}{16:>5}{raw:>10.0f}{1.0:>7.2f}x  random actions, no JAX")
    print(f"{'load-20ms':<12}{'bridged PPO':<16}{16:>5}{sps:>10.0f}{sps / raw:>7.2f}x  overhead "
          f"{100 * (1 - sps / raw):.0f}% (target ≤ 20%); policy lag max {info['lag_max']}, dropped "
          f"{info['dropped']}, inference {info['inference_ms']:.1f} ms/batch of 8")
    try:
        import jaxcraft.world as world  # noqa: F401
        has_env = hasattr(world, "make_env") or hasattr(world, "JaxCraftEnv")
    except ImportError:
        has_env = False
    note = "not implemented in this script yet" if has_env else "jaxcraft.world exports no env yet"
    print(f"{'jaxcraft':<12}{'fused vs bridged':<16}{'-':>5}{'-':>10}{'-':>8}  skipped: {note}")


if __name__ == "__main__":
    main()
