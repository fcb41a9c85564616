"""Dead, hung and failing simulators; parent death; shared-memory hygiene; shutdown."""
import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass

import numpy as np
import pytest

from bridge import Pool, PoolConfig, SimulatorError
from bridge.adapters.load_sim import LoadSimConfig, LoadSimFactory
from bridge.shm import SHM_DIR, list_segments, remove_stale_segments

FRAME = (4, 4, 3)


def pool_of(cfg, **kw):
    return Pool(LoadSimFactory(cfg), PoolConfig(num_envs=4, num_workers=2, **kw))


def assert_crash_report(b, e, last_obs):
    """Env e's episode ended by truncation; final_obs = last seen obs; obs = a fresh episode."""
    assert b.truncated[e] and b.crashed[e] and not b.terminated[e]
    np.testing.assert_array_equal(b.final_obs["pov"][e], last_obs["pov"][e])
    assert b.obs["state"][e, 0] == 0  # step counter of a new episode


def test_sigkilled_worker_is_restarted_and_only_its_envs_truncated():
    cfg = LoadSimConfig(frame_shape=FRAME, latency_median_s=0.3, latency_sigma=0.01,
                        terminate_prob=0.0)
    with pool_of(cfg) as pool:
        first = pool.reset()
        pool.step(np.zeros(4, int))
        prev = pool.step(np.zeros(4, int))
        victim = pool.worker_pids()[0]
        pool.send(np.zeros(4, int))
        time.sleep(0.1)  # mid-step
        os.kill(victim, signal.SIGKILL)
        b = pool._collect(4, sort=True)  # = recv(4) ordered by env id
        for e in (0, 1):
            assert_crash_report(b, e, prev.obs)
            assert b.episode_length[e] == 2  # the lost episode's completed steps
        assert not b.crashed[2:].any() and not b.truncated[2:].any()
        assert b.episode_length[2:].tolist() == [3, 3]
        assert pool.worker_pids()[0] != victim and pool.restart_counts.tolist() == [1, 0]
        nxt = pool.step(np.zeros(4, int))
        assert nxt.episode_length.tolist() == [1, 1, 4, 4] and not nxt.crashed.any()
        assert first.obs["pov"].shape == (4, *FRAME)


def test_worker_killed_while_caller_holds_its_envs_reports_on_next_send():
    cfg = LoadSimConfig(frame_shape=FRAME, terminate_prob=0.0)
    with pool_of(cfg) as pool:
        pool.reset()
        held = pool.step(np.zeros(4, int))
        os.kill(pool.worker_pids()[1], signal.SIGKILL)
        time.sleep(0.2)
        b = pool.step(np.zeros(4, int))
        for e in (2, 3):
            assert_crash_report(b, e, held.obs)
        assert not b.crashed[:2].any() and b.episode_length[:2].tolist() == [2, 2]


def test_hung_worker_is_detected_by_timeout_and_restarted():
    cfg = LoadSimConfig(frame_shape=FRAME, latency_median_s=0.005, latency_sigma=0.01,
                        terminate_prob=0.0, hang_action=3)
    with pool_of(cfg, step_timeout=1.0) as pool:
        pool.reset()
        before = pool.step(np.zeros(4, int))
        b = pool.step(np.array([0, 0, 0, 3]))  # env 3 hangs, after env 2 of the same worker
        assert_crash_report(b, 3, before.obs)
        # Env 2 finished its step (counted), but its simulator died with the worker: that
        # episode ends here too, truncated, while worker 0's envs are untouched.
        assert b.crashed.tolist() == [False, False, True, True]
        assert b.truncated.tolist() == [False, False, True, True]
        assert b.episode_length[:3].tolist() == [2, 2, 2] and b.reward[2] > 0
        assert pool.restart_counts.tolist() == [0, 1]
        assert pool.step(np.zeros(4, int)).episode_length.tolist() == [3, 3, 1, 1]


def test_segfaulting_simulator_restarts_its_worker():
    cfg = LoadSimConfig(frame_shape=FRAME, terminate_prob=0.0, crash_action=2,
                        crash_kind="segfault")
    with pool_of(cfg) as pool:
        pool.reset()
        before = pool.step(np.zeros(4, int))
        b = pool.step(np.array([2, 0, 0, 0]))
        assert_crash_report(b, 0, before.obs)
        assert not b.crashed[2:].any()
        assert pool.restart_counts.tolist() == [1, 0]


def test_simulator_exception_restarts_that_env_under_restart_policy():
    cfg = LoadSimConfig(frame_shape=FRAME, terminate_prob=0.0, crash_action=2)
    with pool_of(cfg, on_simulator_error="restart") as pool:
        pool.reset()
        before = pool.step(np.zeros(4, int))
        b = pool.step(np.array([0, 2, 0, 0]))
        assert_crash_report(b, 1, before.obs)
        assert b.crashed.tolist() == [False, True, False, False]
        assert pool.restart_counts.tolist() == [0, 0]  # the worker itself survived
        assert pool.step(np.zeros(4, int)).episode_length.tolist() == [3, 1, 3, 3]


def test_simulator_exception_raises_clearly_under_raise_policy():
    cfg = LoadSimConfig(frame_shape=FRAME, terminate_prob=0.0, crash_action=2)
    with pool_of(cfg, on_simulator_error="raise") as pool:
        pool.reset()
        with pytest.raises(SimulatorError, match=r"(?s)env 1 \(worker 0\).*SimulatedCrash"):
            pool.step(np.array([0, 2, 0, 0]))
        with pytest.raises(SimulatorError, match="unusable"):
            pool.step(np.zeros(4, int))


@dataclass(frozen=True)
class FailsInWorker:
    """Builds fine in the test process (spec probe), raises in any worker process."""
    owner_pid: int

    def __call__(self, env_index):
        if os.getpid() != self.owner_pid:
            raise OSError("no display for the simulator")
        return LoadSimFactory(LoadSimConfig(frame_shape=FRAME))(env_index)


def test_simulator_that_cannot_start_is_a_clear_error_not_a_restart_loop():
    with Pool(FailsInWorker(os.getpid()), PoolConfig(num_envs=2, num_workers=1)) as pool:
        with pytest.raises(SimulatorError, match=r"(?s)during start.*no display"):
            pool.reset()
        assert pool.restart_counts.tolist() == [0]


def test_close_reaps_workers_and_unlinks_segment():
    cfg = LoadSimConfig(frame_shape=FRAME)
    pool = pool_of(cfg)
    pool.reset()
    pids, name = pool.worker_pids(), pool._slabs.name
    assert os.path.exists(os.path.join(SHM_DIR, name))
    assert os.stat(os.path.join(SHM_DIR, name)).st_mode & 0o777 == 0o600
    pool.close()
    pool.close()  # idempotent
    assert not os.path.exists(os.path.join(SHM_DIR, name))
    for pid in pids:  # reaped: no zombie left behind
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        assert not os.path.exists(f"/proc/{pid}")
    with pytest.raises(RuntimeError, match="closed"):
        pool.step(np.zeros(4, int))


PARENT = textwrap.dedent("""
    import sys, time
    import numpy as np
    from bridge import Pool, PoolConfig
    from bridge.adapters.load_sim import LoadSimConfig, LoadSimFactory
    if __name__ == "__main__":
        cfg = LoadSimConfig(frame_shape=(4, 4, 3), latency_median_s=0.05)
        pool = Pool(LoadSimFactory(cfg), PoolConfig(num_envs=4, num_workers=2))
        pool.reset()
        pool.send(np.zeros(4, int))  # workers busy when the parent dies
        print(pool._slabs.name, *pool.worker_pids(), flush=True)
        time.sleep(600)
""")


@pytest.mark.slow
def test_parent_death_leaves_no_segment_and_no_worker(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        name, *pids = proc.stdout.readline().split()
        assert os.path.exists(os.path.join(SHM_DIR, name))
        proc.kill()
        proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            alive = [p for p in pids if os.path.exists(f"/proc/{p}")]
            if not alive and not os.path.exists(os.path.join(SHM_DIR, name)):
                break
            time.sleep(0.1)
        assert not [p for p in pids if os.path.exists(f"/proc/{p}")], "workers outlived the parent"
        assert not os.path.exists(os.path.join(SHM_DIR, name)), "segment left in /dev/shm"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()


@pytest.mark.slow
def test_stale_segments_of_dead_owners_are_removed():
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = f"jxb_{dead.pid}_0123456789ab"
    live = f"jxb_{os.getpid()}_ba9876543210"
    for n in (stale, live):
        os.close(os.open(os.path.join(SHM_DIR, n), os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600))
    try:
        removed = remove_stale_segments()
        assert stale in removed and live not in removed
        assert stale not in list_segments() and live in list_segments(os.getpid())
    finally:
        for n in (stale, live):
            if os.path.exists(os.path.join(SHM_DIR, n)):
                os.unlink(os.path.join(SHM_DIR, n))
