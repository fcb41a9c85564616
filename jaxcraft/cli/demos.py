"""`jaxcraft demos`: record scripted-teacher demonstrations of an experiment's tasks.

    jaxcraft demos experiments/quickstart.py --episodes 256 --out runs/quickstart_demos
    jaxcraft demos experiments/quickstart.py --teacher servo --episodes 256 --out runs/servo_demos

    jaxcraft demos experiments/quickstart.py --episodes 256 --format minari --out jaxcraft/quickstart-v0

DAgger (Ross et al. 2011): `--student PARAMS` (params saved by `jaxcraft pretrain` for this
experiment's network) rolls out that student instead and records the teacher's action on every
state the student visits; `--beta B` executes the teacher's action with probability B per step.
Aggregate with the teacher demos and clone again from the student:

    jaxcraft demos experiments/quickstart.py --teacher servo --student runs/quickstart_pretrained --episodes 1024 --out runs/dagger1
    jaxcraft pretrain experiments/quickstart.py --demos runs/quickstart_demos --demos runs/dagger1 \
        --init runs/quickstart_pretrained --out runs/quickstart_dagger1

`--format minari` writes a Minari dataset named by `--out` (under MINARI_DATASETS_PATH; see
`jaxcraft.gym.minari`) instead of the default .npz directory.
`--teacher expert` (default) plans over the map; `--teacher servo` steers by the target's
pixels only, which a reactive pixel policy can clone (see `jaxcraft.tasks.teachers`).

Task ids are drawn from the experiment's `task` section (families, distances and their
weights, split) with `--seed`; the format is documented in `jaxcraft.tasks.demos`.
"""
from __future__ import annotations

import argparse
import sys

from jaxcraft.config import ConfigError, load_experiment, override
from jaxcraft.gym.minari import dataset_exists, export_minari
from jaxcraft.progress import EpisodeProgress
from jaxcraft.restore import load_pretrained_policy
from jaxcraft.tasks import make_task_env, sample_task_id
from jaxcraft.tasks.dagger import dagger_collector
from jaxcraft.tasks.demos import record_demos
from jaxcraft.tasks.teachers import TEACHER_NAMES
from jaxcraft.train.imitation.pretrain import params_saved_at
from jaxcraft.train.run.checkpoint import CheckpointError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("experiment", help="experiment file whose task section defines the tasks")
    p.add_argument("--out", required=True, help="output directory (must not hold a manifest.json); "
                                                "with --format minari the Minari dataset id, e.g. jaxcraft/demos-v0")
    p.add_argument("--format", choices=("npz", "minari"), default="npz",
                   help="npz: jaxcraft's demo directory (default); minari: a Minari dataset (offline-RL standard)")
    p.add_argument("--episodes", type=int, default=256)
    p.add_argument("--max-steps", type=int, default=0, help="episode limit; 0 = the task config's max_steps")
    p.add_argument("--shard-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--teacher", choices=TEACHER_NAMES, default="expert",
                   help="scripted teacher: expert (map planner), servo (acts on the target's pixels) or "
                        "servo_resolved (the servo with a one-pixel dead zone; make run's)")
    p.add_argument("--noise", type=float, default=0.0,
                   help="per-step probability of executing a random action instead of the teacher's "
                        "(the teacher's is recorded): recovery data for the student")
    p.add_argument("--student", metavar="PARAMS_DIR",
                   help="DAgger: roll out these pretrained params (this experiment's network) and record the "
                        "teacher's action on the student's states")
    p.add_argument("--beta", type=float, default=0.0,
                   help="with --student: per-step probability of executing the teacher's action instead of the student's")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config field (repeatable)")


def run(args: argparse.Namespace) -> int:
    try:
        config = override(load_experiment(args.experiment), args.set or [])
        config.task.validate()
    except (ConfigError, ValueError) as e:
        print(f"jaxcraft: config error: {e}", file=sys.stderr)
        return 2
    if args.episodes < 1:
        print("jaxcraft: --episodes must be >= 1", file=sys.stderr)
        return 2
    if args.student is None and args.beta != 0.0:
        print("jaxcraft: --beta is for DAgger; pass --student PARAMS_DIR", file=sys.stderr)
        return 2
    if args.student is not None and (args.noise != 0.0 or not 0.0 <= args.beta <= 1.0):
        print(f"jaxcraft: with --student, --noise must be 0 (got {args.noise}) and --beta in [0, 1] (got {args.beta})",
              file=sys.stderr)
        return 2
    import jax
    if args.format == "minari":
        try:
            if dataset_exists(args.out):
                print(f"jaxcraft: Minari dataset {args.out!r} exists; choose a new --out", file=sys.stderr)
                return 2
        except ImportError as e:
            print(f"jaxcraft: {e}", file=sys.stderr)
            return 2
    env, params = make_task_env(config.task)
    max_steps = args.max_steps or config.task.max_steps
    collect, provenance, label = None, None, args.teacher
    if args.student is not None:
        if not params_saved_at(args.student):
            print(f"jaxcraft: --student {args.student} holds no params saved by `jaxcraft pretrain`", file=sys.stderr)
            return 2
        try:
            student = load_pretrained_policy(args.student, config, env, params)
        except CheckpointError as e:
            print(f"jaxcraft: --student: {e}", file=sys.stderr)
            return 2
        collect = dagger_collector(env, params, student.network, student.params, student.dist, args.seed, max_steps,
                                   args.teacher, args.beta)
        provenance = dict(dagger=dict(student=str(args.student), beta=float(args.beta)))
        label = f"dagger: {args.teacher} labels"
    keys = jax.random.split(jax.random.key(args.seed), args.episodes)
    ids = jax.jit(jax.vmap(sample_task_id, in_axes=(0, None)))(keys, params)
    tmp = None
    if args.format == "minari":   # record the .npz shards to a scratch directory, then convert
        import tempfile
        tmp = tempfile.TemporaryDirectory(prefix="jaxcraft_demos_")
    bar = EpisodeProgress(args.episodes, f"demos ({label})")
    try:
        manifest = record_demos(env, params, ids, tmp.name if tmp else args.out, max_steps=max_steps,
                                shard_size=args.shard_size, key_seed=args.seed, config=config.task,
                                teacher=args.teacher, noise=args.noise,
                                progress=lambda shard: bar.add(shard["episodes"], shard["successes"]),
                                collect=collect, provenance=provenance)
        if tmp:
            export_minari(tmp.name, args.out)
    except (FileExistsError, ValueError) as e:
        print(f"jaxcraft: {e}", file=sys.stderr)
        return 2
    finally:
        bar.close()
        if tmp:
            tmp.cleanup()
    driver = f"student ({args.student}) episodes labelled by {args.teacher}" if args.student else f"{args.teacher} episodes"
    print(f"recorded {manifest['num_episodes']} {driver} ({manifest['num_success']} successful) to {args.out}")
    return 0
