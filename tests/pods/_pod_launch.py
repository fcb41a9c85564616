"""Launch `jaxcraft train` as a local multi-process job (2 processes × 2 emulated CPU devices).

The commands are the ones docs/pods.md shows for trying a pod on one machine
(`test_docs_show_the_tested_commands` checks the doc contains them).
"""
from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXPERIMENT = "experiments/cartpole.py"
# A few tiny CartPole updates; a constant lr so that runs with other budgets (resumes) follow the same path.
TINY = ["--set", "env.rollout_len=16", "--set", "ppo.anneal_lr=false", "--set", "run.updates_per_call=1",
        "--set", "run.progress=false", "--set", "run.tensorboard=false"]
STEPS_PER_UPDATE = 4 * 16


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def job_env(devices: int, cache_dir: pathlib.Path | None) -> dict:
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT),
               XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
    if cache_dir is not None:  # single-process runs of a test session share compiled programs
        env.update(JAX_COMPILATION_CACHE_DIR=str(cache_dir), JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0")
    return env


def train_args(run_dir: pathlib.Path, updates: int, *extra: str) -> list[str]:
    return ["train", EXPERIMENT, *TINY, "--set", f"run.total_env_steps={updates * STEPS_PER_UPDATE}",
            "--run-dir", str(run_dir), *extra]


def launch(args: list[str], processes: int, devices: int, cache_dir: pathlib.Path | None = None,
           port: int | None = None, per_process: list[list[str]] | None = None) -> list[subprocess.Popen]:
    """`processes` copies of `python -m jaxcraft.cli ARGS --coordinator 127.0.0.1:PORT --num-processes N
    --process-id I` (a single plain process when processes == 1)."""
    port = port or free_port()
    procs = []
    for i in range(processes):
        job = [] if processes == 1 else ["--coordinator", f"127.0.0.1:{port}", "--num-processes", str(processes),
                                         "--process-id", str(i), "--heartbeat-timeout", "20"]
        if per_process:
            job = per_process[i]
        procs.append(subprocess.Popen([sys.executable, "-m", "jaxcraft.cli", *args, *job], cwd=ROOT,
                                      # No persistent compilation cache across processes of a job: a
                                      # multi-process run that loaded process 0's cached programs failed
                                      # on fetching its metrics (jax 0.10.2, CPU).
                                      env=job_env(devices, cache_dir if processes == 1 else None), stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    return procs


def wait_all(procs: list[subprocess.Popen], timeout: float = 900) -> list[tuple[int, str, str]]:
    out = []
    for p in procs:
        try:
            o, e = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise
        out.append((p.returncode, o, e))
    return out
