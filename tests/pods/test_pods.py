"""Multi-process training (docs/pods.md) on this machine: 2 processes × 2 emulated CPU devices,
gloo collectives, coordinator on 127.0.0.1 — against the same run as 1 process × 4 devices."""
from __future__ import annotations

import json
import shutil
import signal
import time

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest

from _pod_launch import (ROOT, _PORT_TAKEN, check_ok, describe, kill_all, launch, output, run_job,
                         terminate, train_args, wait_all)
from jaxcraft.train.run.metrics import read_metrics

# Every wait for a job is bounded (_pod_launch.JOB_TIMEOUT); above pytest's 900 s because an item can
# carry the reference fixture too: `-k sigterm` took 850 s as one item on a heavily loaded 2-core machine.
pytestmark = [pytest.mark.timeout(1800), pytest.mark.slow]

UPDATES = 8
LOSSES = ("loss", "policy_loss", "value_loss", "entropy", "approx_kl", "episode_return", "value")


def _rows(run_dir):
    return {r["update"]: r for r in read_metrics(run_dir / "metrics.jsonl", deterministic_only=True)}


def _params(step_dir):
    """A checkpoint's params, read in this (single-device) process."""
    ckpt = ocp.StandardCheckpointer()
    meta = ckpt.metadata(step_dir / "state")
    meta = getattr(meta, "item_metadata", meta)
    one = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    tree = ckpt.restore(step_dir / "state", jax.tree.map(lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=one), meta))
    return jax.tree.leaves(tree["ppo"]["params"])


def _assert_close(a: dict, b: dict, updates):
    for u in updates:
        for k in LOSSES:
            np.testing.assert_allclose(a[u][k], b[u][k], rtol=1e-4, atol=1e-5, err_msg=f"update {u} {k}")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("xla_cache")


@pytest.fixture(scope="module")
def reference(tmp_path_factory, cache):
    """The same CartPole run as 1 process × 4 devices and as 2 processes × 2 devices (concurrently)."""
    base = tmp_path_factory.mktemp("pods")
    one, two = base / "one", base / "two"
    procs = launch(train_args(one, UPDATES, "--set", "run.checkpoint_every=4"), 1, 4, cache)
    try:
        two_results = run_job(train_args(two, UPDATES, "--set", "run.checkpoint_every=4"), 2, 2)
        results = wait_all(procs) + two_results
    finally:
        kill_all(procs)   # a no-op unless something above failed
    check_ok(results[:1], "the 1 process × 4 devices run")
    check_ok(results[1:], "the 2 processes × 2 devices run")
    return one, two, results


def test_two_processes_match_one_process_and_log_once(reference):
    one, two, results = reference
    a, b = _rows(one), _rows(two)
    assert sorted(a) == sorted(b) == list(range(1, UPDATES + 1))
    _assert_close(a, b, range(1, UPDATES + 1))
    assert a[UPDATES]["episodes"] > 0
    # Process 0 alone wrote the metrics (one line per update) and the summary; both processes finished.
    assert len((two / "metrics.jsonl").read_text().splitlines()) == UPDATES
    assert json.loads((two / "summary.json").read_text())["updates"] == UPDATES
    for rc, out, err in results[1:]:
        assert f"status=finished updates={UPDATES}" in out
    # One multi-process checkpoint per 4 updates, each committed once, holding the same params.
    steps = sorted(int(p.name) for p in (two / "checkpoints").iterdir() if p.name.isdigit())
    assert steps[-1] == UPDATES
    assert sorted((two / "checkpoints" / str(UPDATES) / "state").glob("ocdbt.process_*"))  # both processes wrote
    for x, y in zip(_params(one / "checkpoints" / str(UPDATES)), _params(two / "checkpoints" / str(UPDATES))):
        np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-6)


def test_sigterm_on_one_host_stops_both_at_the_same_update_and_resumes(reference, tmp_path, cache):
    one, two, _ = reference
    run = tmp_path / "preempted"
    metrics = run / "metrics.jsonl"
    for attempt in range(3):
        procs = launch(train_args(run, 400, "--set", "run.checkpoint_every=0"), 2, 2, cache)
        deadline = time.monotonic() + 600
        try:
            # Signal once both processes are in the training loop: process 0 logged update 2 (a collective).
            while time.monotonic() < deadline and all(p.poll() is None for p in procs):
                if metrics.exists() and len(metrics.read_text().splitlines()) >= 2:
                    break
                time.sleep(0.02)
            running = all(p.poll() is None for p in procs)
            if not running and any(m in output(procs[0])[1] for m in _PORT_TAKEN) and attempt < 2:
                terminate(procs)
                shutil.rmtree(run, ignore_errors=True)
                continue  # another program took the coordinator's port: again on a new one
            if not running:
                wait_all(procs, timeout=120)
                raise AssertionError(f"a process ended before the signal:\n{describe(procs)}")
            if time.monotonic() >= deadline:
                raise AssertionError(f"no 2 updates logged within 600 s:\n{describe(procs)}")
        except BaseException:
            terminate(procs)
            raise
        break
    procs[1].send_signal(signal.SIGTERM)          # one host only
    results = wait_all(procs, timeout=300)
    assert [rc for rc, _, _ in results] == [143, 143], "\n---\n".join(e[-2000:] for _, _, e in results)
    stopped = [int(out.split("updates=")[1].split()[0]) for _, out, _ in results]
    assert stopped[0] == stopped[1], stopped
    s = stopped[0]
    steps = [int(p.name) for p in (run / "checkpoints").iterdir() if p.name.isdigit()]
    assert steps == [s] and s >= 2, (steps, s)
    # Resume that 2-process checkpoint on 1 process × 4 devices for two more updates: it continues
    # the run (same global batch) — equal to the uninterrupted 1 × 4 run to float tolerance.
    check_ok(run_job(train_args(run, s + 2), 1, 4, cache), "the resume on 1 process × 4 devices")
    resumed = _rows(run)
    assert sorted(resumed) == list(range(1, s + 3))
    uninterrupted = _rows(one)
    if s + 2 > UPDATES:  # the signal landed late (a busy machine): an uninterrupted 1 × 4 run that long
        longer = tmp_path / "uninterrupted"
        check_ok(run_job(train_args(longer, s + 2, "--set", "run.checkpoint_every=4"), 1, 4, cache),
                 "the uninterrupted 1 process × 4 devices run")
        uninterrupted = _rows(longer)
    _assert_close(resumed, uninterrupted, range(s + 1, s + 3))


def test_a_killed_host_is_named_in_one_jaxcraft_line(tmp_path):
    """SIGKILL process 1 mid-run: process 0 stops after half the heartbeat timeout with one jaxcraft
    line (the dead process, the last checkpoint, how to resume) and exit code 75, before JAX's
    coordination service would abort it (jaxcraft.train.multihost.pod_watch)."""
    run = tmp_path / "killed"
    metrics = run / "metrics.jsonl"
    # A short heartbeat timeout: the survivor waits half of it after the kill (the default 60 s
    # would make this test wait 30 s; the kill comes after 5 updates, when nothing compiles).
    procs = launch(train_args(run, 400, "--set", "run.checkpoint_every=4"), 2, 2, heartbeat_timeout=20)
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and all(p.poll() is None for p in procs):
            if metrics.exists() and len(metrics.read_text().splitlines()) >= 5:
                break
            time.sleep(0.05)
        if not all(p.poll() is None for p in procs):
            raise AssertionError(f"a process ended before the kill:\n{describe(procs)}")
        procs[1].kill()
        (rc, _, err), _ = wait_all(procs, timeout=300, grace=150)
    finally:
        terminate(procs)
    assert rc == 75, err[-3000:]
    ours = [line for line in err.splitlines() if line.startswith("jaxcraft: process 1 of the pod stopped responding")]
    assert len(ours) == 1 and "The last checkpoint is update" in ours[0] and "Rerun the same command" in ours[0], err[-3000:]
    assert "Terminating process because" not in err.split(ours[0])[0]


def test_docs_show_the_tested_commands():
    doc = (ROOT / "docs" / "pods.md").read_text()
    args = train_args(ROOT / "runs" / "pod", UPDATES, "--set", "run.checkpoint_every=4")
    shown = " ".join(args).replace(str(ROOT) + "/", "")
    assert f"jaxcraft {shown} --coordinator 127.0.0.1:" in doc
    assert "--num-processes 2 --process-id 1" in doc and "xla_force_host_platform_device_count=2" in doc


def test_bridged_cartpole_on_two_processes(tmp_path, cache):
    """Each process runs its own bridge pool (CartPole through gymnasium) for its 2 of the 4 envs,
    acts on its own devices and joins the global update."""
    run = tmp_path / "bridged"
    args = train_args(run, 3, "--set", "env.name=bridge:gym:CartPole-v1", "--set", "bridge.num_workers=1")
    results = run_job(args, 2, 2, cache)
    check_ok(results, "the bridged 2-process run")
    rows = _rows(run)
    assert sorted(rows) == [1, 2, 3] and len((run / "metrics.jsonl").read_text().splitlines()) == 3
    assert all(np.isfinite(r["loss"]) for r in rows.values())
    # Every step of the global batch was a real simulator step: 4 envs × 16 steps per update.
    assert rows[3]["env_steps"] == 3 * 64 and sum(r["episodes"] for r in rows.values()) >= 1
    assert all(f"status=finished updates=3" in out for _, out, _ in results)
