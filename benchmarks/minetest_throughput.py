"""Env steps/s of N Minetest instances through bridge.Pool vs gymnasium AsyncVectorEnv, same run.

    python benchmarks/minetest_throughput.py [--instances 1,2,4] [--steps 60] [--frame 32]

Both systems host the same simulator (`bridge.adapters.minetest_env.MinetestSimulator`, one
instance per worker process; AsyncVectorEnv drives a gymnasium wrapper of it) and step random
actions synchronously after one reset. Per instance: CPU cores used by its Xvfb + Minetest
processes (utime + stime over the stepping window / wall time) and their resident memory.
Minetest runs in real time, so steps/s is bounded by 1 / step_s per instance (20 at 50 ms);
on a shared machine the client's frame rate, not the transport, is what falls first.
Prints the machine (lscpu model, cores) and the load average before and after.
"""
from __future__ import annotations

import argparse
import os
import time

import gymnasium as gym
import numpy as np

from bridge import Pool, PoolConfig
from bridge.adapters.minetest_env import NVEC, MinetestConfig, MinetestFactory, MinetestSimulator
from jaxcraft.machine import cpu_description  # no JAX: jaxcraft's root imports lazily

_TICK = os.sysconf("SC_CLK_TCK")


class MinetestGymEnv(gym.Env):
    """A gymnasium view of one MinetestSimulator (for AsyncVectorEnv)."""

    def __init__(self, config: MinetestConfig, index: int = 0):
        self.sim = MinetestSimulator(config, index)
        s = config.frame_size
        self.observation_space = gym.spaces.Box(0, 255, (s, s, 3), np.uint8)
        self.action_space = gym.spaces.MultiDiscrete(NVEC)

    def reset(self, *, seed=None, options=None):
        return self.sim.reset(seed)["rgb"], {}

    def step(self, action):
        obs, r, term, trunc = self.sim.step({"action": np.asarray(action, np.int32)})
        return obs["rgb"], r, term, trunc, {}

    def close(self):
        self.sim.close()


def _engine_stats(pids_root: int) -> tuple[float, float, int]:
    """(cpu seconds, rss MB, number of engine processes) of Xvfb + minetest under `pids_root`."""
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    parts = f.read().rsplit(")", 1)[1].split()
                kids.setdefault(int(parts[1]), []).append(int(d))
            except (OSError, IndexError):
                pass
    todo, cpu, rss, n = [pids_root], 0.0, 0.0, 0
    while todo:
        for c in kids.get(todo.pop(), []):
            todo.append(c)
            try:
                cmd = open(f"/proc/{c}/cmdline", "rb").read()
                if b"minetest" not in cmd.split(b"\0")[0] and b"Xvfb" not in cmd.split(b"\0")[0]:
                    continue
                parts = open(f"/proc/{c}/stat").read().rsplit(")", 1)[1].split()
                cpu += (int(parts[11]) + int(parts[12])) / _TICK
                rss += int(parts[21]) * os.sysconf("SC_PAGE_SIZE") / 2**20
                n += 1
            except (OSError, IndexError):
                pass
    return cpu, rss, n


def _run(kind: str, n: int, steps: int, config: MinetestConfig) -> dict:
    rng = np.random.default_rng(0)
    acts = rng.integers(0, NVEC, (steps, n, len(NVEC))).astype(np.int32)
    acts[:, :, 7:9] = 0   # no attack/use: keep the scene intact
    if kind == "bridge":
        factory = MinetestFactory(config)
        env = Pool(factory, PoolConfig(num_envs=n, num_workers=n, reset_timeout=180), spec=factory.spec())
        env.reset()
        step = lambda a: env.step({"action": a})  # noqa: E731
    else:
        env = gym.vector.AsyncVectorEnv([lambda i=i: MinetestGymEnv(config, i) for i in range(n)],
                                        shared_memory=True, context="spawn")
        env.reset(seed=0)
        step = env.step
    try:
        c0, _, _ = _engine_stats(os.getpid())
        t0 = time.perf_counter()
        for t in range(steps):
            step(acts[t])
        wall = time.perf_counter() - t0
        c1, rss, procs = _engine_stats(os.getpid())
    finally:
        env.close()
    return dict(system=kind, instances=n, steps_per_s=n * steps / wall, cpu_per_instance=(c1 - c0) / wall / n,
                rss_mb_per_instance=rss / n, engine_procs=procs)


def jitter(config: MinetestConfig, steps: int) -> None:
    """Step semantics, measured: wall time per env step, server steps per env step and the
    distance walked per `forward` step (its spread is the lock-step error)."""
    sim = MinetestSimulator(config, 0)
    try:
        sim.reset(0)
        fwd = np.array([1] + [0] * 8 + [5, 5], np.int32)
        walls, server, moved = [], [], []
        for _ in range(steps):
            s0, p0 = sim.state.step, np.array(sim.state.eye)
            t0 = time.perf_counter()
            _, _, term, trunc = sim.step({"action": fwd})
            walls.append(time.perf_counter() - t0)
            server.append(sim.state.step - s0)
            moved.append(np.linalg.norm((np.array(sim.state.eye) - p0)[[0, 2]]))
            if term or trunc:
                sim.reset(None)
        w, m = np.array(walls[5:]), np.array(moved[5:])
        print(f"step wall time: mean {1e3 * w.mean():.1f} ms, std {1e3 * w.std():.1f} ms, p95 {1e3 * np.percentile(w, 95):.1f} ms; "
              f"server steps per env step: mean {np.mean(server[5:]):.2f}, max {max(server[5:])}; "
              f"forward per step (walking, as the mod reports it): mean {m.mean():.3f} blocks, std {m.std():.3f}")
    finally:
        sim.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--instances", default="1,2,4")
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--frame", type=int, default=32)
    p.add_argument("--jitter-steps", type=int, default=100, help="0: skip the step-jitter measurement")
    args = p.parse_args()
    print(f"machine: {cpu_description()}; load average before: {os.getloadavg()}")
    config = MinetestConfig(frame_size=args.frame, max_steps=10_000)
    if args.jitter_steps:
        jitter(config, args.jitter_steps)
    print("| instances | system | env steps/s | bridge / async | CPU cores per instance | RSS MB per instance |")
    print("|---|---|---|---|---|---|")
    for n in (int(x) for x in args.instances.split(",")):
        rows = [_run(kind, n, args.steps, config) for kind in ("bridge", "async")]
        ratio = rows[0]["steps_per_s"] / rows[1]["steps_per_s"]
        for r in rows:
            print(f"| {n} | {r['system']} | {r['steps_per_s']:.1f} | {ratio:.2f} | {r['cpu_per_instance']:.2f} | "
                  f"{r['rss_mb_per_instance']:.0f} |", flush=True)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
