"""`jaxcraft eval CHECKPOINT --sim minetest`: the command line of `jaxcraft.eval.bridged_eval`
(it builds networks and restores runs, so it sits on the CLI layer)."""
from __future__ import annotations

import pathlib
from typing import Any

from jaxcraft.build import make_network
from jaxcraft.cli.experiment_arg import experiment_path
from jaxcraft.config import ConfigError, load_experiment
from jaxcraft.eval.bridged_eval import (NetworkActions, RandomActions, TeacherActions, evaluate_minetest,
                                        write_minetest_report)
from jaxcraft.eval.policies import NetworkPolicy
from jaxcraft.restore import load_checkpoint_policy, load_pretrained_policy
from jaxcraft.tasks import make_task_env
from jaxcraft.train.agent import Spaces, init_network, make_agent
from jaxcraft.train.bridged.minetest import minetest_config


def fresh_network_policy(config: Any, seed: int = 0):
    """A `NetworkPolicy` of `config.net` with freshly initialised weights (no run to load)."""
    import jax

    env, params = make_task_env(config.task)
    spaces = Spaces.of_env(env, params)
    agent = make_agent(config, make_network(config.net, spaces.observation, spaces.action), spaces)
    # Initialised op by op, as this baseline always was (`agent.init_params`, jitted, can differ from
    # it in the last bit of a leaf where XLA fuses an initialiser's ops).
    weights = init_network(agent.network, agent.spaces.sample(), jax.random.key(seed))
    return NetworkPolicy(agent.network, weights, agent.dist, name="fresh-init")



def run_minetest(args: Any) -> int:
    """`jaxcraft eval CHECKPOINT --sim minetest`: random / servo (the privileged Minetest teacher) /
    fresh (a freshly initialised network of --experiment) / a run directory / pretrained params."""
    import sys
    import time

    def bad(msg: str) -> int:
        print(f"jaxcraft eval --sim minetest: {msg}", file=sys.stderr)
        return 2

    name = args.checkpoint
    try:
        if name in ("random", "servo", "fresh"):
            config = load_experiment(experiment_path(args.experiment))
        elif pathlib.Path(name).is_dir() and (pathlib.Path(name) / "config.json").is_file():
            policy, config = load_checkpoint_policy(name, args.step, greedy=args.greedy)
        elif pathlib.Path(name).is_dir() and args.experiment:
            config = load_experiment(args.experiment)
        else:
            return bad(f"checkpoint {name!r} is none of random, servo, fresh, a run directory or pretrained params "
                       f"(with --experiment); the planning expert has no Minetest counterpart")
        families = tuple(f for f in (args.families.split(",") if args.families else config.task.families)
                         if f != "hunt")
        distances = tuple(int(d) for d in args.distances.split(",")) if args.distances else tuple(config.task.distances)
        mt = minetest_config(config, max_steps=args.max_steps, families=families, distances=distances)
    except (ConfigError, ValueError) as e:
        return bad(str(e))
    n = max(1, args.num_envs)
    if name == "random":
        actor = RandomActions(args.seed)
    elif name == "servo":
        actor = TeacherActions()
    else:
        if name == "fresh":
            policy = fresh_network_policy(config, args.seed)
        elif not (pathlib.Path(name) / "config.json").is_file():
            env, params = make_task_env(config.task)
            policy = load_pretrained_policy(name, config, env, params, greedy=args.greedy)
        actor = NetworkActions(policy, n, args.seed)
    out = pathlib.Path(args.out) if args.out else pathlib.Path("runs/eval") / f"minetest_{pathlib.Path(name).name}"
    t0 = time.perf_counter()
    result = evaluate_minetest(mt, actor, families, distances, args.episodes, num_envs=n, seed0=args.seed0,
                               record=args.videos > 0)
    paths = write_minetest_report(result, out, f"{result.policy} on Minetest 5.6 ({mt.frame_size}² frames, "
                                                f"{mt.max_steps}-step episodes)")
    print(result.table().to_markdown())
    print(f"{len(result.success)} episodes in {time.perf_counter() - t0:.0f} s; wrote {', '.join(map(str, paths.values()))}")
    return 0
