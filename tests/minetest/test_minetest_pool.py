"""Minetest through the bridge: a crashed engine is survived; nothing leaks, even after SIGKILL."""
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import numpy as np

from minetest_helpers import alive, command_of, descendants, needs_minetest

pytestmark = [needs_minetest, pytest.mark.slow]
NOOP = np.array([[0] * 9 + [5, 5]], np.int32)


def _engine_pids(root_pid: int) -> dict[str, int]:
    out = {}
    for p in descendants(root_pid):
        cmd = command_of(p)
        if "/minetest " in cmd or cmd.startswith("minetest"):
            out["minetest"] = p
        elif "Xvfb" in cmd:
            out["Xvfb"] = p
    return out


def test_engine_crash_mid_episode_is_a_truncation_and_close_leaves_nothing():
    from bridge import Pool, PoolConfig
    from bridge.adapters.minetest.process import ROOT
    from bridge.adapters.minetest_env import MinetestConfig, MinetestFactory
    factory = MinetestFactory(MinetestConfig(frame_size=32, max_steps=100))
    pool = Pool(factory, PoolConfig(num_envs=1, num_workers=1, on_simulator_error="restart"), spec=factory.spec())
    try:
        first = pool.reset()
        assert first.obs["rgb"].shape == (1, 32, 32, 3) and first.obs["goal_mask"].any()
        for _ in range(3):
            b = pool.step({"action": NOOP})
            assert not b.done.any()
        worker = pool.worker_pids()[0]
        engine = _engine_pids(worker)
        assert set(engine) == {"minetest", "Xvfb"}, engine
        os.kill(engine["minetest"], signal.SIGKILL)             # the engine crashes mid-episode
        deadline = time.monotonic() + 10   # tearing down ~1 GB takes a while on a loaded machine:
        while alive(engine["minetest"]) and time.monotonic() < deadline:   # step once it is dead
            time.sleep(0.05)
        b = pool.step({"action": NOOP})
        assert b.truncated[0] and b.crashed[0] and not b.terminated[0]
        assert b.episode_length[0] == 3                         # the crashed episode's 3 steps
        assert pool.worker_pids()[0] == worker                  # the worker restarted its simulator
        fresh = _engine_pids(worker)
        assert set(fresh) == {"minetest", "Xvfb"} and fresh["minetest"] != engine["minetest"]
        assert not alive(engine["Xvfb"])                        # the old X server went with it
        b = pool.step({"action": NOOP})
        assert not b.done[0] and b.episode_length[0] == 1       # the new episode goes on
    finally:
        segment = pool._slabs.name
        pool.close()
    time.sleep(0.5)
    assert not any(alive(p) for p in fresh.values())
    assert not (pathlib.Path("/dev/shm") / segment).exists()
    assert not [d for d in ROOT.glob(f"{worker}_*")]            # instance directories removed


_CHILD = textwrap.dedent("""
    import sys, time, numpy as np
    from bridge import Pool, PoolConfig
    from bridge.adapters.minetest_env import MinetestConfig, MinetestFactory
    f = MinetestFactory(MinetestConfig(frame_size=32))
    pool = Pool(f, PoolConfig(num_envs=1, num_workers=1), spec=f.spec())
    pool.reset()
    print(pool._slabs.name, flush=True)
    time.sleep(600)
""")


def test_sigkill_of_the_parent_leaves_no_process_or_segment():
    from bridge.adapters.minetest.process import remove_stale_dirs
    root = pathlib.Path(__file__).resolve().parents[2]
    child = subprocess.Popen([sys.executable, "-c", _CHILD], stdout=subprocess.PIPE, text=True,
                             env=dict(os.environ, PYTHONPATH=str(root)), cwd=str(root))
    try:
        segment = child.stdout.readline().strip()
        assert segment.startswith("jxb_"), segment
        tree = descendants(child.pid)
        engine = _engine_pids(child.pid)
        assert set(engine) == {"minetest", "Xvfb"}, engine
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (any(alive(p) for p in tree)
                                               or (pathlib.Path("/dev/shm") / segment).exists()):
            time.sleep(0.2)
        assert not [p for p in tree if alive(p)], [command_of(p) for p in tree if alive(p)]
        assert not (pathlib.Path("/dev/shm") / segment).exists()
        removed = remove_stale_dirs()   # what SIGKILL left on disk goes with the next start
        assert not [d for d in pathlib.Path(__import__("tempfile").gettempdir(), "jaxcraft-minetest").glob("*")
                    if d.name.split("_")[0] in {str(p) for p in tree}], removed
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
