"""`jaxcraft pretrain`: behaviour cloning of an experiment's network on expert demonstrations.

    jaxcraft demos experiments/quickstart.py --episodes 256 --out runs/demos      # record
    jaxcraft pretrain experiments/quickstart.py --demos runs/demos --out runs/pretrained
    jaxcraft pretrain experiments/quickstart.py --demos minari:jaxcraft/quickstart-v0 --out runs/pretrained
    jaxcraft train experiments/quickstart.py --set run.init_params=runs/pretrained --set ppo.kl_coef=0.2
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("experiment", help="experiment file whose env/task/net sections define the policy")
    p.add_argument("--demos", required=True, help="directory written by `jaxcraft demos` (jaxcraft.tasks.demos), "
                                                  "or minari:<dataset id> (jaxcraft.tasks.minari_io)")
    p.add_argument("--out", required=True, help="directory to save the pretrained params to (must not exist)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config field (repeatable)")
    p.add_argument("--steps", type=int, default=2000, help="gradient steps")
    p.add_argument("--batch", type=int, default=16, help="windows per batch")
    p.add_argument("--window", type=int, default=64, help="steps per window")
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    from jaxcraft.config import ConfigError, load_experiment, override
    try:
        config = override(load_experiment(args.experiment), args.set or [])
    except ConfigError as e:
        print(f"jaxcraft: config error: {e}", file=sys.stderr)
        return 2
    out = pathlib.Path(args.out)
    if out.exists():
        print(f"jaxcraft: {out} exists; choose a new --out (pretrained params are never overwritten)", file=sys.stderr)
        return 2
    from jaxcraft.build import make_env, make_network
    from jaxcraft.envs.spaces import action_distribution
    from jaxcraft.tasks.minari_io import load_demo_source
    from jaxcraft.train.demo_fit import check_demos_fit
    from jaxcraft.train.imitation import ImitationConfig, pretrain, save_params
    env, params = make_env(config.env, config.task)
    space = env.action_space(params)
    try:   # the format, then the fit to this experiment, before anything is compiled
        demos = load_demo_source(args.demos)
        check_demos_fit(demos, env.observation_space(params), space, config.task.families, where=str(args.demos))
    except (OSError, ValueError, ImportError) as e:
        print(f"jaxcraft: demos error: {e}", file=sys.stderr)
        return 2
    network = make_network(config.net, env.observation_space(params), space)
    icfg = ImitationConfig(steps=args.steps, batch_episodes=args.batch, window=args.window, lr=args.lr, seed=args.seed)
    trained, rows = pretrain(network, action_distribution(space), demos, icfg)
    save_params(out, trained)
    (out.parent / f"{out.name}_pretrain.json").write_text(json.dumps(
        {"experiment": str(args.experiment), "imitation": dataclasses.asdict(icfg), "metrics": rows}, indent=2))
    print(f"pretrained params saved to {out} (final nll {rows[-1]['nll']:.3f}, "
          f"exact-action match {rows[-1]['action_exact_match']:.3f})")
    return 0
