"""Launch `jaxcraft train` as a local multi-process job (2 processes × 2 emulated CPU devices).

The commands are the ones docs/pods.md shows for trying a pod on one machine
(`test_docs_show_the_tested_commands` checks the doc contains them).

Robust on a busy machine (CI runs two xdist workers on two cores):
* the coordinator port is chosen free at launch time, on the wildcard address the coordination
  service binds (`[::]:PORT`); a job whose process 0 could not bind it anyway (another program
  took it in between) is relaunched on a new port (`run_job`);
* children write to files, never to pipes (a chatty child cannot block on a full pipe while the
  test waits for its peer, which would then wait in a collective);
* waits are bounded; a process that fails takes the rest of its job down after a grace period
  instead of leaving them in a collective until --init-timeout/--heartbeat-timeout; every
  failure message carries each process's command, exit code and stderr tail.
"""
from __future__ import annotations

import atexit
import os
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXPERIMENT = "experiments/cartpole.py"
# A few tiny CartPole updates; a constant lr so that runs with other budgets (resumes) follow the same path.
# 2 epochs × 2 minibatches: each minibatch is a gradient all-reduce between the processes, and on a
# busy machine each cross-process collective waits for the peer to be scheduled (16 of them made an
# update take ~2 s there). The loops stay rolled (unrolled on CPU by default: ~10x the compile time).
TINY = ["--set", "env.rollout_len=16", "--set", "ppo.anneal_lr=false", "--set", "ppo.num_epochs=2",
        "--set", "ppo.num_minibatches=2", "--set", "ppo.unroll_minibatches=false", "--set", "run.updates_per_call=1",
        "--set", "run.progress=false", "--set", "run.tensorboard=false"]
STEPS_PER_UPDATE = 4 * 16
# Generous (3 processes compile at once on a shared 2-core machine: a 2-process job took ~5 min under
# heavy load) yet bounded, so that a hang fails with the children's stderr rather than pytest's timeout.
JOB_TIMEOUT = 600
HEARTBEAT_TIMEOUT = 60     # a starved process must not be declared dead while it compiles
# Environment the children must not inherit from the test process (they would change the job).
_STRIP = ("JAX_PLATFORMS", "JAX_PLATFORM_NAME", "XLA_FLAGS", "JAX_COMPILATION_CACHE_DIR",
          "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES",
          "JAX_PROCESS_ID", "JAX_ENABLE_X64", "JAX_DISABLE_JIT", "JAX_DEBUG_NANS", "CUDA_VISIBLE_DEVICES")
_LIVE: list[subprocess.Popen] = []    # killed at exit if a test could not clean up (e.g. a timeout)
_PORT_TAKEN = ("Failed to add port to server", "Failed to start RPC server", "Address already in use")


@atexit.register
def _kill_leftovers() -> None:
    kill_all(_LIVE)


def free_port() -> int:
    """A port nobody listens on, checked on the address the coordinator binds ([::], dual-stack;
    0.0.0.0 without IPv6). Another program may still take it before process 0 binds it: `run_job`."""
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        addr = ("::", 0)
    except OSError:
        s, addr = socket.socket(socket.AF_INET, socket.SOCK_STREAM), ("0.0.0.0", 0)
    with s:
        s.bind(addr)
        return s.getsockname()[1]


def job_env(devices: int, cache_dir: pathlib.Path | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in _STRIP and not k.startswith("JAXCRAFT_")}
    # The suite's compile flags (tests/conftest.py: LLVM O0) without any device count of the parent.
    flags = [f for f in os.environ.get("XLA_FLAGS", "").split() if "device_count" not in f]
    env.update(JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1",
               XLA_FLAGS=" ".join(flags + [f"--xla_force_host_platform_device_count={devices}"]))
    if cache_dir is not None:  # single-process runs of a test session share compiled programs
        env.update(JAX_COMPILATION_CACHE_DIR=str(cache_dir), JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0")
    return env


def train_args(run_dir: pathlib.Path, updates: int, *extra: str) -> list[str]:
    return ["train", EXPERIMENT, *TINY, "--set", f"run.total_env_steps={updates * STEPS_PER_UPDATE}",
            "--run-dir", str(run_dir), *extra]


def launch(args: list[str], processes: int, devices: int, cache_dir: pathlib.Path | None = None,
           port: int | None = None, per_process: list[list[str]] | None = None,
           heartbeat_timeout: int = HEARTBEAT_TIMEOUT) -> list[subprocess.Popen]:
    """`processes` copies of `python -m jaxcraft.cli ARGS --coordinator 127.0.0.1:PORT --num-processes N
    --process-id I` (a single plain process when processes == 1), each writing stdout/stderr to a
    temporary file (`wait_all` reads them)."""
    port = port or free_port()
    procs = []
    for i in range(processes):
        job = [] if processes == 1 else ["--coordinator", f"127.0.0.1:{port}", "--num-processes", str(processes),
                                         "--process-id", str(i), "--heartbeat-timeout", str(heartbeat_timeout)]
        if per_process:
            job = per_process[i]
        cmd = [sys.executable, "-m", "jaxcraft.cli", *args, *job]
        out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
        # No persistent compilation cache across processes of a job: a multi-process run that loaded
        # process 0's cached programs failed on fetching its metrics (jax 0.10.2, CPU).
        p = subprocess.Popen(cmd, cwd=ROOT, env=job_env(devices, cache_dir if processes == 1 else None),
                             stdin=subprocess.DEVNULL, stdout=out, stderr=err, text=True)
        p.log_files, p.cmd = (out, err), cmd
        _LIVE[:] = [q for q in _LIVE if q.poll() is None] + [p]
        procs.append(p)
    return procs


def _read(f) -> str:
    f.seek(0)
    return f.read()


def output(p: subprocess.Popen) -> tuple[str, str]:
    """What `p` wrote so far (stdout, stderr)."""
    return _read(p.log_files[0]), _read(p.log_files[1])


def describe(procs: list[subprocess.Popen], tail: int = 3000) -> str:
    """Each process's command, exit code (None = running) and stderr tail: for failure messages."""
    parts = []
    for i, p in enumerate(procs):
        cmd = " ".join(str(c) for c in p.cmd[1:]).replace(str(ROOT) + "/", "")
        parts.append(f"--- process {i} (exit code {p.poll()}): {cmd}\n{output(p)[1][-tail:]}")
    return "\n".join(parts)


def kill_all(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.kill()
    for p in procs:
        p.wait()


def wait_all(procs: list[subprocess.Popen], timeout: float = JOB_TIMEOUT,
             grace: float | None = 60) -> list[tuple[int, str, str]]:
    """[(exit code, stdout, stderr)] once every process has ended. Bounded: after `timeout` seconds
    everything still running is killed and an AssertionError shows each process's stderr tail.
    With `grace`, a process that fails (exit code other than 0 or 143) gives the others `grace`
    seconds to end by themselves, then they are killed (their exit code is then -9)."""
    deadline, failed_at = time.monotonic() + timeout, None
    try:
        while any(p.poll() is None for p in procs):
            now = time.monotonic()
            if now > deadline:
                kill_all(procs)
                raise AssertionError(f"the job did not end within {timeout:g} s (killed):\n{describe(procs)}")
            if grace is not None and failed_at is None and any(p.poll() not in (None, 0, 143) for p in procs):
                failed_at = now
            if failed_at is not None and now > failed_at + grace:
                kill_all(procs)
            time.sleep(0.1)
    except BaseException:
        kill_all(procs)   # never leave children behind (Ctrl-C, pytest-timeout, the error above)
        raise
    return [(p.returncode, *output(p)) for p in procs]


def run_job(args: list[str], processes: int, devices: int, cache_dir: pathlib.Path | None = None,
            timeout: float = JOB_TIMEOUT, attempts: int = 3) -> list[tuple[int, str, str]]:
    """`launch` + `wait_all`, relaunching on a new port when the coordinator's port was taken."""
    for attempt in range(attempts):
        results = wait_all(launch(args, processes, devices, cache_dir), timeout)
        if processes == 1 or not any(m in results[0][2] for m in _PORT_TAKEN) or attempt == attempts - 1:
            return results
    return results


def check_ok(results: list[tuple[int, str, str]], what: str = "the job") -> None:
    """Assert every process exited 0, else show each one's exit code and stderr tail."""
    if any(rc != 0 for rc, _, _ in results):
        tails = "\n".join(f"--- process {i} exit code {rc}:\n{err[-3000:]}" for i, (rc, _, err) in enumerate(results))
        raise AssertionError(f"{what} failed:\n{tails}")


def terminate(procs: list[subprocess.Popen]) -> None:
    """SIGTERM, then SIGKILL after 10 s, for every process still running (test clean-up)."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    end = time.monotonic() + 10
    while time.monotonic() < end and any(p.poll() is None for p in procs):
        time.sleep(0.1)
    kill_all(procs)
