"""`jaxcraft train EXPERIMENT`: build the experiment's trainer and run it (resume, checkpoints, metrics).

    jaxcraft train experiments/quickstart.py --set ppo.lr=1e-4 --set env.num_envs=64
    jaxcraft train experiments/quickstart.py --show-config      # every key, its value and doc
"""
from __future__ import annotations

import argparse
import sys

from jaxcraft.build import train
from jaxcraft.config import ConfigError, load_experiment, override, valid_keys
from jaxcraft.config.fields import get_path
from jaxcraft.train.multihost.distributed import add_arguments as add_distributed_arguments
from jaxcraft.train.run.checkpoint import CheckpointError
from jaxcraft.train.run.loop import TrainingDiverged
from jaxcraft.train.run.run_lock import RunDirBusy


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("experiment", help="path to experiments/<name>.py defining CONFIG")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config field (repeatable)")
    p.add_argument("--run-dir", help="override run.run_dir")
    p.add_argument("--no-resume", action="store_true", help="start afresh: an earlier run in run_dir is moved to run_dir/previous_runs/<time>/ untouched")
    p.add_argument("--resume-step", type=int, help="resume from this update's checkpoint instead of the latest")
    p.add_argument("--show-config", action="store_true", help="print every key with its value and doc, then exit")
    add_distributed_arguments(p)  # read (and the job joined) in main(), before anything touches JAX


def run(args: argparse.Namespace) -> int:
    try:
        config = override(load_experiment(args.experiment), args.set or [])
        if args.run_dir:
            config = override(config, [f"run.run_dir={args.run_dir}"])
    except ConfigError as e:
        print(f"jaxcraft: config error: {e}", file=sys.stderr)
        return 2
    if args.show_config:
        for key, doc in valid_keys(config).items():
            print(f"{key} = {get_path(config, key)!r}\n    {doc}")
        return 0

    try:
        result = train(config, resume=not args.no_resume, resume_step=args.resume_step)
    except ConfigError as e:
        print(f"jaxcraft: config error: {e}", file=sys.stderr)
        return 2
    except CheckpointError as e:
        print(f"jaxcraft: checkpoint error: {e}", file=sys.stderr)
        return 3
    except TrainingDiverged as e:
        print(f"jaxcraft: training diverged: {e}", file=sys.stderr)
        return 4
    except RunDirBusy as e:
        print(f"jaxcraft: run directory busy: {e}", file=sys.stderr)
        return 5
    ret = "n/a" if result.final_return is None else f"{result.final_return:.2f}"
    print(f"summary: status={result.status} updates={result.updates} env_steps={result.env_steps} "
          f"return={ret} steps_per_s={result.steps_per_second:,.0f} run_dir={result.run_dir}")
    if result.status == "preempted":
        print("jaxcraft: stopped by signal; checkpoint saved — run the same command again to resume.", file=sys.stderr)
        return 143
    return 0
