"""Frames/s of bridge.Pool vs gymnasium's AsyncVectorEnv(shared_memory=True), same run.

    python benchmarks/bridge_throughput.py [--quick] [--procs 2]

Scenarios (same simulator code on both sides; process counts printed per row):
  null-64     NullSimEnv 64x64x3 frames: pure transport overhead
  null-360p   NullSimEnv 360x640x3 (MineRL-sized) frames
  stragglers  LoadSimEnv, lognormal latency (median 4 ms, sigma 1.0): sync vs async recv
  crafter     Crafter, vs ideal = processes x single-process rate
Ratios are measured in this run, on whatever CPU is available (shared machines are noisy).
"""
from __future__ import annotations

import argparse
import inspect
import os
import time
from dataclasses import dataclass

import numpy as np
from gymnasium.vector import AsyncVectorEnv

from bridge import BridgeVectorEnv, Pool, PoolConfig
from bridge.adapters.load_sim import LoadSimConfig, LoadSimFactory, NullSimFactory

# The env_fns form of BridgeVectorEnv (absent in older versions of the bridge).
HAS_VECTOR_ENV_FNS = "autoreset_mode" in inspect.signature(BridgeVectorEnv.__init__).parameters


@dataclass
class Row:
    scenario: str
    system: str
    procs: int
    envs: int
    fps: float
    us_per_step: float  # wall time per batched step (the loop the trainer would run)
    cpu_us_per_frame: float = float("nan")  # CPU time of parent + workers per frame


def cpu_seconds(pids) -> float:
    """CPU time (user + system) of this process and of `pids` so far (Linux /proc)."""
    total = time.process_time()
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


def timed(loop_step, frames_per_step: int, seconds: float, pids=()) -> tuple[float, float, float]:
    """(frames/s, wall us per step, CPU us per frame of this process + `pids`). CPU time
    per frame is what a loaded, shared machine distorts least."""
    for _ in range(3):
        loop_step()  # warm-up
    n, t0, c0 = 0, time.perf_counter(), cpu_seconds(pids)
    while True:
        loop_step()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= seconds and n >= 5:
            cpu = cpu_seconds(pids) - c0
            return n * frames_per_step / dt, dt / n * 1e6, cpu / (n * frames_per_step) * 1e6


def run_async_vector_env(make, n: int, seconds: float) -> tuple[float, float]:
    env = AsyncVectorEnv([make] * n, shared_memory=True, context="spawn")
    try:
        env.reset(seed=0)
        actions = np.zeros(n, np.int64)
        return timed(lambda: env.step(actions), n, seconds, [p.pid for p in env.processes])
    finally:
        env.close()


def run_bridge_vector_env(make, n: int, procs: int, seconds: float) -> tuple[float, float]:
    """The gymnasium drop-in form, BridgeVectorEnv(env_fns): infos pickled when non-empty."""
    env = BridgeVectorEnv([make] * n, num_workers=procs)
    try:
        env.reset(seed=0)
        actions = np.zeros(n, np.int64)
        return timed(lambda: env.step(actions), n, seconds, env.pool.worker_pids())
    finally:
        env.close()


def run_pool_sync(factory, n: int, procs: int, seconds: float, copy: bool = True,
                  **kw) -> tuple[float, float]:
    with Pool(factory, PoolConfig(num_envs=n, num_workers=procs, **kw)) as pool:
        pool.reset()
        actions = np.zeros(n, np.int64)
        return timed(lambda: pool.step(actions, copy=copy), n, seconds, pool.worker_pids())


def run_pool_async(factory, n: int, procs: int, batch: int, seconds: float) -> tuple[float, float]:
    with Pool(factory, PoolConfig(num_envs=n, num_workers=procs, batch_size=batch)) as pool:
        pool.async_reset()
        actions = np.zeros(batch, np.int64)

        def step():
            b = pool.recv()
            pool.send(actions, b.env_ids)
        return timed(step, batch, seconds, pool.worker_pids())


def crafter_single_rate(k: int, seconds: float) -> float:
    from bridge.adapters.crafter_env import CrafterEnv
    envs = [CrafterEnv() for _ in range(k)]
    for i, e in enumerate(envs):
        e.reset(seed=i)

    def step():
        for e in envs:
            _, _, te, tr, _ = e.step(0)
            if te or tr:
                e.reset()
    return timed(step, k, seconds)[0]


def crafter_concurrent_rate(procs: int, k: int, seconds: float) -> float:
    """`procs` independent in-process loops at once: what this (shared) CPU can do now."""
    import multiprocessing as mp
    with mp.get_context("spawn").Pool(procs) as workers:
        return float(sum(workers.starmap(crafter_single_rate, [(k, seconds)] * procs)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="short measurements (~1 min total)")
    ap.add_argument("--procs", type=int, default=min(2, os.cpu_count() or 1),
                    help="worker processes for both systems (default: min(2, cores))")
    ap.add_argument("--envs-per-proc", type=int, default=4)
    ap.add_argument("--crafter-envs-per-proc", type=int, default=32,
                    help="Crafter envs per worker (~1 ms steps: more envs per message amortise the "
                         "parent's per-recv work, which shares the cores with the workers)")
    ap.add_argument("--only", choices=("null", "stragglers", "crafter"), action="append",
                    help="run only these scenario groups (repeatable; default: all)")
    ap.add_argument("--seconds", type=float, default=None, help="seconds per row (default 5, --quick 1.5)")
    args = ap.parse_args()
    secs = args.seconds or (1.5 if args.quick else 5.0)
    groups = set(args.only or ("null", "stragglers", "crafter"))
    P, K = args.procs, args.envs_per_proc
    rows: list[Row] = []

    for name, shape in (("null-64", (64, 64, 3)), ("null-360p", (360, 640, 3))) if "null" in groups else ():
        fac = NullSimFactory(shape)
        rows.append(Row(name, "AsyncVectorEnv", P, P, *run_async_vector_env(fac.gym_env, P, secs)))
        rows.append(Row(name, "bridge sync", P, P, *run_pool_sync(fac, P, P, secs)))
        if HAS_VECTOR_ENV_FNS:
            rows.append(Row(name, "BridgeVectorEnv fns", P, P,
                            *run_bridge_vector_env(fac.gym_env, P, P, secs)))
        for k in (K, 4 * K) if name == "null-64" else (K,):
            rows.append(Row(name, f"bridge sync K={k}", P, P * k, *run_pool_sync(fac, P * k, P, secs)))
        if name == "null-360p":  # copy=False: slab views, the consumer (bridge_arrays) copies
            rows.append(Row(name, "bridge sync views", P, P,
                            *run_pool_sync(fac, P, P, secs, copy=False)))
            rows.append(Row(name, f"bridge sync K={K} views", P, P * K,
                            *run_pool_sync(fac, P * K, P, secs, copy=False)))

    # Stragglers: sleeping simulators, so more processes than cores is honest here.
    S = 8
    lat = LoadSimConfig(frame_shape=(64, 64, 3), latency_median_s=0.004, latency_sigma=1.0,
                        terminate_prob=0.0, episode_length=10**9)
    fac = LoadSimFactory(lat)
    if "stragglers" in groups:
        rows.append(Row("stragglers", "AsyncVectorEnv", S, S, *run_async_vector_env(fac.gym_env, S, secs)))
        rows.append(Row("stragglers", "bridge sync", S, S, *run_pool_sync(fac, S, S, secs)))
        rows.append(Row("stragglers", "bridge async B=N/2", S, S, *run_pool_async(fac, S, S, S // 2, secs)))

    ideal = None
    try:
        if "crafter" not in groups:
            raise ImportError
        from bridge.adapters.crafter_env import CrafterFactory
        K = args.crafter_envs_per_proc
        single = crafter_single_rate(K, secs)
        concurrent = crafter_concurrent_rate(P, K, secs)
        ideal = P * single
        cf = CrafterFactory()
        rows.append(Row("crafter", "in-process 1 proc", 1, K, single, 0.0))
        rows.append(Row("crafter", f"{P} in-process loops", P, P * K, concurrent, 0.0))
        rows.append(Row("crafter", "AsyncVectorEnv", P, P, *run_async_vector_env(cf.gym_env, P, secs)))
        rows.append(Row("crafter", f"bridge sync K={K}", P, P * K, *run_pool_sync(cf, P * K, P, secs)))
        rows.append(Row("crafter", f"bridge async K={K}", P, P * K,
                        *run_pool_async(cf, P * K, P, P * K // 2, secs)))
    except ImportError:
        if "crafter" in groups:
            print("crafter not installed: skipping the crafter rows")

    peer = {r.scenario: r.fps for r in rows if r.system == "AsyncVectorEnv"}
    print(f"\nload average (1/5/15 min) at the end: {os.getloadavg()}")
    print(f"cores visible: {os.cpu_count()} (shared with other jobs: ratios, not absolutes, "
          f"are the result); {'quick' if args.quick else 'full'} run, {secs:.1f}s per row")
    print(f"{'scenario':<11} {'system':<20} {'procs':>5} {'envs':>5} {'frames/s':>10} "
          f"{'us/step':>9} {'us/frame':>9} {'cpu us/fr':>9} {'vs Async':>9} {'vs ideal':>9}")
    footnote = ("vs ideal: crafter frames/s / (procs x single-process rate); in parentheses, "
                "/ (the same procs running plain in-process loops concurrently, i.e. what "
                "the shared CPU delivered during this run)")
    for r in rows:
        vs = f"{r.fps / peer[r.scenario]:.2f}x" if r.scenario in peer else "-"
        vi = f"{r.fps / ideal:.0%}" if (r.scenario == "crafter" and ideal and r.procs == P) else "-"
        if r.scenario == "crafter" and r.procs == P and "loops" not in r.system:
            vi += f" ({r.fps / concurrent:.0%})"
        print(f"{r.scenario:<11} {r.system:<20} {r.procs:>5} {r.envs:>5} {r.fps:>10.0f} "
              f"{r.us_per_step:>9.0f} {1e6 / r.fps:>9.1f} {r.cpu_us_per_frame:>9.1f} {vs:>9} {vi:>9}")
    print(footnote)
    print("us/step: wall time of one batched step/recv (null sim: all of it is overhead); "
          "us/frame = 1e6 / frames/s; cpu us/fr: CPU time (parent + workers, /proc) per frame")


if __name__ == "__main__":
    main()
