"""One run per run directory: an exclusive lock on `<run_dir>/.lock` for the run's lifetime.

Two `jaxcraft train` processes on one run directory (a second terminal, a job submitted twice)
would write the same checkpoints and metrics and crash on each other's temporary files. The
lock is `fcntl.flock` on a file inside the run directory: the kernel releases it when its holder
exits in any way (SIGKILL included), so a dead run never leaves a stale lock behind. The file
holds the holder's PID and host, which the refusal names. On a pod, process 0 takes it.

    with run_dir_lock(run_dir):      # raises RunDirBusy (one line) if another run holds it
        ...train...
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import pathlib
import socket
from typing import Iterator

LOCK_FILE = ".lock"


class RunDirBusy(RuntimeError):
    """Another live process holds the run directory's lock."""


@contextlib.contextmanager
def run_dir_lock(run_dir: str | pathlib.Path) -> Iterator[pathlib.Path]:
    """Hold the exclusive lock of `run_dir` (created if missing) for the `with` block."""
    run_dir = pathlib.Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK_FILE
    f = open(path, "a+")
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        holder = f.read().strip() or "a process that has not written its PID yet"
        f.close()
        raise RunDirBusy(f"{run_dir} is in use by another run ({holder}); wait for it to finish, stop it, "
                         f"or choose another --run-dir") from None
    try:
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        f.flush()
        yield path
    finally:
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)
        f.close()


__all__ = ["LOCK_FILE", "RunDirBusy", "run_dir_lock"]
