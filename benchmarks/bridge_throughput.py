"""Frames/s of bridge.Pool (spin and block hand-off) beside PufferLib and AsyncVectorEnv, one run.

    python benchmarks/bridge_throughput.py [--quick] [--seconds S] [--only null-64 --only stragglers]
                                           [--workers 1,2,4] [--k 1,4,16] [--spin-us US]

Every row runs the same simulator code in every system, in this one run:
  null-64     NullSimEnv, 64x64x3 uint8 frames, no work per step: pure transport overhead
  null-360p   NullSimEnv, 360x640x3 (MineRL-sized) frames
  stragglers  LoadSimEnv, sleeping a lognormal latency per step (median 4 ms, sigma 1)
  crafter     Crafter (only with --only crafter; needs jaxcraft[crafter]): 2 workers x 32,
              and the ideal: processes x the single-process rate measured in this run
for W workers hosting K simulators each (N = W*K envs), in two modes:
  sync        every env steps, the caller waits for all (bridge `step`, PufferLib batch = N)
  async       the caller receives the first N/2 envs that are ready and sends them actions
              (bridge `recv`/`send` with batch_size N/2; PufferLib batch_size N/2, which it
              supports only when N/2 is a multiple of K, i.e. W even)
Systems (columns):
  spin        bridge.Pool with its default hand-off (spin on shared-memory counters, then block)
  block       bridge.Pool(spin_us=0): pipe + epoll only (the hand-off before issue 33)
  puffer      PufferLib Multiprocessing (pip install pufferlib-core; its workers busy-wait on
              shared-memory flags); "not measured" when it is not importable
  asyncvec    gymnasium AsyncVectorEnv(shared_memory=True) with W processes, one env each (it
              cannot host several per process; measured once per scenario and W, and its async
              mode is its step); ratios for K > 1 compare frames/s at equal processes
CPU%: CPU time (user + system) of the parent and its workers over the measured window / wall
time, in % of one core (200% = both cores of a 2-core machine busy the whole time).
Absolute numbers depend on what else runs on the machine; the ratios are measured side by side.
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import sys
import time
from typing import Callable

import numpy as np
from gymnasium.vector import AsyncVectorEnv

from bridge import Pool, PoolConfig
from bridge.adapters.load_sim import LoadSimConfig, LoadSimFactory, NullSimFactory

HAS_SPIN = "spin_us" in {f.name for f in dataclasses.fields(PoolConfig)}  # older bridges: block only


def load_pufferlib():
    """(pufferlib.vector, pufferlib.emulation, version) or None.

    pufferlib-core's package __init__ also imports its torch models, which its
    Multiprocessing backend does not use; without torch installed that import fails after
    the vector and emulation modules have loaded, and those are what this script uses.
    """
    try:
        from importlib.metadata import version
        ver = version("pufferlib-core")
    except Exception:
        try:
            ver = version("pufferlib")
        except Exception:
            return None
    try:
        import pufferlib.emulation  # noqa: F401
        import pufferlib.vector  # noqa: F401
    except ImportError:
        pass
    vec, emu = sys.modules.get("pufferlib.vector"), sys.modules.get("pufferlib.emulation")
    if vec is None or emu is None or not hasattr(vec, "Multiprocessing"):
        return None
    return vec, emu, ver


def machine() -> str:
    info: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break  # the first processor is enough
                k, _, v = line.partition(":")
                info[k.strip()] = v.strip()
    except OSError:
        pass
    return (f"CPU: vendor {info.get('vendor_id', '?')}, family {info.get('cpu family', '?')}, "
            f"model {info.get('model', '?')} ({info.get('model name', '?')}); "
            f"{os.cpu_count()} logical cores; load average {os.getloadavg()[0]:.2f}")


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


@dataclasses.dataclass
class Result:
    fps: float
    cpu_pct: float


def timed(loop_step: Callable[[], None], frames_per_call: int, seconds: float, pids) -> Result:
    """Frames/s and CPU% (parent + `pids`) of `loop_step` repeated for `seconds`."""
    warm_until = time.perf_counter() + min(0.3, seconds / 3)
    while time.perf_counter() < warm_until:
        loop_step()
    n, t0, c0 = 0, time.perf_counter(), cpu_seconds(pids)
    while True:
        loop_step()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= seconds and n >= 5:
            return Result(n * frames_per_call / dt, 100.0 * (cpu_seconds(pids) - c0) / dt)


# ---------------------------------------------------------------------------- systems
def run_bridge(factory, W: int, K: int, mode: str, seconds: float, spin_us: float | None) -> Result:
    N = W * K
    batch = N if mode == "sync" else max(1, N // 2)
    kw = {} if spin_us is None else {"spin_us": spin_us}
    with Pool(factory, PoolConfig(num_envs=N, num_workers=W, batch_size=batch, **kw)) as pool:
        pids = pool.worker_pids()
        if mode == "sync":
            pool.reset()
            actions = np.zeros(N, np.int64)
            return timed(lambda: pool.step(actions), N, seconds, pids)
        pool.async_reset()
        actions = np.zeros(batch, np.int64)

        def step():
            b = pool.recv()
            pool.send(actions, b.env_ids)
        result = timed(step, batch, seconds, pids)
        pool.drain()
        return result


def run_puffer(puffer, make_env, W: int, K: int, mode: str, seconds: float) -> Result | str:
    vec, emu, _ = puffer
    N = W * K
    batch = N if mode == "sync" else N // 2
    if batch < 1 or batch % K:
        return "n/a"  # PufferLib batches whole workers
    creator = functools.partial(emu.GymnasiumPufferEnv, env_creator=make_env)
    env = vec.make(creator, backend=vec.Multiprocessing, num_envs=N, num_workers=W,
                   batch_size=batch, overwork=True)
    try:
        env.async_reset(0)
        env.recv()
        actions = np.zeros(batch, np.int32)

        def step():
            env.send(actions)
            env.recv()
        return timed(step, batch, seconds, [p.pid for p in env.processes])
    finally:
        env.close()
        for p in env.processes:
            p.join(timeout=5)


def run_asyncvec(make_env, W: int, seconds: float) -> Result:
    env = AsyncVectorEnv([make_env] * W, shared_memory=True, context="spawn")
    try:
        env.reset(seed=0)
        actions = np.zeros(W, np.int64)
        return timed(lambda: env.step(actions), W, seconds, [p.pid for p in env.processes])
    finally:
        env.close()


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
    return timed(step, k, seconds, ()).fps


# ---------------------------------------------------------------------------- table
def fmt_fps(r) -> str:
    return f"{r.fps:>9.0f}" if isinstance(r, Result) else f"{r:>9}"


def fmt_cpu(r) -> str:
    return f"{r.cpu_pct:>5.0f}" if isinstance(r, Result) else f"{'-':>5}"


def ratio(a, b) -> str:
    return f"{a.fps / b.fps:>6.2f}x" if isinstance(a, Result) and isinstance(b, Result) else f"{'-':>7}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: null-64 only, 1-2 workers, K 1 and 4, 0.3 s per row")
    ap.add_argument("--only", choices=("null-64", "null-360p", "stragglers", "crafter"), action="append",
                    help="run only these scenarios (repeatable; default: all)")
    ap.add_argument("--workers", default=None, help="worker counts, comma-separated (default 1,2,4)")
    ap.add_argument("--k", default=None, help="simulators per worker, comma-separated (default 1,4,16)")
    ap.add_argument("--modes", default="sync,async", help="sync, async or both (default both)")
    ap.add_argument("--seconds", type=float, default=None, help="seconds per row (default 2, --quick 0.3)")
    ap.add_argument("--spin-us", type=float, default=None,
                    help="spin_us of the 'spin' column (default: PoolConfig's default)")
    ap.add_argument("--no-puffer", action="store_true", help="skip PufferLib even if installed")
    args = ap.parse_args()
    secs = args.seconds or (0.3 if args.quick else 2.0)
    scenarios = args.only or (["null-64"] if args.quick else ["null-64", "null-360p", "stragglers"])
    workers = [int(x) for x in (args.workers or ("1,2" if args.quick else "1,2,4")).split(",")]
    ks = [int(x) for x in (args.k or ("1,4" if args.quick else "1,4,16")).split(",")]
    modes = [m for m in args.modes.split(",") if m]
    puffer = None if args.no_puffer else load_pufferlib()

    print(machine())
    print(f"peers: PufferLib {'pufferlib-core ' + puffer[2] if puffer else 'not importable (not measured)'}"
          f"; bridge spin column: {'spin_us=' + str(args.spin_us or PoolConfig.spin_us) if HAS_SPIN else 'not measured (this bridge has no spin_us)'}")
    print(f"{'quick' if args.quick else 'full'} run, {secs:.1f} s per measurement\n")
    head = (f"{'scenario':<10} {'W':>2} {'K':>2} {'mode':<5} {'spin':>9} {'block':>9} {'puffer':>9} "
            f"{'asyncvec':>9} {'spin/puf':>8} {'spin/AV':>8} {'spin/blk':>8} {'blk/puf':>8} "
            f"{'cpu%spin':>8} {'blk':>5} {'puf':>5} {'AV':>5}")
    print(head, flush=True)

    stragglers = LoadSimConfig(frame_shape=(64, 64, 3), latency_median_s=0.004, latency_sigma=1.0,
                               terminate_prob=0.0, episode_length=10**9)
    for scen in scenarios:
        if scen == "stragglers":
            fac = LoadSimFactory(stragglers)
            grid = [(8, 1), (2, 4)]  # sleeping simulators: more processes than cores is honest
        elif scen == "crafter":
            try:
                from bridge.adapters.crafter_env import CrafterFactory
            except ImportError:
                print("crafter not installed: skipping the crafter rows")
                continue
            fac = CrafterFactory()
            grid = [(2, 32)]
            single = crafter_single_rate(32, secs)
            print(f"crafter: one process stepping 32 envs in a loop: {single:.0f} frames/s; "
                  f"ideal for 2 processes: {2 * single:.0f}", flush=True)
        else:
            fac = NullSimFactory((64, 64, 3) if scen == "null-64" else (360, 640, 3))
            grid = [(w, k) for w in workers for k in ks]
        asyncvec: dict[int, Result] = {}
        for W, K in grid:
            if W not in asyncvec:
                asyncvec[W] = run_asyncvec(fac.gym_env, W, secs)
            av = asyncvec[W]
            for mode in modes:
                spin = run_bridge(fac, W, K, mode, secs, args.spin_us) if HAS_SPIN else "not meas."
                block = run_bridge(fac, W, K, mode, secs, 0.0 if HAS_SPIN else None)
                puf = run_puffer(puffer, fac.gym_env, W, K, mode, secs) if puffer else "not meas."
                print(f"{scen:<10} {W:>2} {K:>2} {mode:<5} {fmt_fps(spin)} {fmt_fps(block)} "
                      f"{fmt_fps(puf)} {fmt_fps(av)} {ratio(spin, puf):>8} {ratio(spin, av):>8} "
                      f"{ratio(spin, block):>8} {ratio(block, puf):>8} {fmt_cpu(spin):>8} "
                      f"{fmt_cpu(block)} {fmt_cpu(puf)} {fmt_cpu(av)}", flush=True)
    print(f"\nload average (1/5/15 min) at the end: {os.getloadavg()}")
    print("frames/s: env steps per second (all envs); asyncvec: W processes, one env each, "
          "sync step (its async mode is the same); n/a: PufferLib cannot batch N/2 envs here")


if __name__ == "__main__":
    main()
