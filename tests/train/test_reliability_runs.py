"""Integrity of a run directory (issue 14, items 1-4 and 8): nothing lost, nothing silent.

Each test starts from a copy of one finished 8-update run (checkpoints at updates 4 and 8),
made once per module with the session's compiled tiny trainer.
"""
import dataclasses
import hashlib
import json
import pathlib
import shutil
import struct
import sys
import time

import pytest

from jaxcraft.config import override
from jaxcraft.train.run.checkpoint import CheckpointError
from jaxcraft.train.run.loop import train
from jaxcraft.train.run.metrics import read_metrics


def _with(config, run_dir, total_updates, **run):
    cfg = override(config, [f"run.run_dir={run_dir}"])
    run["total_env_steps"] = total_updates * cfg.batch_size
    return dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, **run))


@pytest.fixture(scope="module")
def finished_run(tiny_trainer, tmp_path_factory):
    config, trainer = tiny_trainer
    run_dir = tmp_path_factory.mktemp("base") / "run"
    train(_with(config, run_dir, 8, tensorboard=True), trainer=trainer)
    return run_dir


@pytest.fixture
def run_copy(finished_run, tmp_path):
    dst = tmp_path / "run"
    shutil.copytree(finished_run, dst)
    return dst


def _hashes(root: pathlib.Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_no_resume_keeps_the_earlier_run_byte_identical(tiny_trainer, run_copy):
    config, trainer = tiny_trainer
    before = {n: _hashes(run_copy / n) for n in ("checkpoints",)}
    metrics_before = (run_copy / "metrics.jsonl").read_bytes()
    res = train(_with(config, run_copy, 4), trainer=trainer, resume=False)
    assert res.updates == 4
    archives = list((run_copy / "previous_runs").iterdir())
    assert len(archives) == 1
    assert _hashes(archives[0] / "checkpoints") == before["checkpoints"]     # all of 4 and 8, untouched
    assert (archives[0] / "metrics.jsonl").read_bytes() == metrics_before
    new = sorted(int(p.name) for p in (run_copy / "checkpoints").iterdir() if p.name.isdigit())
    assert new == [4]
    assert [r["update"] for r in read_metrics(run_copy / "metrics.jsonl")] == [1, 2, 3, 4]


def test_plausible_but_wrong_array_bytes_are_detected(tiny_trainer, run_copy):
    config, trainer = tiny_trainer
    ckpts = run_copy / "checkpoints"
    # Checkpoint 8's arrays replaced by checkpoint 4's: valid, decodable floats, but not update 8's.
    shutil.rmtree(ckpts / "8" / "state")
    shutil.copytree(ckpts / "4" / "state", ckpts / "8" / "state")
    with pytest.raises(CheckpointError, match=r"update 8 .*corrupt.*sha256 of \d+ array\(s\) differs.*other checkpoints: \[4\]"):
        train(_with(config, run_copy, 12), trainer=trainer)
    assert train(_with(config, run_copy, 12), trainer=trainer, resume_step=4).updates == 12   # asked: falls back


def test_torn_metrics_tail_is_dropped_on_resume(tiny_trainer, run_copy, capsys):
    config, trainer = tiny_trainer
    with open(run_copy / "metrics.jsonl", "a") as f:
        f.write('{"update": 9, "loss": 0.12')          # killed mid-write
    res = train(_with(config, run_copy, 12), trainer=trainer)
    assert res.updates == 12
    assert [r["update"] for r in read_metrics(run_copy / "metrics.jsonl")] == list(range(1, 13))
    err = capsys.readouterr().err
    assert "torn last line" in err and len([l for l in err.splitlines() if "torn" in l]) == 1


def _tb_events(tb_dir: pathlib.Path):
    """(tag, step) of every scalar in the event files: a plain TFRecord reader (length, crc, data, crc)."""
    from tensorboardX.proto import event_pb2
    out = []
    for f in sorted(tb_dir.glob("events.out.tfevents.*")):
        data = f.read_bytes()
        i = 0
        while i < len(data):
            (n,) = struct.unpack("<Q", data[i:i + 8])
            ev = event_pb2.Event.FromString(data[i + 12:i + 12 + n])
            out += [(v.tag, ev.step) for v in ev.summary.value]
            i += 12 + n + 4
    return out


def test_each_tensorboard_step_once_after_resume_and_finished_summary_kept(tiny_trainer, run_copy):
    config, trainer = tiny_trainer
    cfg = _with(config, run_copy, 12, tensorboard=True)
    train(cfg, trainer=trainer, resume_step=4)          # steps 5..8 were already in tb/ from the first run
    pairs = _tb_events(run_copy / "tb")
    assert len(pairs) == len(set(pairs))
    steps = sorted({s for _, s in pairs})
    assert steps == [u * cfg.batch_size for u in range(1, 13)]
    summary = (run_copy / "summary.json").read_bytes()
    assert json.loads(summary)["final_return"] is not None
    again = train(cfg, trainer=trainer)                  # a finished run started again: nothing to do
    assert again.updates == 12 and (run_copy / "summary.json").read_bytes() == summary
    assert again.final_return == json.loads(summary)["final_return"]


def test_missing_data_file_and_absent_step_give_one_line_errors(tiny_trainer, run_copy):
    config, trainer = tiny_trainer
    cfg = _with(config, run_copy, 12)
    with pytest.raises(CheckpointError, match=r"no checkpoint at update 99 .*available: \[4, 8\]"):
        train(cfg, trainer=trainer, resume_step=99)
    for f in (run_copy / "checkpoints" / "8" / "state").rglob("d/*"):
        f.unlink()                                       # the array data of checkpoint 8
    seen = []
    previous, sys.unraisablehook = sys.unraisablehook, seen.append
    try:
        with pytest.raises(CheckpointError) as e:
            train(cfg, trainer=trainer)
        time.sleep(0.5)                                  # late TensorStore callbacks
    finally:
        sys.unraisablehook = previous
    assert not [u for u in seen if "Event loop is closed" in str(u.exc_value)]
    msg = str(e.value)
    assert "\n" not in msg and "{" not in msg and len(msg) < 800
    assert "update 8" in msg and "other checkpoints: [4]" in msg and msg.endswith("moves this run aside).")


def _wandb_history(path: pathlib.Path):
    """History rows of a W&B offline run file (LevelDB-log framing: 7-byte file header, 32 KiB blocks,
    records of crc32 · length · type · protobuf `Record`, split FIRST/MIDDLE/LAST across blocks)."""
    from wandb.proto import wandb_internal_pb2
    data, pos, buf, rows = path.read_bytes(), 7, b"", []
    assert struct.unpack("<4sHB", data[:7])[:2] == (b":W&B", 0xBEE1)
    while pos + 7 <= len(data):
        left = 32768 - pos % 32768
        _, n, kind = struct.unpack("<IHB", data[pos:pos + 7]) if left >= 7 else (0, 0, 0)
        if kind == 0:
            pos += left
            continue
        buf, pos = buf + data[pos + 7:pos + 7 + n], pos + 7 + n
        if kind in (1, 4):   # FULL or LAST
            r = wandb_internal_pb2.Record.FromString(buf)
            buf = b""
            if r.WhichOneof("record_type") == "history":
                rows.append({i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in r.history.item})
    return rows


def test_wandb_offline_run_holds_the_logged_metrics(tiny_trainer, tmp_path, monkeypatch):
    wandb = pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")   # no server: offline must not need one
    monkeypatch.setenv("WANDB_SILENT", "true")
    config, trainer = tiny_trainer
    cfg = _with(config, tmp_path / "wb", 4, wandb_project="jaxcraft-test", wandb_mode="offline")
    assert train(cfg, trainer=trainer).updates == 4
    wandb.teardown()   # the W&B service writes the run file asynchronously; this waits for it to finish
    (run_file,) = (tmp_path / "wb" / "wandb").glob("offline-run-*/run-*.wandb")
    rows = _wandb_history(run_file)
    jsonl = read_metrics(tmp_path / "wb" / "metrics.jsonl")
    assert [r["_step"] for r in rows] == [r["env_steps"] for r in jsonl] == [64, 128, 192, 256]
    assert [r["loss"] for r in rows] == pytest.approx([r["loss"] for r in jsonl], rel=1e-6)
