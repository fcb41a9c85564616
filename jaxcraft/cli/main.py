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

from jaxcraft.train.multihost.distributed import DistributedError, join_from_argv

SUBCOMMANDS = (
    ("train", "jaxcraft.cli.train", "train an experiment file"),
    ("render", "jaxcraft.cli.render", "render a rollout of the JaxCraft world to PNG/GIF"),
    ("eval", "jaxcraft.cli.eval", "success rates of a run (or the expert/random baseline) on cross-view tasks"),
    ("demos", "jaxcraft.cli.demos", "record scripted-expert demonstrations of an experiment's tasks"),
    ("pretrain", "jaxcraft.cli.pretrain", "behaviour-clone an experiment's network on expert demonstrations"),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jaxcraft", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    # Each sub-command is a module of this package with add_arguments(parser) and run(args); imported
    # here, after main() joined a multi-process job, because some of them touch JAX devices.
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
        try:
            join_from_argv(argv[1:])
        except DistributedError as e:
            print(f"jaxcraft: distributed setup error: {e}", file=sys.stderr)
            return 2
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
