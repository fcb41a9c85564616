"""What each goal fusion of `goal_cnn` costs: ms per acting step and per cloning step, FiLM beside.

    python benchmarks/goal_fusion_cost.py                                   # quickstart's net
    python benchmarks/goal_fusion_cost.py --experiment experiments/quickstart.py --fusions conv corr
    python benchmarks/goal_fusion_cost.py --fusions conv conv:s1 --frames 32 48 64    # resolution's cost

For each fusion (`net.goal.fusion`; `NAME:s1` with a stride-1 first conv, `net.goal.first_stride=1`;
everything else from the experiment's net and task) and each frame size (`--frames`, default the
experiment's):

    acting   one jitted policy step of `num_envs` envs with the episode's cached goal code (what
             the trainers and the evaluator run per env step; the goal torso runs once per episode)
    cloning  one jitted behaviour-cloning step (`--batch` windows × `--window` steps: forward, aux
             and dense target losses, backward, Adam)

Median ms of `--repeats` calls after compile, and the ratio to the first fusion listed (FiLM
`conv`, today's `make run`, by default), in the same process on the same machine. Time it alone:
other jobs on the two cores change every number.
"""
from __future__ import annotations

import argparse
import dataclasses
import pathlib
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxcraft.build import make_network
from jaxcraft.config import load_experiment
from jaxcraft.envs.base import zero_observation
from jaxcraft.envs.spaces import action_distribution
from jaxcraft.machine import cpu_description
from jaxcraft.tasks import make_task_env
from jaxcraft.train.imitation.pretrain import ImitationConfig, bc_loss

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _median_ms(fn, repeats: int) -> float:
    jax.block_until_ready(fn())
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(1e3 * (time.perf_counter() - t))
    return statistics.median(times)


def measure(config, fusion: str, batch: int, window: int, repeats: int) -> tuple[float, float]:
    fusion, _, stride = fusion.partition(":")
    net_cfg = dataclasses.replace(config.net, goal=dataclasses.replace(
        config.net.goal, fusion=fusion, first_stride=1 if stride == "s1" else 2))
    env, params = make_task_env(config.task)
    space = env.action_space(params)
    net = make_network(net_cfg, env.observation_space(params), space)
    dist = action_distribution(space)
    rng = np.random.default_rng(0)

    def fake(lead):   # random content in the observation's shapes and dtypes (the cost does not depend on it)
        zero = zero_observation(env, params, lead)
        high = {"rgb": 256, "goal_rgb": 256, "goal_mask": 2, "family": 1}   # others (the critic's privileged obs): zeros
        return {k: jnp.asarray(rng.integers(0, high[k], v.shape), v.dtype) if k in high else v for k, v in zero.items()}

    n = config.env.num_envs
    obs = fake((1, n))
    theta = net.init(jax.random.key(0), net.initial_carry(n), obs, jnp.zeros((1, n), bool))
    code = net.apply(theta, jax.tree.map(lambda x: x[0], obs), method="goal_code")
    act = jax.jit(lambda p, o: net.apply(p, net.initial_carry(n), o, jnp.zeros((1, n), bool))[1])
    acting = _median_ms(lambda: act(theta, {**obs, "goal_code": code[None]}), repeats)

    cfg = ImitationConfig(batch_episodes=batch, window=window)
    opt = optax.adam(cfg.lr)
    opt_state = opt.init(theta)
    wobs = fake((window, batch))
    h, w = config.task.frame_size, config.task.frame_size
    b = {"obs": wobs, "action": jnp.zeros((window, batch, 11), jnp.int32), "valid": jnp.ones((window, batch), bool),
         "reset": jnp.zeros((window, batch), bool), "visible": jnp.ones((window, batch), bool),
         "centroid": jnp.full((window, batch, 2), 0.5), "target_mask": jnp.asarray(rng.random((window, batch, h, w)) < 0.02)}

    @jax.jit
    def step(theta, opt_state, batch):   # the batch is an argument: as a constant XLA would fold it for minutes
        grads = jax.grad(lambda p: bc_loss(p, net, dist, batch, cfg.aux_coef, cfg.map_coef)[0])(theta)
        updates, opt_state = opt.update(grads, opt_state, theta)
        return optax.apply_updates(theta, updates), opt_state

    cloning = _median_ms(lambda: step(theta, opt_state, b), repeats)
    return acting, cloning


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--experiment", type=pathlib.Path, default=ROOT / "experiments" / "quickstart.py")
    p.add_argument("--fusions", nargs="+", default=["conv", "late", "corr", "attention"])
    p.add_argument("--batch", type=int, default=32, help="cloning windows per batch (make run: 32)")
    p.add_argument("--window", type=int, default=16, help="cloning steps per window (make run: 16)")
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--frames", type=int, nargs="+", help="frame sizes in px (default: the experiment's task.frame_size)")
    a = p.parse_args()
    config = load_experiment(a.experiment)
    frames = a.frames or [config.task.frame_size]
    print(f"machine: {cpu_description()}; experiment {a.experiment.name}: channels {config.net.channels}, "
          f"{config.env.num_envs} envs acting, cloning batch {a.batch} × {a.window}")
    print("| fusion | frame (px) | acting step (ms) | × first | cloning step (ms) | × first |\n|---|---:|---:|---:|---:|---:|")
    base = None
    for frame in frames:
        sized = dataclasses.replace(config, task=dataclasses.replace(config.task, frame_size=frame))
        for fusion in a.fusions:
            acting, cloning = measure(sized, fusion, a.batch, a.window, a.repeats)
            base = base or (acting, cloning)
            print(f"| {fusion} | {frame} | {acting:.2f} | {acting / base[0]:.2f} | {cloning:.1f} | {cloning / base[1]:.2f} |",
                  flush=True)


if __name__ == "__main__":
    main()
