"""JaxCraft world throughput vs Craftax-Classic-Pixels, measured in the same run.

    python benchmarks/world_throughput.py            # full table (N = 256, 1024; 64² and 128²)
    python benchmarks/world_throughput.py --quick    # tiny smoke run
    python benchmarks/world_throughput.py --devices 2  # split the batch over 2 CPU devices

JaxCraft: `BatchedEnv(JaxCraftEnv, pool_size=P, refresh_per_step=1)` — auto-reset ON, finished
envs draw pre-generated worlds from the pool and one pool world is regenerated per step, and
rendering is on (the observation is the rendered frame). Episodes are shortened
(max_steps_in_episode=`--episode`) and start at random ages (unless `--no-stagger`), so ~N/episode
envs reset in every timed step.
Craftax-Classic-Pixels: `CraftaxClassicPixelsEnv.step` (its own auto-reset: computes a reset
every step and selects it where done), vmapped, random actions, same N.
Both run `--steps` env steps per env inside one jitted lax.scan; steps/s = N·steps / seconds.
Compile = first call of the jitted scan. Memory: bytes of the batched env state (incl. pool)
and the process's peak RSS so far. The CPU may be shared: numbers are wall-clock, as measured.
"""
from __future__ import annotations

import argparse
import os
import sys


def _parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny run: N=16, 32×32 frames, 4 steps")
    p.add_argument("--envs", type=int, nargs="+", default=[256, 1024])
    p.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    p.add_argument("--steps", type=int, default=8, help="timed steps per env")
    p.add_argument("--repeats", type=int, default=2, help="timed repeats (best is reported)")
    p.add_argument("--pool", type=int, default=64, help="reset-pool size")
    p.add_argument("--episode", type=int, default=50, help="max_steps_in_episode during the benchmark")
    p.add_argument("--devices", type=int, default=1, help="CPU devices to split the batch over")
    p.add_argument("--max-swaps", type=int, default=None,
                   help="BatchedEnv max_swaps (default: its own; 0 = full select every step, the old path)")
    p.add_argument("--no-stagger", action="store_true",
                   help="start all episodes at t=0 (they then all end in the same step) instead of at "
                        "uniformly random times, which makes ~N/episode envs reset every step")
    p.add_argument("--no-craftax", action="store_true")
    p.add_argument("--max-128-envs", type=int, default=256, help="largest N run at 128×128 (memory/time)")
    return p.parse_args()


ARGS = _parse()
if ARGS.devices > 1:
    os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={ARGS.devices}"

import resource  # noqa: E402
import time  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from jax.sharding import Mesh, NamedSharding, PartitionSpec as PS  # noqa: E402

from jaxcraft.envs import BatchedEnv  # noqa: E402
from jaxcraft.world import JaxCraftEnv, WorldStatic  # noqa: E402
from jaxcraft.world import actions as A  # noqa: E402


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _bytes(tree) -> float:
    return sum(x.nbytes for x in jax.tree.leaves(tree) if hasattr(x, "nbytes")) / 2 ** 20


def _shard(tree, n_envs):
    if ARGS.devices <= 1:
        return tree
    mesh = Mesh(jax.devices()[: ARGS.devices], ("data",))
    def put(x):
        spec = PS("data") if getattr(x, "ndim", 0) and x.shape[0] == n_envs else PS()
        return jax.device_put(x, NamedSharding(mesh, spec))
    return jax.tree.map(put, tree)


def _time(run, state, key):
    t0 = time.perf_counter()
    state, key = jax.block_until_ready(run(state, key))
    compile_s = time.perf_counter() - t0
    # One untimed warm call: the first output may differ in weak types from the input and
    # trigger one more trace/compile.
    state, key = jax.block_until_ready(run(state, key))
    best = float("inf")
    for _ in range(ARGS.repeats):
        t0 = time.perf_counter()
        state, key = jax.block_until_ready(run(state, key))
        best = min(best, time.perf_counter() - t0)
    return compile_s, best


def bench_jaxcraft(n: int, size: int, steps: int):
    static = WorldStatic(height=size, width=size)
    env = JaxCraftEnv(static)
    params = env.default_params.replace(max_steps_in_episode=jnp.asarray(ARGS.episode, jnp.int32))
    be = BatchedEnv(env, params, pool_size=min(ARGS.pool, n), refresh_per_step=1, max_swaps=ARGS.max_swaps)
    t0 = time.perf_counter()
    state = jax.block_until_ready(jax.jit(be.reset)(jax.random.split(jax.random.key(0), n), jax.random.key(1)))
    reset_s = time.perf_counter() - t0
    if not ARGS.no_stagger:
        # Episodes at uniformly random ages, as in a long training run: every step ~N/episode envs
        # finish and draw a pool world (all-at-t=0 would put every reset in one step, outside
        # the timed window).
        t = jax.random.randint(jax.random.key(3), (n,), 0, ARGS.episode, jnp.int32)
        state = state.replace(env_state=state.env_state.replace(time=t), episode_length=t)
    state = _shard(state, n)
    nvec = jnp.asarray(A.NVEC)

    @jax.jit
    def run(state, key):
        def body(carry, _):
            s, k = carry
            k, ka, ks = jax.random.split(k, 3)
            act = jax.random.randint(ka, (n, A.NUM_FACTORS), 0, nvec)
            s, out = be.step(s, act, jax.random.split(ks, n))
            return (s, k), None
        (state, key), _ = jax.lax.scan(body, (state, key), None, length=steps)
        return state, key

    compile_s, best = _time(run, state, jax.random.key(2))
    return dict(sps=n * steps / best, compile=compile_s, reset=reset_s, state_mb=_bytes(state), rss=_rss_mb())


def bench_craftax(n: int, steps: int):
    from craftax.craftax_classic.envs.craftax_pixels_env import CraftaxClassicPixelsEnv
    env = CraftaxClassicPixelsEnv()
    params = env.default_params
    obs, state = jax.jit(jax.vmap(env.reset, in_axes=(0, None)))(jax.random.split(jax.random.key(0), n), params)
    state = _shard(state, n)
    na = env.action_space(params).n

    @jax.jit
    def run(state, key):
        def body(carry, _):
            s, k = carry
            k, ka, ks = jax.random.split(k, 3)
            act = jax.random.randint(ka, (n,), 0, na)
            o, s, r, d, i = jax.vmap(env.step, in_axes=(0, 0, 0, None))(jax.random.split(ks, n), s, act, params)
            return (s, k), None
        (state, key), _ = jax.lax.scan(body, (state, key), None, length=steps)
        return state, key

    compile_s, best = _time(run, state, jax.random.key(2))
    return dict(sps=n * steps / best, compile=compile_s, state_mb=_bytes(state), rss=_rss_mb(),
                obs=tuple(obs.shape[1:]))


def main() -> int:
    if ARGS.quick:
        ARGS.envs, ARGS.sizes, ARGS.steps, ARGS.repeats, ARGS.pool = [16], [32], 4, 1, 4
    print(f"# jax {jax.__version__}, backend {jax.default_backend()}, {len(jax.devices())} device(s), "
          f"{os.cpu_count()} CPU(s); {ARGS.steps} steps × best of {ARGS.repeats}; "
          f"JaxCraft world {WorldStatic().shape}, render_steps={WorldStatic().render_steps}, "
          f"episode={ARGS.episode}, pool={ARGS.pool}", flush=True)
    rows = []
    hdr = f"{'env':<26} {'N':>5} {'frame':>8} {'steps/s':>9} {'compile s':>9} {'state MiB':>9} {'peak RSS MiB':>12}"
    print(hdr)
    print("-" * len(hdr), flush=True)
    craftax_ok = not ARGS.no_craftax
    for n in ARGS.envs:
        for size in ARGS.sizes:
            if size > 64 and n > ARGS.max_128_envs and not ARGS.quick:
                continue
            r = bench_jaxcraft(n, size, ARGS.steps)
            print(f"{'JaxCraft (3D, auto-reset)':<26} {n:>5} {f'{size}x{size}':>8} {r['sps']:>9.0f} {r['compile']:>9.1f} "
                  f"{r['state_mb']:>9.0f} {r['rss']:>12.0f}", flush=True)
            rows.append(("jaxcraft", n, size, r))
        if craftax_ok:
            try:
                r = bench_craftax(n, ARGS.steps)
                frame = "x".join(str(d) for d in r["obs"][:2])
                print(f"{'Craftax-Classic-Pixels':<26} {n:>5} {frame:>8} {r['sps']:>9.0f} {r['compile']:>9.1f} "
                      f"{r['state_mb']:>9.0f} {r['rss']:>12.0f}", flush=True)
                rows.append(("craftax", n, 0, r))
            except ImportError as e:
                print(f"Craftax-Classic-Pixels not installed ({e}); pip install 'jaxcraft[bench]'", file=sys.stderr)
                craftax_ok = False
    for kind, n, size, r in rows:
        if kind == "jaxcraft" and size == 64:
            c = [q for k2, n2, _, q in rows if k2 == "craftax" and n2 == n]
            if c:
                print(f"ratio JaxCraft 64x64 / Craftax-Classic-Pixels at N={n}: {r['sps'] / c[0]['sps']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
