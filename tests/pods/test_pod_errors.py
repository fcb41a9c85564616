"""Bad multi-process input fails before compiling (or within --init-timeout), naming the setting."""
from __future__ import annotations

import pytest

from _pod_launch import free_port, kill_all, launch, train_args, wait_all
from jaxcraft.train.multihost.distributed import DistributedConfig, DistributedError

pytestmark = pytest.mark.slow


def test_settings_come_from_arguments_then_environment():
    env = {"JAXCRAFT_COORDINATOR": "10.0.0.1:1234", "JAXCRAFT_NUM_PROCESSES": "4", "JAXCRAFT_PROCESS_ID": "3"}
    s = DistributedConfig.resolve(environ=env)
    assert (s.coordinator, s.num_processes, s.process_id, s.requested) == ("10.0.0.1:1234", 4, 3, True)
    s = DistributedConfig.resolve(process_id=1, environ=env)
    assert s.process_id == 1
    assert not DistributedConfig.resolve(environ={}).requested
    assert DistributedConfig.resolve(environ={"JAXCRAFT_DISTRIBUTED": "1"}).auto
    with pytest.raises(DistributedError, match="--process-id=4 must be in"):
        DistributedConfig.resolve(num_processes=4, process_id=4, environ={})
    with pytest.raises(DistributedError, match="--coordinator='10.0.0.1' must be HOST:PORT"):
        DistributedConfig.resolve(coordinator="10.0.0.1", environ={})
    with pytest.raises(DistributedError, match="JAXCRAFT_NUM_PROCESSES='two'"):
        DistributedConfig.resolve(environ={"JAXCRAFT_NUM_PROCESSES": "two"})


def test_unreachable_coordinator_fails_within_the_timeout(tmp_path):
    port = free_port()  # nobody listens there
    job = ["--coordinator", f"127.0.0.1:{port}", "--num-processes", "2", "--process-id", "1", "--init-timeout", "2"]
    rc, out, err = wait_all(launch(train_args(tmp_path, 4), 1, 2, per_process=[job]), timeout=300)[0]
    assert rc == 2, err[-2000:]
    assert f"cannot reach the coordinator --coordinator=127.0.0.1:{port}" in err and "--init-timeout=2s" in err


def test_indivisible_global_batch_and_mismatched_process_counts(tmp_path):
    # Two bad jobs at once (each on its own free port; both fail before compiling).
    first, port = free_port(), free_port()
    while port == first:
        port = free_port()
    # 6 envs on 2 processes × 2 devices: the global device count (4) is what must divide env.num_envs.
    indivisible = launch(train_args(tmp_path / "a", 4, "--set", "env.num_envs=6"), 2, 2, port=first)
    # Process 1 believes the job has 3 processes: both processes stop, naming --num-processes.
    jobs = [["--coordinator", f"127.0.0.1:{port}", "--num-processes", str(n), "--process-id", str(i)]
            for i, n in ((0, 2), (1, 3))]
    try:
        mismatched = launch(train_args(tmp_path / "b", 4), 2, 2, per_process=jobs)
    except BaseException:
        kill_all(indivisible)
        raise
    # Each process must end by itself with its own message: give a slower peer time to do so.
    results = wait_all(indivisible + mismatched, grace=180)
    for rc, out, err in results[:2]:
        assert rc == 2 and "env.num_envs=6 must be divisible by the number of devices (4 (2 processes))" in err, err[-2000:]
    for rc, out, err in results[2:]:
        assert rc == 2 and "--num-processes disagrees between processes: they asked for [2, 3]" in err, err[-2000:]
