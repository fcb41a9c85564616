"""A/B the ray caster: this checkout's `jaxcraft/world/render.py` against another file (e.g. the
same module of another checkout), both in one process, timed interleaved, outputs compared.

    python benchmarks/render_ab.py OLD/jaxcraft/world/render.py                   # quickstart env + world N=1024 64²
    python benchmarks/render_ab.py OLD/jaxcraft/world/render.py --cases world:256:64 --repeats 7

On a shared machine timings drift by 2x between runs minutes apart; calling the two programs in
turn, call after call, exposes both to the same load, so their ratio is what this measures
(best of `--repeats` per program). For each case it builds, once with each renderer (the other
file is loaded as a module and swapped into every caller: world.env, world.interact, tasks.env,
tasks.goal_camera, tasks.synthesis), a lax.scan of `--scan` steps of:

    render     the agent frame of every env (vmapped `render`)
    step_env   the env's own step, vmapped, no reset (frames and rewards consumed)
    batched    `BatchedEnv.step` with the auto-reset pool (the training path)

and prints old ms, new ms, speed-up, and whether the two programs' outputs are identical.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import pathlib
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import jaxcraft.world.render  # noqa: E402,F401
from jaxcraft.envs import BatchedEnv  # noqa: E402
from jaxcraft.machine import cpu_description  # noqa: E402
from jaxcraft.world import actions as A  # noqa: E402
from jaxcraft.world.edit import agent_camera  # noqa: E402

NEW = sys.modules["jaxcraft.world.render"]
CALLERS = ["jaxcraft.world.env", "jaxcraft.world.interact", "jaxcraft.tasks.env", "jaxcraft.tasks.goal_camera",
           "jaxcraft.tasks.synthesis"]


def load(path: str):
    spec = importlib.util.spec_from_file_location("render_other", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@contextlib.contextmanager
def renderer(mod):
    """Every caller's `render`/`cast`/`Frame`/`object_mask` names bound to `mod`'s while tracing."""
    import importlib
    saved = []
    for name in CALLERS:
        m = importlib.import_module(name)
        for attr in ("render", "cast", "Frame", "object_mask"):
            if hasattr(m, attr) and hasattr(mod, attr):
                saved.append((m, attr, getattr(m, attr)))
                setattr(m, attr, getattr(mod, attr))
    try:
        yield
    finally:
        for m, attr, v in saved:
            setattr(m, attr, v)


def make_case(name):
    from jaxcraft.world import JaxCraftEnv, WorldStatic
    if name == "quickstart":
        from jaxcraft.build import make_env
        from jaxcraft.config import load_experiment
        config = load_experiment(ROOT / "experiments" / "quickstart.py")
        env, params = make_env(config)
        return "quickstart task env", env, params, config.env.num_envs, config.env.reset_pool_size
    n, size = map(int, name.split(":")[1:])
    env = JaxCraftEnv(WorldStatic(height=size, width=size))
    return f"JaxCraftEnv {size}x{size}", env, env.default_params.replace(
        max_steps_in_episode=jnp.asarray(50, jnp.int32)), n, 64


def checksum(tree):
    return sum(jnp.sum(x.astype(jnp.float32)) for x in jax.tree.leaves(tree))


def programs(env, params, n, pool, scan):
    """(name, jitted fn, args) of the three timed programs, traced with the renderer in place."""
    world_of = (lambda s: s.world) if hasattr(env, "task_static") else (lambda s: s)
    be = BatchedEnv(env, params, pool_size=pool, refresh_per_step=1)
    state = jax.jit(be.reset)(jax.random.split(jax.random.key(0), n), jax.random.key(1))
    nvec = jnp.asarray(A.NVEC)
    static = env.static
    render_fn = sys.modules["jaxcraft.world.env"].render

    def run_render(states, key):
        worlds = jax.vmap(world_of)(states)
        cams = jax.vmap(agent_camera)(worlds)

        def body(acc, k):
            c = cams.replace(yaw=cams.yaw + jax.random.uniform(k, (n,), minval=-0.05, maxval=0.05))
            f = jax.vmap(lambda w, c: render_fn(static, w, c))(worlds, c)
            return acc + checksum(f.rgb) + checksum(f.obj_id), f
        return jax.lax.scan(body, jnp.float32(0), jax.random.split(key, scan))

    def run_step(states, key):
        def body(carry, k):
            s, acc = carry
            ka, ks = jax.random.split(k)
            act = jax.random.randint(ka, (n, A.NUM_FACTORS), 0, nvec)
            obs, s, r, *_ = jax.vmap(env.step_env, in_axes=(0, 0, 0, None))(jax.random.split(ks, n), s, act, params)
            return (s, acc + checksum(obs) + checksum(r)), obs["rgb"]
        return jax.lax.scan(body, (states, jnp.float32(0)), jax.random.split(key, scan))

    def run_batched(bstate, key):
        def body(s, k):
            ka, ks = jax.random.split(k)
            act = jax.random.randint(ka, (n, A.NUM_FACTORS), 0, nvec)
            s, out = be.step(s, act, jax.random.split(ks, n))
            return s, out.obs["rgb"]
        return jax.lax.scan(body, bstate, jax.random.split(key, scan))

    key = jax.random.key(2)
    out = []
    for name, fn, args in (("render", run_render, (state.env_state, key)),
                           ("step_env", run_step, (state.env_state, key)),
                           ("batched", run_batched, (state, key))):
        out.append((name, jax.jit(fn).lower(*args).compile(), args))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("other", help="path of the other render.py (the 'old' side)")
    p.add_argument("--cases", nargs="+", default=["quickstart", "world:1024:64"], help="quickstart | world:N:SIZE")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--scan", type=int, default=4, help="steps per timed call")
    args = p.parse_args()
    old = load(args.other)
    load_avg = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"# {cpu_description()}, load average {load_avg}, jax {jax.__version__}; old = {args.other}", flush=True)
    print("| case | N | part | old ms/step | new ms/step | speed-up | outputs identical |")
    print("|---|---:|---|---:|---:|---:|---|")
    for case in args.cases:
        label, env, params, n, pool = make_case(case)
        with renderer(old):
            progs_old = programs(env, params, n, pool, args.scan)
        progs_new = programs(env, params, n, pool, args.scan)
        for (name, f_old, a), (_, f_new, _) in zip(progs_old, progs_new):
            o_old, o_new = jax.block_until_ready(f_old(*a)), jax.block_until_ready(f_new(*a))
            same = all(np.array_equal(np.asarray(x), np.asarray(y))
                       for x, y in zip(jax.tree.leaves(o_old), jax.tree.leaves(o_new))
                       if not jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key))
            t_old, t_new = [], []
            for _ in range(args.repeats):
                for f, acc in ((f_old, t_old), (f_new, t_new)):
                    t0 = time.perf_counter()
                    jax.block_until_ready(f(*a))
                    acc.append(time.perf_counter() - t0)
            ms_old, ms_new = 1e3 * min(t_old) / args.scan, 1e3 * min(t_new) / args.scan
            print(f"| {label} | {n} | {name} | {ms_old:,.2f} | {ms_new:,.2f} | {ms_old / ms_new:.2f}x | "
                  f"{'yes' if same else 'NO'} |", flush=True)


if __name__ == "__main__":
    main()
