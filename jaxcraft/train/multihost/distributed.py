"""Multi-process runs (pods): join one job with `jax.distributed`, then agree across processes.

    settings = DistributedConfig.resolve(coordinator="10.0.0.1:1234", num_processes=2, process_id=0)
    initialize(settings)          # before anything touches a JAX device; a no-op for single-process runs
    is_main_process()             # process 0 alone writes metrics, TensorBoard, progress, summaries
    any_process(stop_requested)   # the same answer on every process (a tiny all-gather)

Settings come from (first wins) the arguments (`jaxcraft train --coordinator/--num-processes/
--process-id`), the environment (`JAXCRAFT_COORDINATOR`, `JAXCRAFT_NUM_PROCESSES`,
`JAXCRAFT_PROCESS_ID`; `JAX_COORDINATOR_ADDRESS` too), or JAX's cluster auto-detection (TPU pod
slices, SLURM, Open MPI) when `--distributed` / `JAXCRAFT_DISTRIBUTED=1` asks for a job without
naming its settings.

Timeouts (seconds; `jax.distributed.initialize` arguments):
  init_timeout       every process must reach the coordinator (and all must have joined) within it;
                     a non-coordinator process that cannot open a TCP connection to the coordinator
                     in that time fails with a `DistributedError` naming `--coordinator`.
  heartbeat_timeout  a process that stops sending heartbeats (dead host, killed process) is declared
                     dead after this long, and JAX then terminates every other process (exit 134,
                     "Terminating process because the JAX distributed service detected fatal
                     errors"). If the coordinator process (0) dies the others stop at once.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import socket
import sys
import time
from typing import Mapping, Optional

import numpy as np

from jaxcraft.config.fields import ConfigError
from jaxcraft.ppo.config import documented

ENV_COORDINATOR = "JAXCRAFT_COORDINATOR"
ENV_NUM_PROCESSES = "JAXCRAFT_NUM_PROCESSES"
ENV_PROCESS_ID = "JAXCRAFT_PROCESS_ID"
ENV_DISTRIBUTED = "JAXCRAFT_DISTRIBUTED"
ENV_INIT_TIMEOUT = "JAXCRAFT_INIT_TIMEOUT"
ENV_HEARTBEAT_TIMEOUT = "JAXCRAFT_HEARTBEAT_TIMEOUT"


class DistributedError(ConfigError):
    """A multi-process setting is wrong (or the job cannot be formed); the message names it."""


@dataclasses.dataclass(frozen=True)
class DistributedConfig:
    """How this process joins a multi-process job (launch settings, not part of the experiment: flags of
    `jaxcraft train` or JAXCRAFT_* variables; `--set distributed.<field>` names the flag)."""

    coordinator: str = documented("", "HOST:PORT of process 0's coordinator service ('' = auto-detect or single-process).")
    num_processes: int = documented(0, "Processes in the job (0 = auto-detect or single-process).")
    process_id: int = documented(-1, "This process's index in [0, num_processes) (-1 = auto-detect).")
    auto: bool = documented(False, "Join a job whose unset settings JAX detects (TPU pod slice, SLURM, Open MPI).")
    init_timeout: int = documented(300, "Seconds for every process to reach the coordinator and join.")
    heartbeat_timeout: int = documented(100, "Seconds without heartbeats before a process is declared dead (the others then stop).")

    @property
    def requested(self) -> bool:
        """A multi-process job was asked for (explicitly or by auto-detection)."""
        return self.auto or bool(self.coordinator) or self.num_processes > 0 or self.process_id >= 0

    @staticmethod
    def resolve(coordinator: Optional[str] = None, num_processes: Optional[int] = None,
                process_id: Optional[int] = None, auto: bool = False, init_timeout: Optional[int] = None,
                heartbeat_timeout: Optional[int] = None,
                environ: Mapping[str, str] = os.environ) -> "DistributedConfig":
        """Arguments first, then `JAXCRAFT_*` environment variables, then defaults."""
        def pick(value, name, cast, default, setting):
            if value is not None:
                return value
            raw = environ.get(name, "")
            if raw == "":
                return default
            try:
                return cast(raw)
            except ValueError:
                raise DistributedError(f"{name}={raw!r} ({setting}): expected {cast.__name__}") from None

        d = DistributedConfig()
        cfg = DistributedConfig(
            coordinator=pick(coordinator, ENV_COORDINATOR, str, environ.get("JAX_COORDINATOR_ADDRESS", ""),
                             "--coordinator"),
            num_processes=pick(num_processes, ENV_NUM_PROCESSES, int, d.num_processes, "--num-processes"),
            process_id=pick(process_id, ENV_PROCESS_ID, int, d.process_id, "--process-id"),
            auto=auto or environ.get(ENV_DISTRIBUTED, "").lower() in ("1", "true", "yes", "auto"),
            init_timeout=pick(init_timeout, ENV_INIT_TIMEOUT, int, d.init_timeout, "--init-timeout"),
            heartbeat_timeout=pick(heartbeat_timeout, ENV_HEARTBEAT_TIMEOUT, int, d.heartbeat_timeout,
                                   "--heartbeat-timeout"))
        cfg.validate()
        return cfg

    def validate(self) -> None:
        if self.coordinator and (":" not in self.coordinator or not self.coordinator.rsplit(":", 1)[1].isdigit()):
            raise DistributedError(f"--coordinator={self.coordinator!r} must be HOST:PORT")
        if self.num_processes < 0:
            raise DistributedError(f"--num-processes={self.num_processes} must be >= 1")
        if self.num_processes and not -1 <= self.process_id < self.num_processes:
            raise DistributedError(f"--process-id={self.process_id} must be in [0, --num-processes={self.num_processes})")
        if self.init_timeout < 1 or self.heartbeat_timeout < 1:
            raise DistributedError(f"--init-timeout={self.init_timeout} and --heartbeat-timeout="
                                   f"{self.heartbeat_timeout} must be >= 1 s")


def _wait_for_coordinator(address: str, timeout: float) -> None:
    """Fail with a message naming --coordinator unless its TCP port accepts a connection in time
    (JAX itself would abort the process with a bare DEADLINE_EXCEEDED)."""
    host, port = address.rsplit(":", 1)
    host = host.strip("[]")
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, int(port)), timeout=min(2.0, timeout)).close()
            return
        except OSError as e:
            last = e
            time.sleep(0.2)
    raise DistributedError(f"cannot reach the coordinator --coordinator={address} ({ENV_COORDINATOR}) within "
                           f"--init-timeout={timeout:g}s: {last}. Is process 0 running, and is HOST:PORT "
                           "its address as every host sees it?")


_joined: Optional[DistributedConfig] = None   # the settings this process joined its job with


def heartbeat_timeout() -> float:
    """--heartbeat-timeout of the job this process joined (JAX's default, 100 s, if none)."""
    return float(_joined.heartbeat_timeout) if _joined is not None else 100.0


def initialize(settings: DistributedConfig) -> None:
    """Join the job (`jax.distributed.initialize`); a no-op unless `settings.requested`.

    Must run before any JAX computation or device query. Selects gloo for CPU collectives
    (needed for cross-process collectives on the CPU backend; no effect on GPU/TPU).
    """
    if not settings.requested:
        return
    import jax

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    explicit = bool(settings.coordinator) and settings.num_processes > 0 and settings.process_id >= 0
    if explicit and settings.process_id != 0:
        _wait_for_coordinator(settings.coordinator, settings.init_timeout)
    kwargs = dict(initialization_timeout=settings.init_timeout, heartbeat_timeout_seconds=settings.heartbeat_timeout)
    if settings.coordinator:
        kwargs["coordinator_address"] = settings.coordinator
    if settings.num_processes:
        kwargs["num_processes"] = settings.num_processes
    if settings.process_id >= 0:
        kwargs["process_id"] = settings.process_id
    if explicit:
        # Everything is given: skip cluster detection (it could pick up an unrelated SLURM/MPI env).
        kwargs["cluster_detection_method"] = "deactivate"
        print(f"jaxcraft: process {settings.process_id}/{settings.num_processes} joining the job at "
              f"{settings.coordinator} (up to --init-timeout={settings.init_timeout}s)", file=sys.stderr, flush=True)
    try:
        jax.distributed.initialize(**kwargs)
    except (ValueError, TypeError, RuntimeError) as e:
        raise DistributedError(f"cannot join the multi-process job ({_describe(settings)}): {e}") from None
    global _joined
    _joined = settings
    requested = np.array([settings.num_processes or jax.process_count()], np.int64)
    seen = all_gather(requested).ravel()
    if (seen != jax.process_count()).any():
        raise DistributedError(f"--num-processes disagrees between processes: they asked for {seen.tolist()} "
                               f"(process id order) but {jax.process_count()} processes joined the job")


def _describe(s: DistributedConfig) -> str:
    parts = [f"--coordinator={s.coordinator or 'auto'}", f"--num-processes={s.num_processes or 'auto'}",
             f"--process-id={s.process_id if s.process_id >= 0 else 'auto'}"]
    return " ".join(parts)


def process_index() -> int:
    import jax

    return jax.process_index()


def process_count() -> int:
    import jax

    return jax.process_count()


def is_main_process() -> bool:
    """Process 0 writes the run's shared outputs (metrics, TensorBoard, progress, summaries)."""
    return process_index() == 0


def all_gather(x: np.ndarray) -> np.ndarray:
    """[process_count, *x.shape]: every process's `x` (a collective: every process must call it)."""
    from jax.experimental import multihost_utils

    if process_count() == 1:
        return np.asarray(x)[None]
    return np.asarray(multihost_utils.process_allgather(np.asarray(x)))


def any_process(flag: bool) -> bool:
    """True on every process when `flag` is true on any (a collective when multi-process)."""
    if process_count() == 1:
        return bool(flag)
    return bool(all_gather(np.array([bool(flag)])).any())


def check_same_everywhere(what: str, text: str) -> None:
    """Raise on every process unless all processes hold the same `text` (e.g. the experiment
    config as JSON): a multi-process job must run one experiment."""
    if process_count() == 1:
        return
    digest = np.frombuffer(hashlib.sha256(text.encode()).digest()[:8], np.int64)
    seen = all_gather(digest).ravel()
    if (seen != seen[0]).any():
        differ = [i for i, d in enumerate(seen) if d != seen[0]]
        raise DistributedError(f"{what} differs between processes (process {differ} vs process 0): every host "
                               "must run the same experiment file with the same --set overrides")


def add_arguments(parser) -> None:
    """The multi-process options of `jaxcraft train` (each also read from JAXCRAFT_<NAME>)."""
    g = parser.add_argument_group("multi-process jobs (docs/pods.md); each also read from JAXCRAFT_<NAME>")
    g.add_argument("--coordinator", metavar="HOST:PORT", help="address of process 0's coordinator service")
    g.add_argument("--num-processes", type=int, metavar="N", help="processes (one per host) in the job")
    g.add_argument("--process-id", type=int, metavar="I", help="this process's index in [0, N)")
    g.add_argument("--distributed", action="store_true",
                   help="join a job whose unset settings JAX detects (TPU pod slice, SLURM, Open MPI)")
    g.add_argument("--init-timeout", type=int, metavar="S", help="seconds for every process to join (default 300)")
    g.add_argument("--heartbeat-timeout", type=int, metavar="S",
                   help="seconds without heartbeats before a process counts as dead and the others stop (default 100)")


def join_from_argv(argv: list[str]) -> DistributedConfig:
    """Parse only the multi-process options of `argv` and `initialize` (a no-op if none is set)."""
    import argparse

    parser = argparse.ArgumentParser(add_help=False)
    add_arguments(parser)
    args, _ = parser.parse_known_args(argv)
    settings = DistributedConfig.resolve(args.coordinator, args.num_processes, args.process_id, args.distributed,
                                         args.init_timeout, args.heartbeat_timeout)
    initialize(settings)
    return settings
