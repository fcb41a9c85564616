"""`jaxcraft eval`: success rates of a trained run (or the expert / random baseline) per
family × distance on a split, with 95 % intervals, written as eval.json, eval.md and GIFs.

    jaxcraft eval runs/rocket3 --split unseen --episodes 20 --videos 4
    jaxcraft eval expert --split unseen --experiment experiments/quickstart.py
    jaxcraft eval runs/quickstart_pretrained          # cloned params (the config `jaxcraft pretrain` recorded)

A run on any other env (gymnax, the world, bridged simulators such as Crafter) is scored by episode
return on its own env instead (`jaxcraft.eval.returns`; --episodes, --max-steps, --greedy, --seed apply):

    jaxcraft eval runs/cartpole --episodes 100

Baselines: `random` (uniform actions), `expert` (the planning expert), `servo` (the visual-servo
teacher), `servo_resolved` (the servo with a one-pixel dead zone, `make run`'s teacher). A directory saved by `jaxcraft pretrain` is evaluated with the config it recorded (its experiment and --set overrides), or with --experiment's.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import sys
import time

from jaxcraft.build import make_bridged_env, make_env
from jaxcraft.cli.eval_minetest import run_minetest
from jaxcraft.cli.experiment_arg import DEFAULT_EXPERIMENT, experiment_path
from jaxcraft.config import ConfigError, from_dict, is_bridged, load_experiment
from jaxcraft.config.task import DISTANCES, FAMILIES, SPLITS
from jaxcraft.eval.policies import ExpertPolicy, RandomPolicy, expert_module
from jaxcraft.eval.returns import evaluate_jax_env, evaluate_simulator, write_returns_report
from jaxcraft.eval.runner import evaluate, write_report
from jaxcraft.progress import EpisodeProgress
from jaxcraft.restore import load_checkpoint_policy, load_policy, load_pretrained_policy, pretrained_config
from jaxcraft.tasks import make_task_env
from jaxcraft.tasks.registration import ENV_NAME as TASK_ENV
from jaxcraft.train.imitation.pretrain import params_saved_at
from jaxcraft.train.run.checkpoint import CheckpointError

BASELINES = ("expert", "random", "servo", "servo_resolved")


class _BadArgument(ValueError):
    """A command-line value is invalid (exit code 2)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="a run directory (runs/<name>), params saved by `jaxcraft pretrain` "
                                           "(with --experiment), or 'expert' / 'random' / 'servo' / 'servo_resolved' for a baseline")
    parser.add_argument("--split", choices=SPLITS, default="unseen", help="world split to evaluate on")
    parser.add_argument("--episodes", type=int, default=10, help="episodes per family × distance cell")
    parser.add_argument("--families", help=f"comma-separated subset of {','.join(FAMILIES)} "
                                           "(default: the experiment's task.families)")
    parser.add_argument("--distances", help=f"comma-separated subset of {','.join(map(str, DISTANCES))} "
                                            "(default: the experiment's task.distances)")
    parser.add_argument("--videos", type=int, default=2, help="save GIFs of the first K episodes")
    parser.add_argument("--out", help="output directory (default: RUN/eval/<split>, or runs/eval/<baseline>_<split>)")
    parser.add_argument("--max-steps", type=int, default=600, help="episode time limit in steps")
    parser.add_argument("--experiment", help=f"baselines and pretrained params: experiment file whose task section sets frame size "
                                             f"etc. (default: {DEFAULT_EXPERIMENT})")
    parser.add_argument("--step", type=int, help="checkpoint update to load (default: the latest)")
    parser.add_argument("--greedy", action="store_true", help="network policies: argmax actions instead of sampling")
    parser.add_argument("--temperature", type=float, default=1.0,
                        help="network policies: sample from softmax(logits / T) per action factor (1 = as trained)")
    parser.add_argument("--seed0", type=int, default=0, help="first task seed of each cell")
    parser.add_argument("--seed", type=int, default=0, help="PRNG seed of the policy's and env's randomness")
    parser.add_argument("--batch-size", type=int, default=64, help="at most this many episodes run in parallel (the episodes are split into equal batches)")
    parser.add_argument("--sim", choices=("jaxcraft", "minetest"), default="jaxcraft",
                        help="minetest: Minetest 5.6 through the bridge (jaxcraft.eval.bridged_eval; also 'fresh')")
    parser.add_argument("--num-envs", type=int, default=2, help="--sim minetest: Minetest instances")


def _choices(text: str | None, valid: tuple, flag: str, parse=str) -> tuple:
    """The distinct values of a comma-separated flag, each checked against `valid`; () if not given."""
    if text is None:
        return ()
    out = []
    for t in (t.strip() for t in text.split(",")):
        try:
            v = parse(t)
        except ValueError:
            v = None
        if v not in valid:
            raise _BadArgument(f"{flag}: unknown value {t!r}; choose from {', '.join(map(str, valid))}")
        if v not in out:
            out.append(v)
    return tuple(out)


def _load(args: argparse.Namespace):
    """(config, policy factory (env, params) -> policy, default out dir) of the CHECKPOINT argument."""
    if args.checkpoint in BASELINES:
        try:
            config = load_experiment(experiment_path(args.experiment))
        except ConfigError as e:
            raise _BadArgument(str(e)) from None
        if args.checkpoint == "expert":
            try:
                expert_module()   # fail now, not after compiling
            except ImportError as e:
                raise _BadArgument(str(e)) from None
        if args.checkpoint == "random":
            make = lambda env, params: RandomPolicy(env)  # noqa: E731
        else:
            make = lambda env, params: ExpertPolicy(env, params, teacher=args.checkpoint)  # noqa: E731
        return config, make, pathlib.Path("runs/eval") / f"{args.checkpoint}_{args.split}"
    run_dir = pathlib.Path(args.checkpoint)
    if not run_dir.is_dir():
        raise _BadArgument(f"checkpoint {str(run_dir)!r} is neither a run directory nor one of {', '.join(BASELINES)}")
    if not (run_dir / "config.json").is_file() and (args.experiment is not None or params_saved_at(run_dir)):
        # Params saved by `jaxcraft pretrain`: --experiment, or the config recorded beside them, names their network.
        if not params_saved_at(run_dir):   # check before the env and network are built
            raise _BadArgument(f"{run_dir} holds neither a run (config.json) nor params saved by "
                               "`jaxcraft pretrain` (no orbax _METADATA in it)")
        try:
            config = pretrained_config(run_dir, args.experiment)
        except CheckpointError as e:
            raise _BadArgument(str(e)) from None

        def make(env, params):
            try:
                return load_pretrained_policy(run_dir, config, env, params, greedy=args.greedy,
                                              temperature=args.temperature)
            except CheckpointError as e:
                raise _BadArgument(str(e)) from None
        return config, make, run_dir.parent / f"{run_dir.name}_eval" / args.split
    if args.experiment is not None:
        raise _BadArgument("--experiment is for baselines and pretrained params; a run directory has its own config.json")
    try:
        policy, config = load_checkpoint_policy(run_dir, args.step, greedy=args.greedy, temperature=args.temperature)
    except CheckpointError as e:
        raise _BadArgument(str(e)) from None
    return config, (lambda env, params: policy), run_dir / "eval" / args.split


def _run_config(path: pathlib.Path):
    """The experiment config of a run directory, or None (not a run directory / unreadable: `_load` says why)."""
    try:
        return from_dict(json.loads((path / "config.json").read_text()))
    except Exception:  # noqa: BLE001 - reported by `_load` with the cross-view path's own messages
        return None


def run_returns(args: argparse.Namespace, run_dir: pathlib.Path, config) -> int:
    """Any run that is not on the cross-view tasks (gymnax, the world, bridged simulators): episode
    returns of its policy on its own env (`jaxcraft.eval.returns`); 0 on success, 2 on a bad argument."""
    import jax
    if args.families or args.distances:
        print(f"jaxcraft eval: --families/--distances are for cross-view task runs; {run_dir} trained on "
              f"{config.env.name!r}", file=sys.stderr)
        return 2
    if args.episodes < 1 or args.max_steps < 1:
        print("jaxcraft eval: --episodes and --max-steps must be >= 1", file=sys.stderr)
        return 2
    try:
        policy = load_policy(run_dir, step=args.step)
    except CheckpointError as e:
        print(f"jaxcraft eval: {e}", file=sys.stderr)
        return 2
    key = jax.random.key(args.seed)
    if is_bridged(config):
        result = evaluate_simulator(policy, make_bridged_env(config), args.episodes, args.seed0, args.max_steps,
                                    key, sample=not args.greedy)
    else:
        env, env_params = make_env(config)
        result = evaluate_jax_env(policy, env, env_params, args.episodes, key, args.max_steps, sample=not args.greedy)
    paths = write_returns_report(result, pathlib.Path(args.out) if args.out else run_dir / "eval" / "returns")
    print(result.line())
    print(f"wrote {paths['json']} and {paths['md']}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Evaluate, print the table, write the report; 0 on success, 2 on a bad argument."""
    if getattr(args, "sim", "jaxcraft") == "minetest":
        return run_minetest(args)
    run_dir = pathlib.Path(args.checkpoint)
    config = _run_config(run_dir) if (run_dir / "config.json").is_file() else None
    if config is not None and config.env.name != TASK_ENV:
        return run_returns(args, run_dir, config)
    try:
        families = _choices(args.families, FAMILIES, "--families")
        distances = _choices(args.distances, DISTANCES, "--distances", int)
        for name, value, low in (("episodes", args.episodes, 1), ("max-steps", args.max_steps, 1),
                                 ("videos", args.videos, 0), ("batch-size", args.batch_size, 1)):
            if value < low:
                raise _BadArgument(f"--{name} must be >= {low}, got {value}")
        if not args.temperature > 0:
            raise _BadArgument(f"--temperature must be > 0, got {args.temperature}")
        config, make_policy, out_dir = _load(args)
        families = families or config.task.families
        distances = distances or config.task.distances
        # The run's task section (frame size, world, distractors) with the chosen tasks; validate
        # checks e.g. that the world is large enough for the farthest distance.
        task = dataclasses.replace(config.task, families=families, distances=distances, split=args.split,
                                   family_weights=(), distance_weights=(), max_steps=args.max_steps)
        try:
            task.validate()
        except ValueError as e:
            raise _BadArgument(str(e)) from None
        env, params = make_task_env(task)
        policy = make_policy(env, params)
    except _BadArgument as e:
        print(f"jaxcraft eval: {e}", file=sys.stderr)
        return 2

    import jax

    out_dir = pathlib.Path(args.out) if args.out else out_dir

    t0 = time.perf_counter()
    bar = EpisodeProgress(len(families) * len(distances) * args.episodes, "eval")
    try:
        result = evaluate(env, params, policy, families, distances, args.episodes, args.split, seed0=args.seed0,
                          max_steps=args.max_steps, record=args.videos, key=jax.random.key(args.seed),
                          batch_size=args.batch_size, progress=bar)
    finally:
        bar.close()
    seconds = time.perf_counter() - t0
    paths = write_report(result, out_dir, f"{result.policy} on the {args.split} split")
    print(f"{len(result.success)} episodes in {seconds:.0f} s; wrote {paths['json']}, {paths['md']} "
          f"and {len(paths['gifs'])} GIFs")
    return 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    add_arguments(p)
    raise SystemExit(run(p.parse_args()))
