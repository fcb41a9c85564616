"""The run loop: bit-exact resume (also after SIGKILL), SIGTERM, bad checkpoints, NaN, CLI errors."""
import dataclasses
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import pytest

from jaxcraft.config import load_experiment, override
from jaxcraft.train.run.checkpoint import CheckpointError
from jaxcraft.build import make_trainer, train as build_and_train
from jaxcraft.train.run.loop import TrainingDiverged, train
from jaxcraft.train.run.metrics import read_metrics

HERE = pathlib.Path(__file__).parent
TINY = HERE / "_tiny_experiment.py"
CLI = [sys.executable, str(HERE / "_train_cli.py")]


@pytest.fixture(scope="module")
def tiny():
    config = load_experiment(TINY)
    return config, make_trainer(config)   # compiled once, shared by the tests below


def _with(config, run_dir, total_updates=None, **run):
    cfg = override(config, [f"run.run_dir={run_dir}"])
    if total_updates:
        run["total_env_steps"] = total_updates * cfg.batch_size
    return dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, **run))


def test_resume_is_bit_exact_in_process(tiny, tmp_path):
    config, trainer = tiny
    full = train(_with(config, tmp_path / "full", 12), trainer=trainer)
    assert full.status == "finished" and full.updates == 12
    part_cfg = _with(config, tmp_path / "part", 12)
    train(part_cfg, trainer=trainer, max_updates=8)                  # stops after update 8 (a checkpoint)
    resumed = train(part_cfg, trainer=trainer)
    assert resumed.updates == 12
    a = read_metrics(tmp_path / "full" / "metrics.jsonl", deterministic_only=True)
    b = read_metrics(tmp_path / "part" / "metrics.jsonl", deterministic_only=True)
    assert [r["update"] for r in b] == list(range(1, 13))
    assert a == b


@pytest.mark.slow
def test_resume_after_sigkill_is_bit_exact(tiny, tmp_path):
    config, trainer = tiny
    run_dir = tmp_path / "killed"
    proc = subprocess.Popen(CLI + ["train", str(TINY), "--run-dir", str(run_dir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ckpts = run_dir / "checkpoints"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if ckpts.exists() and any(p.name.isdigit() and int(p.name) >= 8 for p in ckpts.iterdir()):
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    lines_at_kill = len(read_metrics(run_dir / "metrics.jsonl"))
    assert 8 <= lines_at_kill < 400
    # Resume in this process up to 40 updates; compare with an uninterrupted run.
    resumed = train(_with(config, run_dir, 40), trainer=trainer)
    full = train(_with(config, tmp_path / "full", 40), trainer=trainer)
    assert resumed.updates == full.updates == 40
    assert read_metrics(run_dir / "metrics.jsonl", True) == read_metrics(tmp_path / "full" / "metrics.jsonl", True)


@pytest.mark.slow
def test_sigterm_saves_a_checkpoint_and_exits(tmp_path):
    run_dir = tmp_path / "term"
    proc = subprocess.Popen(CLI + ["train", str(TINY), "--run-dir", str(run_dir), "--set", "run.checkpoint_every=100"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = run_dir / "metrics.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if metrics.exists() and len(metrics.read_text().splitlines()) >= 6:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the run finished before SIGTERM"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err[-2000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "preempted"
    steps = [int(p.name) for p in (run_dir / "checkpoints").iterdir() if p.name.isdigit()]
    # Saved at the update where it stopped, not at a periodic point (every 100).
    assert steps == [summary["updates"]] and summary["updates"] % 100 != 0
    assert "resume" in err


def test_corrupt_checkpoint_is_named_and_earlier_ones_survive(tiny, tmp_path):
    config, trainer = tiny
    cfg = _with(config, tmp_path / "c", 8)
    train(cfg, trainer=trainer)
    ckpts = tmp_path / "c" / "checkpoints"
    assert sorted(int(p.name) for p in ckpts.iterdir() if p.name.isdigit()) == [4, 8]
    # Damage the newest: remove its array data.
    for p in (ckpts / "8" / "state").rglob("*"):
        if p.is_file() and "metadata" not in p.name:
            p.write_bytes(b"garbage")
    longer = _with(config, tmp_path / "c", 12)
    with pytest.raises(CheckpointError, match=r"update 8.*other checkpoints: \[4\]"):
        train(longer, trainer=trainer)
    assert (ckpts / "4").exists() and (ckpts / "8").exists()
    # The earlier one still restores.
    res = train(longer, trainer=trainer, resume_step=4)
    assert res.updates == 12
    # The corrupt checkpoint was replaced by a good one and moved aside, not deleted.
    assert [p.name.split("-")[0] for p in (tmp_path / "c" / "replaced_checkpoints").iterdir()] == ["8"]


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    sys.path.insert(0, str(HERE))
    import _nan_env
    _nan_env.register()
    config = override(load_experiment(TINY), ["env.name=test:nan-after-40", "env.rollout_len=8",
                                              f"run.run_dir={tmp_path / 'nan'}", "run.total_env_steps=640"])
    with pytest.raises(TrainingDiverged, match=r"update 6.*Last good checkpoint: update 4"):
        build_and_train(config)
    steps = sorted(int(p.name) for p in (tmp_path / "nan" / "checkpoints").iterdir() if p.name.isdigit())
    assert steps == [4]
    rows = read_metrics(tmp_path / "nan" / "metrics.jsonl")
    assert [r["update"] for r in rows] == [1, 2, 3, 4, 5]


@pytest.mark.slow
def test_cli_rejects_unknown_and_ill_typed_keys(tmp_path, capsys):
    # One run as a process (exit code and stderr as a user sees them); the rest in-process, where a
    # subprocess would only pay the imports again.
    out = subprocess.run(CLI + ["train", str(TINY), "--set", "ppo.learning_rate=1"], capture_output=True, text=True)
    assert out.returncode == 2
    assert "unknown config key 'ppo.learning_rate'" in out.stderr and "ppo.lr" in out.stderr
    from jaxcraft.cli import main
    assert main(["train", str(TINY), "--set", "env.num_envs=four"]) == 2
    assert "env.num_envs: expected an int" in capsys.readouterr().err
    assert main(["train", str(TINY), "--set", "ppo.lr=-1", "--run-dir", str(tmp_path)]) == 2
    assert "ppo.lr=-1.0 must be > 0" in capsys.readouterr().err
    assert main(["train", str(TINY), "--show-config"]) == 0
    assert "ppo.kl_decay = 0.9995" in capsys.readouterr().out
