"""One run per run directory (issue 31 item 1): a second run on a held directory is refused in one
line naming the holder, before anything is written; the lock dies with its holder."""
import dataclasses
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import pytest

from jaxcraft.cli import main as cli_main
from jaxcraft.config import load_experiment
from jaxcraft.train.run.loop import train
from jaxcraft.train.run.metrics import read_metrics
from jaxcraft.train.run.run_lock import LOCK_FILE, RunDirBusy, run_dir_lock

TINY = pathlib.Path(__file__).parent / "_tiny_experiment.py"


def test_second_lock_is_refused_naming_the_holder_and_released_after(tmp_path):
    run_dir = tmp_path / "run"
    with run_dir_lock(run_dir) as path:
        assert path == run_dir / LOCK_FILE
        assert path.read_text().strip() == f"pid {os.getpid()} on {socket.gethostname()}"
        with pytest.raises(RunDirBusy) as e:   # flock: a second open file of the same process conflicts too
            with run_dir_lock(run_dir):
                pass
        msg = str(e.value)
        assert "\n" not in msg and f"pid {os.getpid()}" in msg and str(run_dir) in msg
    with run_dir_lock(run_dir):   # released on exit: the next run may start
        pass


def test_train_and_the_cli_refuse_a_held_run_dir_before_writing_anything(tiny_trainer, tmp_path, capsys):
    config, trainer = tiny_trainer
    run_dir = tmp_path / "run"
    config = dataclasses.replace(config, run=dataclasses.replace(config.run, run_dir=str(run_dir)))
    with run_dir_lock(run_dir):
        with pytest.raises(RunDirBusy):
            train(config, trainer)
        assert sorted(p.name for p in run_dir.iterdir()) == [LOCK_FILE]   # no config, metrics or checkpoints
        assert cli_main(["train", str(TINY), "--run-dir", str(run_dir)]) == 5
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and err[0].startswith("jaxcraft: run directory busy:") and f"pid {os.getpid()}" in err[0]


@pytest.mark.slow
def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    code = ("import sys, time; from jaxcraft.train.run.run_lock import run_dir_lock\n"
            "with run_dir_lock(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(RunDirBusy, match=f"pid {proc.pid} "):
            with run_dir_lock(tmp_path):
                pass
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    with run_dir_lock(tmp_path):   # the kernel released the dead holder's lock
        pass


@pytest.mark.slow
def test_two_jaxcraft_train_processes_on_one_run_dir(tmp_path):
    """The second `jaxcraft train` on a directory the first is training in is refused in one line
    (exit 5) naming the first's PID; the first's metrics equal those of a lone run of the same config.
    The first is then stopped with SIGTERM (it saves and exits 143 after k updates), and the lone run
    makes exactly k updates (a constant learning rate, so a shorter budget follows the same path)."""
    cmd = lambda run, *extra: [sys.executable, "-m", "jaxcraft.cli", "train", str(TINY), "--run-dir", str(run),  # noqa: E731
                               "--set", "ppo.anneal_lr=false", *extra]
    env = {**os.environ, "PYTHONPATH": str(pathlib.Path(__file__).resolve().parents[2])}
    shared, lone = tmp_path / "shared", tmp_path / "lone"
    first = subprocess.Popen(cmd(shared), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        metrics = shared / "metrics.jsonl"
        for _ in range(1200):   # until the first is in its training loop (it logged a row)
            if (metrics.exists() and metrics.read_text().strip()) or first.poll() is not None:
                break
            time.sleep(0.05)
        assert first.poll() is None, first.stderr.read()
        second = subprocess.run(cmd(shared), env=env, capture_output=True, text=True, timeout=300)
        assert second.returncode == 5, second.stderr
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and f"pid {first.pid} " in lines[0], second.stderr
        assert first.poll() is None, "the first run ended before the second was refused: give it a longer budget"
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=600) == 143, first.stderr.read()
    finally:
        if first.poll() is None:
            first.kill()
    updates = len(read_metrics(shared / "metrics.jsonl", deterministic_only=True))
    steps = updates * load_experiment(TINY).batch_size
    assert subprocess.run(cmd(lone, "--set", f"run.total_env_steps={steps}"), env=env, capture_output=True,
                          text=True, timeout=600).returncode == 0
    assert read_metrics(shared / "metrics.jsonl", deterministic_only=True) == \
        read_metrics(lone / "metrics.jsonl", deterministic_only=True)
