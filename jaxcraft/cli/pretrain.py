"""`jaxcraft pretrain`: behaviour cloning of an experiment's network on expert demonstrations.

    jaxcraft demos experiments/quickstart.py --episodes 256 --out runs/demos      # record
    jaxcraft pretrain experiments/quickstart.py --demos runs/demos --out runs/pretrained
    jaxcraft pretrain experiments/quickstart.py --demos minari:jaxcraft/quickstart-v0 --out runs/pretrained
    jaxcraft train experiments/quickstart.py --set run.init_params=runs/pretrained --set ppo.kl_coef=0.2

DAgger rounds (`jaxcraft demos --student`): repeat `--demos` to clone on the union of the sets,
and `--init` starts from earlier params (e.g. the student that collected the round):

    jaxcraft pretrain experiments/quickstart.py --demos runs/demos --demos runs/dagger1 \
        --init runs/pretrained --out runs/pretrained_dagger1
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import sys
import time

from jaxcraft.build import make_env, make_network
from jaxcraft.config import ConfigError, load_experiment, override
from jaxcraft.gym.minari import load_demo_source
from jaxcraft.progress import progress_bar
from jaxcraft.restore import load_pretrained_policy
from jaxcraft.tasks.demos import concat_demos
from jaxcraft.train.agent import Spaces, make_agent
from jaxcraft.train.imitation.demo_fit import check_demos_fit
from jaxcraft.train.imitation.pretrain import ImitationConfig, params_saved_at, pretrain, save_params
from jaxcraft.train.run.checkpoint import CheckpointError
from jaxcraft.train.run.metrics import ScalarLog


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("experiment", help="experiment file whose env/task/net sections define the policy")
    p.add_argument("--demos", required=True, action="append",
                   help="directory written by `jaxcraft demos` (jaxcraft.tasks.demos), or minari:<dataset id> "
                        "(jaxcraft.gym.minari); repeat to clone on the union of several sets (DAgger)")
    p.add_argument("--init", metavar="PARAMS_DIR",
                   help="start from these params (saved by `jaxcraft pretrain` for this experiment's network) "
                        "instead of a fresh initialisation")
    p.add_argument("--out", required=True, help="directory to save the pretrained params to (must not exist)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config field (repeatable)")
    p.add_argument("--steps", type=int, default=2000, help="gradient steps")
    p.add_argument("--batch", type=int, default=16, help="windows per batch")
    p.add_argument("--window", type=int, default=64, help="steps per window")
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--visible-weight", type=float, default=1.0,
                   help="weight of the action likelihood on steps whose frame shows the target, relative to the "
                        "others (jaxcraft.train.imitation.pretrain.ImitationConfig.visible_weight)")
    p.add_argument("--max-grad-norm", type=float, default=None,
                   help="global gradient-norm clip (default: ImitationConfig.max_grad_norm)")
    p.add_argument("--aux-coef", type=float, default=None,
                   help="weight of the auxiliary visibility/centroid loss (default: ImitationConfig.aux_coef)")
    p.add_argument("--map-coef", type=float, default=None,
                   help="weight of the dense target-map loss (default: ImitationConfig.map_coef)")
    p.add_argument("--mirror-in-view", action="store_true",
                   help="mirror steps that show the target left/right at random (feed-forward nets; "
                        "jaxcraft.train.imitation.pretrain.ImitationConfig.mirror_in_view)")
    p.add_argument("--log-every", type=int, default=10, help="steps between metric rows (progress bar, JSONL, TensorBoard)")
    p.add_argument("--no-tensorboard", action="store_true", help="only metrics.jsonl in the log directory")


def imitation_config(args: argparse.Namespace):
    """The `ImitationConfig` of the flags (every field has one; flags left unset keep its defaults)."""
    given = {k: v for k, v in (("max_grad_norm", args.max_grad_norm), ("aux_coef", args.aux_coef),
                               ("map_coef", args.map_coef)) if v is not None}
    return ImitationConfig(steps=args.steps, batch_episodes=args.batch, window=args.window, lr=args.lr, seed=args.seed,
                           visible_weight=args.visible_weight, mirror_in_view=args.mirror_in_view, **given)


def run(args: argparse.Namespace) -> int:
    try:
        config = override(load_experiment(args.experiment), args.set or [])
    except ConfigError as e:
        print(f"jaxcraft: config error: {e}", file=sys.stderr)
        return 2
    out = pathlib.Path(args.out)
    if out.exists():
        print(f"jaxcraft: {out} exists; choose a new --out (pretrained params are never overwritten)", file=sys.stderr)
        return 2
    import jax

    env, params = make_env(config.env, config.task)
    space = env.action_space(params)
    try:   # the format, then the fit to this experiment, before anything is compiled
        sets = []
        for source in args.demos:
            sets.append(load_demo_source(source))
            check_demos_fit(sets[-1], env.observation_space(params), space, config.task.families, where=str(source))
        demos = sets[0] if len(sets) == 1 else concat_demos(sets)
        del sets
        # On the device now, so the host copy is freed here: the set is held once, not twice
        # (8,192 episodes at 32 px or 2,048 at 64 px are 7.5 GB of frames each way).
        demos = jax.device_put(demos)
    except (OSError, ValueError, ImportError) as e:
        print(f"jaxcraft: demos error: {e}", file=sys.stderr)
        return 2
    init = None
    if args.init is not None:
        try:
            if not params_saved_at(args.init):
                raise CheckpointError(f"{args.init} holds no params saved by `jaxcraft pretrain`")
            init = load_pretrained_policy(args.init, config, env, params).params
        except CheckpointError as e:
            print(f"jaxcraft: --init: {e}", file=sys.stderr)
            return 2
    saved_config = config   # the policy's config as evaluated (before cloning's goal-table layout)
    # A batch of `--batch` windows holds at most that many distinct goals (one per window), so the
    # goal torso runs once per window (nets.goal's `goal_table`); same outputs and gradients.
    if config.net.kind == "goal_cnn" and args.window > 1:
        config = dataclasses.replace(config, net=dataclasses.replace(
            config.net, goal=dataclasses.replace(config.net.goal, goal_table=args.batch)))
    agent = make_agent(config, make_network(config.net, env.observation_space(params), space), Spaces.of_env(env, params))
    icfg = imitation_config(args)
    log_dir = out.parent / f"{out.name}_log"        # metrics.jsonl + tb/, beside the params directory
    if log_dir.exists():                            # an earlier, unfinished attempt: keep its logs aside
        log_dir.rename(log_dir.with_name(f"{log_dir.name}.{time.strftime('%Y%m%d-%H%M%S')}"))
    sink = ScalarLog(log_dir, tensorboard=not args.no_tensorboard)
    bar = progress_bar(total=icfg.steps, desc="pretrain", unit="step")

    def on_row(row: dict) -> None:
        sink.write(row, row["step"], skip=("step",))
        sink.flush()
        bar.set_postfix(loss=f"{row['loss']:.3f}", acc=f"{row['action_exact_match']:.3f}", refresh=False)
        bar.update(row["step"] - bar.n)

    try:
        trained, rows = pretrain(agent.network, agent.dist, demos, icfg, params=init,
                                 log_every=max(1, args.log_every), log=None, on_row=on_row)
    finally:
        bar.close()
        sink.close()
    save_params(out, trained)
    (out.parent / f"{out.name}_pretrain.json").write_text(json.dumps(
        {"experiment": str(args.experiment), "set": list(args.set or []), "config": saved_config.to_dict(),
         "demos": [str(d) for d in args.demos], "init": args.init,
         "imitation": dataclasses.asdict(icfg), "metrics": rows}, indent=2))
    print(f"pretrained params saved to {out}, logs in {log_dir} (final nll {rows[-1]['nll']:.3f}, "
          f"exact-action match {rows[-1]['action_exact_match']:.3f})")
    return 0
