"""The bridge does not trust its simulators (issue 14, items 10-12): bad outputs are
simulator errors naming env, field and value; deterministic crashes surface within a few
restarts with the first error; a stopped worker is caught within step_timeout in any phase."""
import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import dataclass

import numpy as np
import pytest

from bridge import ArraySpec, EnvSpec, Pool, PoolConfig, SimulatorError, WorkerError
from bridge.adapters.load_sim import LoadSimConfig, LoadSimFactory
from bridge.shm import list_segments

SPEC = EnvSpec(observation={"pov": ArraySpec((4,), np.uint8, 0, 255),
                            "x": ArraySpec((2,), np.float32)},
               action={"action": ArraySpec((), np.int64, 0, 9)}, name="scripted")
GOOD = 0
# action -> what the simulator returns, and the words the error must contain
BAD = {1: ("(1,) into (4,)", ["'pov'", "shape (1,)", "(4,)"]),
       2: ("300.7 into uint8", ["'pov'", "300.7", "uint8"]),
       3: ("NaN observation", ["'x'", "non-finite", "nan"]),
       4: ("NaN reward", ["reward", "nan"]),
       5: ("missing key", ["misses", "'x'"])}


class Scripted:
    spec = SPEC

    def __init__(self, stop_marker=None, stop_in="never"):
        self.t = 0
        self.stop_marker, self.stop_in = stop_marker, stop_in

    def _obs(self):
        return {"pov": np.full(4, self.t % 256, np.uint8), "x": np.array([self.t, 1], np.float32)}

    def _maybe_stop(self, where):
        # SIGSTOP this worker once (the first process to create the marker), in `where`.
        if self.stop_in == where and self.stop_marker:
            try:
                os.close(os.open(self.stop_marker, os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                return
            os.kill(os.getpid(), signal.SIGSTOP)

    def reset(self, seed):
        self._maybe_stop("reset")
        self.t = 0
        return self._obs()

    def step(self, action):
        a = int(action["action"])
        self.t += 1
        obs, reward = self._obs(), 1.0
        if a == 1:
            obs["pov"] = np.array([7], np.uint8)
        elif a == 2:
            obs["pov"] = np.array([300.7, 1, 2, 3])
        elif a == 3:
            obs["x"] = np.array([np.nan, 0], np.float32)
        elif a == 4:
            reward = float("nan")
        elif a == 5:
            del obs["x"]
        return obs, reward, False, False

    def close(self):
        pass


@dataclass(frozen=True)
class ScriptedFactory:
    stop_marker: str | None = None
    stop_in: str = "never"   # "start" | "reset" | "never"

    def __call__(self, env_index):
        sim = Scripted(self.stop_marker, self.stop_in)
        sim._maybe_stop("start")
        return sim


def scripted_pool(**kw):
    return Pool(ScriptedFactory(**kw.pop("factory", {})),
                PoolConfig(num_envs=2, num_workers=1, **kw), spec=SPEC)


@pytest.mark.parametrize("bad", sorted(BAD))
def test_bad_simulator_output_is_a_simulator_error_under_raise(bad):
    _, words = BAD[bad]
    with scripted_pool(on_simulator_error="raise") as pool:
        pool.reset()
        pool.step(np.zeros(2, int))
        with pytest.raises(SimulatorError) as err:
            pool.step(np.array([GOOD, bad]))
        msg = str(err.value)
        assert "env 1" in msg, msg
        for w in words:
            assert w in msg, (w, msg)
        assert pool.broken


def test_bad_simulator_output_restarts_only_that_simulator_under_restart():
    with scripted_pool(on_simulator_error="restart") as pool:
        pool.reset()
        for bad in sorted(BAD):
            b = pool.step(np.array([GOOD, bad]))
            assert b.crashed.tolist() == [False, True], BAD[bad][0]
            assert b.truncated[1] and b.obs["pov"][1].tolist() == [0, 0, 0, 0]  # fresh episode
            assert np.isfinite(b.obs["x"]).all() and np.isfinite(b.reward).all()
            good = pool.step(np.zeros(2, int))  # a completed step: failures are not "in a row"
            assert not good.crashed.any()
        assert pool.restart_counts.tolist() == [0] and not pool.broken


def test_deterministically_bad_simulator_surfaces_its_first_error_within_a_few_restarts():
    with scripted_pool(on_simulator_error="restart", max_consecutive_failures=3) as pool:
        pool.reset()
        with pytest.raises(SimulatorError, match=r"(?s)3 times in a row.*misses field\(s\) \['x'\]"):
            for _ in range(10):
                pool.step(np.array([GOOD, 5]))
        assert pool.broken and pool.restart_counts.tolist() == [0]


def test_worker_crashing_simulator_raises_within_a_few_restarts():
    cfg = LoadSimConfig(frame_shape=(2, 2, 3), terminate_prob=0.0, crash_action=2,
                        crash_kind="sigkill")
    with Pool(LoadSimFactory(cfg), PoolConfig(num_envs=2, num_workers=1,
                                              max_consecutive_failures=3)) as pool:
        pool.reset()
        with pytest.raises(WorkerError, match=r"(?s)3 times in a row.*first failure: worker 0 .*exit code -9"):
            for _ in range(10):
                pool.step(np.array([2, 0]))
        assert pool.restart_counts.tolist() == [3] and pool.broken


def test_restart_budget_is_a_rate():
    assert PoolConfig(num_envs=1, num_workers=1).max_worker_restarts is None  # no lifetime cap
    cfg = LoadSimConfig(frame_shape=(2, 2, 3), terminate_prob=0.0)
    with Pool(LoadSimFactory(cfg), PoolConfig(num_envs=2, num_workers=1,
                                              max_restarts_per_minute=2)) as pool:
        pool.reset()
        for k in range(2):  # kills with completed steps in between: not "in a row"
            os.kill(pool.worker_pids()[0], signal.SIGKILL)
            assert pool.step(np.zeros(2, int)).crashed.all()
            assert not pool.step(np.zeros(2, int)).crashed.any()
        os.kill(pool.worker_pids()[0], signal.SIGKILL)
        with pytest.raises(WorkerError, match=r"3 worker restarts in the last minute exceed "
                                              r"max_restarts_per_minute=2"):
            pool.step(np.zeros(2, int))


@pytest.mark.parametrize("phase", ["start", "reset"])
def test_stopped_worker_is_detected_within_step_timeout_in_any_phase(tmp_path, phase):
    """SIGSTOP while building simulators or resetting them: judged by step_timeout (1.5 s)
    via the liveness heartbeat, not by reset_timeout (600 s)."""
    with scripted_pool(factory=dict(stop_marker=str(tmp_path / "stopped"), stop_in=phase),
                       step_timeout=1.5, reset_timeout=600.0) as pool:
        pool.async_reset()
        b = pool.recv(2, timeout=60.0)  # old code: TimeoutError (waits for reset_timeout)
        assert (tmp_path / "stopped").exists() and pool.restart_counts.tolist() == [1]
        assert sorted(b.env_ids.tolist()) == [0, 1]
        assert not pool.step(np.zeros(2, int)).crashed.any()


NO_GUARD = textwrap.dedent("""
    import numpy as np
    from bridge import Pool, PoolConfig
    from bridge.adapters.load_sim import LoadSimConfig, LoadSimFactory
    pool = Pool(LoadSimFactory(LoadSimConfig(frame_shape=(2, 2, 3))), PoolConfig(num_envs=2, num_workers=1))
    pool.reset()
    print("unreachable")
""")


@pytest.mark.slow
def test_script_without_main_guard_fails_at_once_naming_the_fix(tmp_path):
    script = tmp_path / "no_guard.py"
    script.write_text(NO_GUARD)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        stdout, stderr = proc.communicate(timeout=120)  # old code: ~1,000 restarts first
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode != 0 and "unreachable" not in stdout
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("bridge.errors.WorkerError") and 'if __name__ == "__main__":' in last, last
    assert stderr.count("bridge.errors.WorkerError") == 1  # one failure, not a restart loop
    assert not list_segments(proc.pid)
