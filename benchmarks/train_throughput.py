"""Where one fused training update goes: env only / rollout / whole update, and the learner's share.

For each experiment, one jitted call of each part (after compile), on the experiment's own
config (num_envs × rollout_len steps):

    env only     `rollout_len` batched env steps with uniformly random actions (auto-reset pool)
    rollout      the trainer's acting scan: policy (+ frozen reference policy) + env steps
    update       the whole fused update: rollout + GAE + epochs × minibatches of PPO

learner share = (update − rollout) / update. Columns: ms per update (median of --repeats
calls), env steps/s if that part ran alone, compile time of that part, XLA's peak
temporary buffer size for it (`compiled.memory_analysis()`), and the machine (lscpu model,
cores, load average) in the header. Params are freshly initialised (the timing does not
depend on their values); the KL reference is the initial policy, as in `make run`.

    python benchmarks/train_throughput.py                       # quickstart (48 px since 2026-12-07;
                                                                # --set task.frame_size=32: the numbers of issue 34)
    python benchmarks/train_throughput.py --experiments quickstart world_builtin

Peer comparison (`--purejaxrl DIR --purejaxrl-python PY`): PureJaxRL's `ppo.py` and, for the
recurrent case (MemoryChain, a GRU), `ppo_rnn.py` (a checkout of
luchris429/purejaxrl at 31756b1, run in its own venv with gymnax 0.0.9 and distrax by
`benchmarks/purejaxrl_peer.py`; its code is never imported here) against jaxcraft on the same
env, hyper-parameters (PureJaxRL's CartPole settings: 128 steps per env, 4 epochs × 4
minibatches, lr 2.5e-4 annealed, γ 0.99, λ 0.95, clip 0.2, entropy 0.01) and network (64-64
tanh MLP, separate actor and critic) and budget, in the same run, one after the other:

    jitted train   the whole run as one jitted `train(key)`: compile s and env steps/s
    whole process  wall time of a fresh process: PureJaxRL's script (import, compile, train)
                   against `jaxcraft train EXPERIMENT` (config, compile, train, logs, checkpoints)

Without `--purejaxrl` those rows print "not measured".
"""
from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import time

import jax
import jax.numpy as jnp

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from jaxcraft.config import load_experiment, override  # noqa: E402
from jaxcraft.build import make_trainer  # noqa: E402
from jaxcraft.machine import cpu_description  # noqa: E402


def machine() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{cpu_description()}, load average {load}, jax {jax.__version__} {jax.default_backend()}"


def _timed(fn, args, repeats: int):
    """(compile s, median ms per call, peak temp MiB) of jitted `fn(*args)`; returns the last output."""
    t0 = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    compile_s = time.perf_counter() - t0
    mem = compiled.memory_analysis()
    temp_mib = getattr(mem, "temp_size_in_bytes", 0) / 2**20 if mem is not None else float("nan")
    out = jax.block_until_ready(compiled(*args))  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = jax.block_until_ready(compiled(*args))
        times.append(time.perf_counter() - t)
    return compile_s, 1e3 * statistics.median(times), temp_mib, out


def measure(name: str, repeats: int, sets: list[str]) -> list[dict]:
    config = load_experiment(ROOT / "experiments" / f"{name}.py")
    config = override(config, ["run.init_params="] + sets)
    trainer = make_trainer(config)
    state = trainer.init(jax.random.key(0))
    env, dist, T = trainer.env, trainer.dist, config.env.rollout_len
    steps = config.env.num_envs * T

    def env_only(env_state, key):
        def step(s, k):
            ka, ke = jax.random.split(k)
            b = config.env.num_envs
            action = jax.vmap(dist.sample)(jax.random.split(ka, b), jnp.zeros((b, dist.num_logits)))
            s, out = env.step(s, action, jax.random.split(ke, b))
            return s, out.reward
        return jax.lax.scan(step, env_state, jax.random.split(key, T))

    def rollout(ppo, actor):
        return trainer.rollout(ppo.params, ppo.ref_params, ppo.value_norm, actor)

    rows = []
    for part, fn, args in [("env only", env_only, (state.actor.env, jax.random.key(1))),
                           ("rollout", rollout, (state.ppo, state.actor)),
                           ("update", trainer.update, (state,))]:
        c, ms, mem, _ = _timed(fn, args, repeats)
        rows.append(dict(experiment=name, part=part, ms=ms, sps=steps / (ms / 1e3), compile=c, mem=mem))
    learner = rows[2]["ms"] - rows[1]["ms"]
    rows[2]["share"] = learner / rows[2]["ms"]
    return rows


# (label, experiment stem, gymnax env id, envs, env steps, jaxcraft overrides for PureJaxRL's settings)
# (label, experiment stem, gymnax id, envs, env steps, jaxcraft --set overrides, PureJaxRL peer arguments)
PEER_CASES = [
    ("CartPole-v1, 4 envs", "cartpole", "CartPole-v1", 4, 512_000, [], []),
    ("CartPole-v1, 64 envs", "cartpole", "CartPole-v1", 64, 524_288,
     ["env.num_envs=64", "run.updates_per_call=16", "run.checkpoint_every=32"], []),
    ("Breakout-MinAtar, 64 envs", "minatar_breakout", "Breakout-MinAtar", 64, 524_288,
     ["env.num_envs=64", "net.kind=mlp", "net.hidden=64,64", "net.activation=tanh", "net.separate_critic=true",
      "ppo.lr=2.5e-4", "ppo.num_minibatches=4", "run.updates_per_call=16", "run.checkpoint_every=32"], []),
    # Recurrent PPO (PureJaxRL's ppo_rnn.py: Dense 128 → GRU 128 → 128-unit actor and critic heads;
    # minibatches of whole 128-step sequences of 4 envs). jaxcraft: Dense 128 → GRU 128 → linear heads
    # reading [GRU; Dense], minibatches of 32-step chunks from the stored hidden state.
    ("MemoryChain-bsuite (memory 10), GRU, 16 envs", "memory_chain", "MemoryChain-bsuite", 16, 524_288,
     ["net.hidden=128", "net.core_size=128", "net.activation=relu", "run.updates_per_call=16",
      "run.checkpoint_every=256"],
     ["--algo", "ppo_rnn", "--env-param", "memory_length=10"]),
]


def _jaxcraft_cli() -> list[str]:
    script = pathlib.Path(sys.executable).with_name("jaxcraft")
    return [str(script)] if script.exists() else [sys.executable, "-m", "jaxcraft.cli"]


def measure_peer(case: tuple, purejaxrl: str | None, peer_python: str | None) -> dict:
    """PureJaxRL vs jaxcraft on one case (see the module doc); PureJaxRL fields are None without a checkout."""
    import json
    import tempfile
    label, stem, env_id, envs, total, sets, peer_args = case
    exp = ROOT / "experiments" / f"{stem}.py"
    sets = sets + [f"run.total_env_steps={total}", "run.seed=0"]
    row = dict(case=label, steps=total)
    if purejaxrl:
        cmd = [peer_python or sys.executable, str(ROOT / "benchmarks" / "purejaxrl_peer.py"), purejaxrl,
               "--env", env_id, "--num-envs", str(envs), "--total", str(total), *peer_args]
        t0 = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if out.returncode:
            raise SystemExit(f"PureJaxRL run failed ({' '.join(cmd)}):\n{out.stderr[-2000:]}")
        peer = json.loads(out.stdout.strip().splitlines()[-1])
        row.update(pjx_compile=peer["compile_s"], pjx_sps=peer["steps_per_s"], pjx_wall=wall,
                   pjx_return=peer["final_return"])
    # jaxcraft, jitted train(key), in this process
    config = override(load_experiment(exp), sets)
    trainer = make_trainer(config)
    key = jax.random.key(0)
    t0 = time.perf_counter()
    compiled = jax.jit(trainer.train).lower(key).compile()
    row["jc_compile"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, metrics = jax.block_until_ready(compiled(key))
    row["jc_sps"] = config.num_updates * config.batch_size / (time.perf_counter() - t0)
    last = max(1, config.num_updates // 10)   # the mean over the last tenth of the updates, as the peer's
    row["jc_return"] = float(jnp.nanmean(metrics["episode_return"][-last:]))
    trainer.close()
    # jaxcraft, the CLI in a fresh process
    with tempfile.TemporaryDirectory() as tmp:
        cmd = _jaxcraft_cli() + ["train", str(exp), "--set", f"run.run_dir={tmp}/run"] + \
            [a for s_ in sets for a in ("--set", s_)]
        t0 = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "JAX_PLATFORMS": "cpu"})
        row["jc_wall"] = time.perf_counter() - t0
        if out.returncode:
            raise SystemExit(f"jaxcraft train failed ({' '.join(cmd)}):\n{out.stderr[-2000:]}")
    return row


def print_peer(rows: list[dict]) -> None:
    f = lambda r, k, fmt: format(r[k], fmt) if k in r else "not measured"  # noqa: E731
    ratio = lambda r, a, b: f"{r[a] / r[b]:.2f}×" if a in r and b in r else "—"  # noqa: E731
    print(f"\njaxcraft vs PureJaxRL ppo.py / ppo_rnn.py (31756b1), same settings and budget, on {machine()}")
    print("| case | env steps | PureJaxRL compile s | jaxcraft compile s | compile ratio | PureJaxRL steps/s | "
          "jaxcraft steps/s | speed ratio | PureJaxRL script wall s | `jaxcraft train` wall s | wall ratio | "
          "final return (PureJaxRL / jaxcraft) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['case']} | {r['steps']:,} | {f(r, 'pjx_compile', '.1f')} | {r['jc_compile']:.1f} | "
              f"{ratio(r, 'jc_compile', 'pjx_compile')} | {f(r, 'pjx_sps', ',.0f')} | {r['jc_sps']:,.0f} | "
              f"{ratio(r, 'jc_sps', 'pjx_sps')} | {f(r, 'pjx_wall', '.1f')} | {r['jc_wall']:.1f} | "
              f"{ratio(r, 'jc_wall', 'pjx_wall')} | {f(r, 'pjx_return', '.2f')} / {r['jc_return']:.2f} |")
    print("Ratios are jaxcraft / PureJaxRL: compile and wall lower is better, speed higher is better.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiments", nargs="+", default=["quickstart"], help="experiment file stems")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per part (median)")
    parser.add_argument("--set", action="append", default=[], help="config override key=value (repeatable)")
    parser.add_argument("--purejaxrl", metavar="DIR", help="checkout of luchris429/purejaxrl at 31756b1 (peer rows)")
    parser.add_argument("--purejaxrl-python", metavar="PY", help="python of a venv with gymnax 0.0.9 and distrax")
    parser.add_argument("--peer-only", action="store_true", help="only the PureJaxRL comparison")
    parser.add_argument("--peer-cases", nargs="+", default=None, metavar="TEXT",
                        help="only the peer cases whose label contains one of these (e.g. MemoryChain)")
    parser.add_argument("--no-peer", action="store_true", help="skip the PureJaxRL comparison")
    args = parser.parse_args()
    if not args.no_peer:
        cases = [c for c in PEER_CASES if args.peer_cases is None or any(t in c[0] for t in args.peer_cases)]
        print_peer([measure_peer(c, args.purejaxrl, args.purejaxrl_python) for c in cases])
    if args.peer_only:
        return
    rows = [r for name in args.experiments for r in measure(name, args.repeats, args.set)]
    print(f"\nTraining-step throughput on {machine()}")
    print("| experiment | part | ms per update | env steps/s | compile s | peak temp MiB | learner share |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        share = f"{100 * r['share']:.0f} %" if "share" in r else ""
        print(f"| {r['experiment']} | {r['part']} | {r['ms']:,.0f} | {r['sps']:,.0f} | {r['compile']:.1f} | "
              f"{r['mem']:,.0f} | {share} |")


if __name__ == "__main__":
    main()
