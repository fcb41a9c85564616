"""Runs PureJaxRL's `ppo.py` (a checkout of luchris429/purejaxrl) and prints its timings as JSON.

Executed by `train_throughput.py --purejaxrl DIR --purejaxrl-python PY` in PureJaxRL's own
venv (gymnax 0.0.9, distrax); it never imports jaxcraft. PureJaxRL's `wrappers.py` imports brax
and navix at the top although `ppo.py` only uses its gymnax wrappers, so empty stand-ins for
those two packages are put on `sys.path` first.

    PY benchmarks/purejaxrl_peer.py DIR --env CartPole-v1 --num-envs 4 --total 512000
    PY benchmarks/purejaxrl_peer.py DIR --algo ppo_rnn --env MemoryChain-bsuite --env-param memory_length=10
    → {"compile_s": …, "run_s": …, "steps": …, "steps_per_s": …, "final_return": …}

`--algo ppo_rnn` runs PureJaxRL's recurrent PPO (`ppo_rnn.py`: a GRU of 128). It was written for
flax < 0.7.5, whose `GRUCell` needed no `features` and had a static `initialize_carry(rng,
batch_dims, size)`; under today's flax (the peer venv's) the two are shimmed before the import —
the same cell, zeros as the initial state, as in the old API. `--env-param K=V` sets fields of the
gymnax env's params (as `jaxcraft`'s `env.env_params` does).
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
import tempfile
import time

_STUBS = {
    "brax/__init__.py": "",
    "brax/envs/__init__.py": "",
    "brax/envs/wrappers/__init__.py": "",
    "brax/envs/wrappers/training.py": "class EpisodeWrapper:\n    pass\n\n\nclass AutoResetWrapper:\n    pass\n",
    "navix/__init__.py": "",
}


def _stub_dir() -> str:
    root = pathlib.Path(tempfile.mkdtemp(prefix="purejaxrl_stubs_"))
    for rel, text in _STUBS.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return str(root)


def _override_env_params(values: dict) -> None:
    import gymnax
    make = gymnax.make

    def patched(name, **kw):
        env, params = make(name, **kw)
        cast = {k: type(getattr(params, k))(float(v)) for k, v in values.items()}
        return env, params.replace(**cast)
    gymnax.make = patched


def _shim_old_flax_gru() -> None:
    import flax.linen as nn
    import jax.numpy as jnp

    class GRUCell(nn.GRUCell):
        features: int = 128   # ppo_rnn.py's width (its carry is initialised with 128)

        @staticmethod
        def initialize_carry(rng, batch_dims, size):   # the pre-0.7.5 static signature: zeros
            return jnp.zeros(tuple(batch_dims) + (size,))
    nn.GRUCell = GRUCell


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("purejaxrl", help="checkout of luchris429/purejaxrl (31756b1)")
    p.add_argument("--env", default="CartPole-v1")
    p.add_argument("--num-envs", type=int, default=4)
    p.add_argument("--num-steps", type=int, default=128)
    p.add_argument("--total", type=int, default=512_000)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--minibatches", type=int, default=4)
    p.add_argument("--lr", type=float, default=2.5e-4)
    p.add_argument("--activation", default="tanh")
    p.add_argument("--algo", choices=("ppo", "ppo_rnn"), default="ppo")
    p.add_argument("--env-param", action="append", default=[], metavar="K=V",
                   help="a field of the gymnax env's params (int or float), repeatable")
    args = p.parse_args()
    t_start = time.perf_counter()
    sys.path[:0] = [_stub_dir(), str(pathlib.Path(args.purejaxrl) / "purejaxrl")]
    import importlib

    import jax
    if args.env_param:
        _override_env_params(dict(kv.split("=", 1) for kv in args.env_param))
    if args.algo == "ppo_rnn":
        _shim_old_flax_gru()
    ppo = importlib.import_module(args.algo)   # PureJaxRL's module; its __main__ block does not run on import

    config = {"LR": args.lr, "NUM_ENVS": args.num_envs, "NUM_STEPS": args.num_steps, "TOTAL_TIMESTEPS": args.total,
              "UPDATE_EPOCHS": args.epochs, "NUM_MINIBATCHES": args.minibatches, "GAMMA": 0.99, "GAE_LAMBDA": 0.95,
              "CLIP_EPS": 0.2, "ENT_COEF": 0.01, "VF_COEF": 0.5, "MAX_GRAD_NORM": 0.5,
              "ACTIVATION": args.activation, "ENV_NAME": args.env, "ANNEAL_LR": True, "DEBUG": False}
    key = jax.random.PRNGKey(30)
    t0 = time.perf_counter()
    compiled = jax.jit(ppo.make_train(config)).lower(key).compile()
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = jax.block_until_ready(compiled(key))
    run_s = time.perf_counter() - t0
    updates = int(args.total) // args.num_envs // args.num_steps
    steps = updates * args.num_envs * args.num_steps
    info = out["metrics"] if "metrics" in out else out["metric"]   # ppo.py and ppo_rnn.py name it differently
    done = info["returned_episode"][-max(1, updates // 10):]
    ret = info["returned_episode_returns"][-max(1, updates // 10):]
    final = float((ret * done).sum() / max(float(done.sum()), 1.0))
    print(json.dumps({"compile_s": compile_s, "run_s": run_s, "steps": steps, "steps_per_s": steps / run_s,
                      "final_return": final, "jax": jax.__version__,
                      "process_s_before_exit": time.perf_counter() - t_start}))


if __name__ == "__main__":
    main()
