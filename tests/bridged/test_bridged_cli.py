"""Experiment files through the CLI with tiny budgets; SIGTERM then resume of a bridged run."""
import json
import pathlib
import signal
import subprocess
import sys
import time

import jax
import pytest

from jaxcraft.config import load_experiment
from jaxcraft.build import make_trainer
from jaxcraft.train.run.metrics import read_metrics

pytestmark = pytest.mark.slow

HERE = pathlib.Path(__file__).parent
ROOT = HERE.parent.parent
CLI = [sys.executable, "-m", "jaxcraft.cli"]
TINY = HERE / "_bridged_tiny_experiment.py"
QUIET = ["--set", "run.progress=false", "--set", "run.tensorboard=false"]


def cli(args, **kw):
    return subprocess.run(CLI + args, cwd=ROOT, capture_output=True, text=True, timeout=300, **kw)


def test_crafter_experiment_smoke(tmp_path):
    pytest.importorskip("crafter")
    r = cli(["train", "experiments/crafter_ppo.py", "--run-dir", str(tmp_path), *QUIET,
             "--set", "env.num_envs=2", "--set", "env.rollout_len=8", "--set", "ppo.num_minibatches=1",
             "--set", "bridge.num_workers=1", "--set", "bridge.recv_batch_size=1", "--set", "run.updates_per_call=2",
             "--set", "run.checkpoint_every=0", "--set", "run.total_env_steps=32"])
    assert r.returncode == 0, r.stderr[-3000:]
    rows = read_metrics(tmp_path / "metrics.jsonl")
    assert [row["update"] for row in rows] == [1, 2]
    assert {"policy_lag", "policy_lag_max", "lost_episodes", "dropped_fragments", "episode_return"} <= set(rows[0])


def test_minerl_experiment_loads_and_builds_without_minerl():
    """Not runnable here (no MineRL); the config validates and the trainer builds lazily."""
    config = load_experiment(ROOT / "experiments" / "minerl_find_cave.py")
    trainer = make_trainer(config)
    assert trainer.pool is None and trainer.env.action_space.nvec[-2:] == (11, 11)
    state = trainer.init(jax.random.key(0))
    assert int(state.ppo.update_step) == 0
    trainer.close()


def test_sigterm_then_resume_continues_from_the_checkpoint(tmp_path):
    proc = subprocess.Popen(CLI + ["train", str(TINY), "--run-dir", str(tmp_path), *QUIET,
                                   "--set", "bridge.load.latency_s=0.02"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = tmp_path / "metrics.jsonl"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if metrics.exists() and len(metrics.read_text().splitlines()) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read()[-2000:]
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err[-2000:]
    stopped = json.loads((tmp_path / "summary.json").read_text())
    assert stopped["status"] == "preempted" and 2 <= stopped["updates"] < 12

    r = cli(["train", str(TINY), "--run-dir", str(tmp_path), *QUIET, "--set", "bridge.load.latency_s=0.02"])
    assert r.returncode == 0, r.stderr[-3000:]
    rows = read_metrics(metrics)
    assert [row["update"] for row in rows] == list(range(1, 13))   # resumed where it stopped
    assert json.loads((tmp_path / "summary.json").read_text())["updates"] == 12
