"""Where one batched JaxCraft world step goes (issue 34): each part jitted and timed alone.

    python benchmarks/world_profile.py                         # both cases below
    python benchmarks/world_profile.py --cases quickstart      # the quickstart task env, N=64, 32×32
    python benchmarks/world_profile.py --cases world1024       # JaxCraftEnv, N=1,024, 64×64
    python benchmarks/world_profile.py --cases world:256:32    # JaxCraftEnv, N=256, 32×32

Each row is one jitted program: a lax.scan of `--scan` steps of one part, vmapped over the batch,
started from the same realistic states (a batch reset, then `--warm` random steps, episodes at
staggered ages), timed as the best of `--repeats` calls after a warm-up call, per step. Parts that
change the state carry it through the scan as training does (voxel edits in place); the view parts
(render, march, cast, crosshair) render the fixed states with the camera turned by a small random
yaw each step (else XLA could hoist the work out of the loop) and return a checksum:

    batched step     `BatchedEnv.step` (auto-reset pool, hand-out, refresh under its lax.cond) with random
                     actions: finished episodes and pool refreshes fall at their natural rate
    step_env         the env's own step, vmapped, no reset
    advance          the world tick without observation: physics + crosshair + interact + mobs
      move_agent / crosshair / interact / mobs   its four stages alone
    render           the agent's frame (`render`: march + shading + mobs + fog + packing)
      march          the ray march alone (`render.march`, the agent camera's rays)
      cast           march + shading + mob boxes (`render.cast`)
    task extras      step_env − advance − render (task env: reward, visibility, centroid, privileged obs)
    reset_env        one env reset (world generation [+ task synthesis]), unbatched: the cost of one
                     pool refresh

Shares are of `step_env`; "batched / step_env" is the pool's overhead (target ≤ 1.1×). Parts timed
alone include their own inputs' materialisation, so the shares need not add up to exactly 100 %.
The header names the machine and its load average: on a shared machine only ratios mean much.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time

import jax
import jax.numpy as jnp

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from jaxcraft.envs import BatchedEnv  # noqa: E402
from jaxcraft.machine import cpu_description  # noqa: E402
from jaxcraft.world import JaxCraftEnv, WorldStatic  # noqa: E402
from jaxcraft.world import actions as A  # noqa: E402
import jaxcraft.world.render  # noqa: E402,F401  (the package exports a function `render` of the same name)
R = sys.modules["jaxcraft.world.render"]
from jaxcraft.world.camera import ray_directions  # noqa: E402
from jaxcraft.world.edit import agent_camera  # noqa: E402
from jaxcraft.world.env import move_agent  # noqa: E402
from jaxcraft.world.interact import crosshair_target, interact  # noqa: E402
from jaxcraft.world.mobs import step_mobs  # noqa: E402


def _timed(fn, args, repeats):
    t0 = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    compile_s = time.perf_counter() - t0
    jax.block_until_ready(compiled(*args))
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(compiled(*args))
        times.append(time.perf_counter() - t)
    # best, not median: on a shared machine the minimum is the least disturbed call
    return 1e3 * min(times), compile_s


def make_case(name):
    """(label, env, params, N, pool) of a profiled case."""
    if name == "quickstart":
        from jaxcraft.build import make_env
        from jaxcraft.config import load_experiment
        config = load_experiment(ROOT / "experiments" / "quickstart.py")
        env, params = make_env(config)
        return "quickstart task env", env, params, config.env.num_envs, config.env.reset_pool_size
    # "world1024" or "world:N:SIZE": JaxCraftEnv at N envs, SIZE² frames (pool 64, 50-step episodes,
    # the settings of benchmarks/world_throughput.py)
    n, size = (1024, 64) if name == "world1024" else map(int, name.split(":")[1:])
    env = JaxCraftEnv(WorldStatic(height=size, width=size))
    params = env.default_params.replace(max_steps_in_episode=jnp.asarray(50, jnp.int32))
    return f"JaxCraftEnv {size}x{size}", env, params, n, 64


def profile(name, repeats, warm, scan_steps):
    label, env, params, n, pool = make_case(name)
    world_of = (lambda s: s.world) if hasattr(env, "task_static") else (lambda s: s)
    wparams = params.world if hasattr(params, "world") else params
    static = env.static
    be = BatchedEnv(env, params, pool_size=pool, refresh_per_step=1)
    bstate = jax.jit(be.reset)(jax.random.split(jax.random.key(0), n), jax.random.key(1))
    nvec = jnp.asarray(A.NVEC)
    limit = int(params.max_steps_in_episode)
    ages = jax.random.randint(jax.random.key(3), (n,), 0, limit, jnp.int32)
    es = bstate.env_state
    if hasattr(env, "task_static"):
        es = es.replace(world=es.world.replace(time=ages))
    else:
        es = es.replace(time=ages)
    bstate = bstate.replace(env_state=es, episode_length=ages)

    @jax.jit
    def warm_up(s, key):
        def body(s, k):
            ka, ks = jax.random.split(k)
            act = jax.random.randint(ka, (n, A.NUM_FACTORS), 0, nvec)
            s, _ = be.step(s, act, jax.random.split(ks, n))
            return s, None
        return jax.lax.scan(body, s, jax.random.split(key, warm))[0]

    bstate = warm_up(bstate, jax.random.key(4))
    state = bstate.env_state
    act = jax.random.randint(jax.random.key(5), (n, A.NUM_FACTORS), 0, nvec)
    keys = jax.random.split(jax.random.key(6), n)
    world = jax.vmap(world_of)(state)
    cams = jax.vmap(agent_camera)(world)
    h, w = static.height, static.width

    def march_only(world, cam):
        dirs = ray_directions(cam, h, w, static.fov_y_deg)
        return R.march(static, world.skip, cam.pos, dirs, static.render_steps)[0]

    def cast_only(world, cam):
        dirs = ray_directions(cam, h, w, static.fov_y_deg)
        return R.cast(static, world, cam.pos, dirs)[1]

    def render_only(world, cam):
        return R.render(static, world, cam).rgb

    T = scan_steps

    def batched(s, key):
        # A scan of T steps with fresh random actions: finished episodes (and so pool refreshes)
        # fall in the timed window at their natural rate, not whatever one fixed state has.
        def body(s, k):
            ka, ks = jax.random.split(k)
            a = jax.random.randint(ka, (n, A.NUM_FACTORS), 0, nvec)
            s, out = be.step(s, a, jax.random.split(ks, n))
            return s, out.reward
        return jax.lax.scan(body, s, jax.random.split(key, T))[0].episode_return

    small = lambda tree: sum(jnp.sum(x.astype(jnp.float32)) for x in jax.tree.leaves(tree))   # noqa: E731

    def scan_state(fn):
        """T steps of fn(state, key) -> state inside one lax.scan carrying the state, as the
        training loop does (in-place voxel edits; nothing returned but a checksum)."""
        def run(s, key):
            def body(s, k):
                s = fn(s, k)
                return s, None
            # a checksum of every leaf, so that XLA cannot drop any part of the state update
            return small(jax.lax.scan(body, s, jax.random.split(key, T))[0])
        return run

    def scan_view(fn):
        """T calls of fn(world, camera) on the fixed states, each with the camera turned by a
        different small yaw (so XLA cannot hoist the work out of the loop); a checksum out."""
        def run(world, cams, key):
            def body(acc, k):
                d = jax.random.uniform(k, (n,), minval=-0.05, maxval=0.05)
                c = cams.replace(yaw=cams.yaw + d)
                return acc + small(jax.vmap(fn)(world, c)), None
            return jax.lax.scan(body, jnp.float32(0), jax.random.split(key, T))[0]
        return run

    def keyed(f):
        def g(s, k):
            ka, ks = jax.random.split(k)
            a = jax.random.randint(ka, (n, A.NUM_FACTORS), 0, nvec)
            return f(s, a, jax.random.split(ks, n))
        return g

    def on_world(f):
        """f(world, action, key) -> world, applied to the env state's world (task env or not)."""
        if hasattr(env, "task_static"):
            return lambda s, a, k: s.replace(world=f(s.world, a, k))
        return f

    def step_env_obs(s, a, k):
        obs, s2, r, term, trunc, info = jax.vmap(env.step_env, in_axes=(0, 0, 0, None))(k, s, a, params)
        # keep the observation and reward alive (a checksum folded into the time counter)
        chk = (small(obs) + small(r) > -1.0).astype(jnp.int32)
        return s2.replace(world=s2.world.replace(time=s2.world.time * chk)) if hasattr(env, "task_static") \
            else s2.replace(time=s2.time * chk)

    kk = lambda f: jax.vmap(f)   # noqa: E731
    parts = [
        ("batched step", batched, (bstate, jax.random.key(7))),
        ("step_env", scan_state(keyed(step_env_obs)), (state, jax.random.key(8))),
        ("advance", scan_state(keyed(on_world(kk(lambda wd, a, k: env.advance(k, wd, a, wparams)[0])))),
         (state, jax.random.key(8))),
        ("  move_agent", scan_state(keyed(on_world(kk(lambda wd, a, k: move_agent(static, wparams, wd, A.decode(a)))))),
         (state, jax.random.key(8))),
        ("  crosshair", scan_view(lambda wd, c: crosshair_target(static, wd, c, wparams.reach).distance),
         (world, cams, jax.random.key(9))),
        ("  interact", scan_state(keyed(on_world(kk(lambda wd, a, k: interact(
            static, wparams, wd, crosshair_target(static, wd, agent_camera(wd), wparams.reach),
            A.decode(a).attack, A.decode(a).use)[0])))), (state, jax.random.key(8))),
        ("  mobs", scan_state(keyed(on_world(kk(lambda wd, a, k: wd.replace(
            mobs=step_mobs(static, wd.blocks, wparams, k, wd.mobs)))))), (state, jax.random.key(8))),
        ("render", scan_view(render_only), (world, cams, jax.random.key(9))),
        ("  march", scan_view(march_only), (world, cams, jax.random.key(9))),
        ("  cast", scan_view(cast_only), (world, cams, jax.random.key(9))),
        ("reset_env (one)", lambda k: env.reset_env(k, params), (keys[0],)),
    ]
    rows = {}
    for part, fn, args in parts:
        ms, c = _timed(fn, args, repeats)
        ms = ms if part.startswith("reset") else ms / T
        rows[part] = (ms, c)
        print(f"  {label} N={n}: {part:<18} {ms:9.2f} ms  (compile {c:.1f} s)", flush=True)
    step = rows["step_env"][0]
    rows["task extras"] = (step - rows["advance"][0] - rows["render"][0], 0.0)
    return label, n, h, rows, step


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", nargs="+", default=["quickstart", "world1024"],
                   help="quickstart | world1024 | world:N:SIZE")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warm", type=int, default=8, help="random batched steps before timing")
    p.add_argument("--scan", type=int, default=16, help="batched steps per timed call of `batched step`")
    args = p.parse_args()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"# {cpu_description()}, load average {load}, jax {jax.__version__} {jax.default_backend()}", flush=True)
    for case in args.cases:
        label, n, h, rows, step = profile(case, args.repeats, args.warm, args.scan)
        print(f"\n| {label}, N={n}, {h}x{h} | ms per step | share of step_env | compile s |")
        print("|---|---:|---:|---:|")
        for part, (ms, c) in rows.items():
            share = "" if part.startswith(("batched", "reset")) else f"{100 * ms / step:.0f} %"
            print(f"| {part.strip() if not part.startswith('  ') else '· ' + part.strip()} | {ms:,.2f} | {share} | "
                  f"{c:.1f} |")
        print(f"batched step / step_env: {rows['batched step'][0] / step:.2f}x;  "
              f"env steps/s (batched): {n / rows['batched step'][0] * 1e3:,.0f}", flush=True)


if __name__ == "__main__":
    main()
