"""Bridged training throughput vs the raw bridge without learning (same simulators, same run).

    python benchmarks/bridged_training.py [--quick]

Scenario `load-20ms`: the load simulator sleeping ~20 ms per step (lognormal σ=0.3), 16 envs
in 2 workers, async recv of 8. "raw bridge" drives the pool with random numpy actions (no JAX);
"bridged PPO" is the full trainer (jitted inference, trajectory assembly, PPO updates in the
learner while the simulators keep stepping). Simulators are the bottleneck, so the target is
learning + inference overhead ≤ 20 %, i.e. bridged/raw ≥ 0.80.

Scenario `world`: the JaxCraft world (built-in reward) both ways, same network and PPO settings
(`experiments/world_builtin.py` = `experiments/world_bridged.py` apart from the env section),
16 envs × T=64 (1024 env steps per update), the same number of timed updates each:
"fused PPO" is `world_builtin` scaled down to those sizes (the world vmapped inside the jitted
train step, reset pool of 16); "bridged PPO" is `world_bridged` (`bridge:jaxcraft-world`: one
world per env in 2 worker processes, async recv of 8); "raw bridge" drives the same pool with
random actions and no learner. Steps/s are end-to-end (acting + learning) after a warm-up that
compiles everything and starts the workers.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
WORLD_ENVS, WORLD_ROLLOUT = 16, 64


def config(frame: int, latency: float, num_envs: int, rollout_len: int):
    from jaxcraft.config import BridgeConfig, BridgeLoadConfig
    from jaxcraft.config import EnvConfig, ExperimentConfig, NetConfig, RunConfig
    from jaxcraft.ppo import PPOConfig
    return ExperimentConfig(
        name="bench_bridged",
        env=EnvConfig(name="bridge:load", num_envs=num_envs, rollout_len=rollout_len, max_episode_steps=200),
        net=NetConfig(kind="mlp", hidden=(64, 64), separate_critic=False),
        ppo=PPOConfig(num_epochs=2, num_minibatches=2),
        run=RunConfig(total_env_steps=10**9, progress=False, tensorboard=False),
        bridge=BridgeConfig(num_workers=2, recv_batch_size=num_envs // 2, frame_size=frame,
                            load=BridgeLoadConfig(latency_s=latency), max_policy_lag=2))


def world_configs(num_envs: int = WORLD_ENVS, rollout_len: int = WORLD_ROLLOUT):
    """(fused, bridged) configs of the world scenario: the two experiment files at the same sizes."""
    from jaxcraft.config import load_experiment, override
    sizes = [f"env.num_envs={num_envs}", f"env.rollout_len={rollout_len}", "run.total_env_steps=1000000000",
             "run.progress=false", "run.tensorboard=false"]
    fused = override(load_experiment(ROOT / "experiments" / "world_builtin.py"),
                     sizes + [f"env.reset_pool_size={num_envs}"])
    bridged = override(load_experiment(ROOT / "experiments" / "world_bridged.py"), sizes)
    assert (fused.net, fused.ppo) == (bridged.net, bridged.ppo), "the two experiments must train the same way"
    return fused, bridged


def _random_actions(env, rng, n: int) -> np.ndarray:
    space = env.action_space
    high = np.asarray(space.nvec) if hasattr(space, "nvec") else space.n
    return env.to_bridge_action(rng.integers(0, high, (n, *np.shape(high))))


def raw_bridge(cfg, seconds: float) -> float:
    from bridge import Pool, PoolConfig
    from jaxcraft.build import make_bridged_env
    env = make_bridged_env(cfg)
    n, b = cfg.env.num_envs, cfg.bridge.recv_batch_size
    rng = np.random.default_rng(0)
    with Pool(env.factory, PoolConfig(num_envs=n, num_workers=cfg.bridge.num_workers, batch_size=b),
              spec=env.spec) as pool:
        pool.async_reset()
        for _ in range(2 * n // b):  # warm-up: workers up, first steps done
            batch = pool.recv()
            pool.send(_random_actions(env, rng, len(batch)), batch.env_ids)
        steps, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            batch = pool.recv()
            pool.send(_random_actions(env, rng, len(batch)), batch.env_ids)
            steps += len(batch)
        return steps / (time.perf_counter() - t0)


def fused(cfg, updates: int) -> float:
    """End-to-end env steps/s of the fused trainer (one warm-up update compiles it)."""
    import jax
    from jaxcraft.build import make_trainer
    trainer = make_trainer(cfg)
    state = trainer.init(jax.random.key(0))
    state, m = trainer.run(state, 1)
    jax.block_until_ready((state, m))
    t0 = time.perf_counter()
    state, m = trainer.run(state, updates)
    jax.block_until_ready((state, m))
    return updates * trainer.env_steps_per_update / (time.perf_counter() - t0)


def bridged(cfg, updates: int) -> tuple[float, dict]:
    import jax
    from jaxcraft.build import make_trainer
    with make_trainer(cfg) as trainer:
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
    parser.add_argument("--quick", action="store_true", help="fewer updates / seconds (≈5 min on 2 shared cores)")
    args = parser.parse_args()
    updates, seconds = (6, 8.0) if args.quick else (20, 30.0)
    world_updates = 4 if args.quick else 12
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
    fused_cfg, bridged_cfg = world_configs()
    w_raw = raw_bridge(bridged_cfg, seconds)
    w_sps, w_info = bridged(bridged_cfg, world_updates)
    w_fused = fused(fused_cfg, world_updates)
    n, b = WORLD_ENVS, bridged_cfg.bridge.recv_batch_size
    print(f"{'world':<12}{'raw bridge':<16}{n:>5}{w_raw:>10.0f}{1.0:>7.2f}x  random actions, no learner; "
          f"{bridged_cfg.bridge.num_workers} workers × {n // bridged_cfg.bridge.num_workers} worlds, recv {b}")
    print(f"{'world':<12}{'bridged PPO':<16}{n:>5}{w_sps:>10.0f}{w_sps / w_raw:>7.2f}x  world_bridged, T={WORLD_ROLLOUT}, "
          f"{world_updates} updates; policy lag max {w_info['lag_max']}, dropped {w_info['dropped']}, "
          f"inference {w_info['inference_ms']:.1f} ms/batch of {b}")
    print(f"{'world':<12}{'fused PPO':<16}{n:>5}{w_fused:>10.0f}{w_fused / w_raw:>7.2f}x  world_builtin at {n} envs × "
          f"T={WORLD_ROLLOUT}, {world_updates} updates; fused/bridged = {w_fused / w_sps:.2f}x")


if __name__ == "__main__":
    main()
