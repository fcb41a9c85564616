"""`jaxcraft train | render | eval | demos | pretrain` — the command line.

    jaxcraft train experiments/quickstart.py --set ppo.lr=1e-4 --set env.num_envs=64
    jaxcraft train experiments/quickstart.py --show-config      # every key, its value and doc
    jaxcraft train EXP --coordinator HOST:PORT --num-processes N --process-id I   # on every host (docs/pods.md)
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Optional, Sequence


def _train(args: argparse.Namespace) -> int:
    from jaxcraft.config import ConfigError, load_experiment, override, valid_keys
    from jaxcraft.config.fields import get_path

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

    from jaxcraft.build import train
    from jaxcraft.train.checkpoint import CheckpointError
    from jaxcraft.train.loop import TrainingDiverged
    from jaxcraft.train.run_lock import RunDirBusy

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


SUBCOMMANDS = (
    ("render", "jaxcraft.world.cli_render", "render a rollout of the JaxCraft world to PNG/GIF"),
    ("eval", "jaxcraft.eval.cli_eval", "success rates of a run (or the expert/random baseline) on cross-view tasks"),
    ("demos", "jaxcraft.tasks.cli_demos", "record scripted-expert demonstrations of an experiment's tasks"),
    ("pretrain", "jaxcraft.train.cli_pretrain", "behaviour-clone an experiment's network on expert demonstrations"),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jaxcraft", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train an experiment file")
    p.add_argument("experiment", help="path to experiments/<name>.py defining CONFIG")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config field (repeatable)")
    p.add_argument("--run-dir", help="override run.run_dir")
    p.add_argument("--no-resume", action="store_true", help="start afresh: an earlier run in run_dir is moved to run_dir/previous_runs/<time>/ untouched")
    p.add_argument("--resume-step", type=int, help="resume from this update's checkpoint instead of the latest")
    p.add_argument("--show-config", action="store_true", help="print every key with its value and doc, then exit")
    from jaxcraft.train.distributed import add_arguments as add_distributed_arguments

    add_distributed_arguments(p)  # read (and the job joined) in main(), before anything touches JAX
    p.set_defaults(func=_train)

    # Sub-commands implemented elsewhere: each module has add_arguments(parser) and run(args).
    for name, module, help_text in SUBCOMMANDS:
        mod = importlib.import_module(module)
        q = sub.add_parser(name, help=help_text)
        mod.add_arguments(q)
        q.set_defaults(func=mod.run)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["train"] and "--show-config" not in argv:
        # Join a multi-process job first: building the parser imports modules that touch JAX devices.
        from jaxcraft.train.distributed import DistributedError, join_from_argv
        try:
            join_from_argv(argv[1:])
        except DistributedError as e:
            print(f"jaxcraft: distributed setup error: {e}", file=sys.stderr)
            return 2
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
