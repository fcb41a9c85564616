"""Shared-memory slabs: one POSIX segment per pool, carved into per-field arrays.

Every field (each observation key, final observations, actions, reward, flags, episode
statistics, heartbeats) is a pre-allocated array `[rows, *shape]` at a fixed, aligned
offset inside one segment, so a worker and the pool agree on the whole layout from a
small picklable description and never send arrays over a pipe.

Lifetime rules (why no segment outlives its owner):
  * segments are created by `multiprocessing.shared_memory` with mode 0600 (private to
    the user) and named `jxb_<owner-pid>_<token>`;
  * the owner unlinks in `close()` and, as a fallback, in a `weakref.finalize` that also
    runs at interpreter exit;
  * if the owner is SIGKILLed, Python's resource tracker (a separate process shared with
    the spawned workers) unlinks the segment once the owner and its workers are gone;
  * `remove_stale_segments()` (run by every new pool) unlinks segments whose owner pid is
    no longer alive, covering the case where the tracker itself was killed.
"""
from __future__ import annotations

import os
import re
import secrets
import weakref
from dataclasses import dataclass
from multiprocessing import shared_memory
from typing import Mapping

import numpy as np

SEGMENT_PREFIX = "jxb"
SHM_DIR = "/dev/shm"
_ALIGN = 64  # cache-line alignment, also satisfies every numpy dtype
_NAME_RE = re.compile(rf"^{SEGMENT_PREFIX}_(\d+)_[0-9a-f]+$")


@dataclass(frozen=True)
class FieldLayout:
    name: str
    shape: tuple[int, ...]
    dtype: str
    offset: int

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * np.dtype(self.dtype).itemsize


@dataclass(frozen=True)
class SlabLayout:
    """Where each field lives inside the segment (picklable, sent once to each worker)."""

    fields: tuple[FieldLayout, ...]
    size: int

    @staticmethod
    def build(fields: Mapping[str, tuple[tuple[int, ...], np.dtype]]) -> "SlabLayout":
        out, offset = [], 0
        for name, (shape, dtype) in fields.items():
            f = FieldLayout(name, tuple(int(s) for s in shape), np.dtype(dtype).str, offset)
            out.append(f)
            offset += -(-max(f.nbytes, 1) // _ALIGN) * _ALIGN
        return SlabLayout(tuple(out), max(offset, _ALIGN))


class SharedSlabs:
    """A segment and numpy views of its fields. Create in the owner, attach in workers."""

    def __init__(self, shm: shared_memory.SharedMemory, layout: SlabLayout, owner: bool):
        self._shm = shm
        self.layout = layout
        self.name = shm.name
        self.owner = owner
        self.arrays: dict[str, np.ndarray] = {
            f.name: np.ndarray(f.shape, np.dtype(f.dtype), buffer=shm.buf, offset=f.offset)
            for f in layout.fields}
        self._finalizer = weakref.finalize(self, _release, shm, owner) if owner else None

    @classmethod
    def create(cls, layout: SlabLayout) -> "SharedSlabs":
        name = f"{SEGMENT_PREFIX}_{os.getpid()}_{secrets.token_hex(6)}"
        shm = shared_memory.SharedMemory(name=name, create=True, size=layout.size)  # mode 0600
        slabs = cls(shm, layout, owner=True)
        for a in slabs.arrays.values():
            a.fill(0)
        return slabs

    @classmethod
    def attach(cls, name: str, layout: SlabLayout) -> "SharedSlabs":
        return cls(shared_memory.SharedMemory(name=name, create=False), layout, owner=False)

    def __getitem__(self, field: str) -> np.ndarray:
        return self.arrays[field]

    def close(self) -> None:
        """Drop the views and unmap; the owner also unlinks the segment."""
        self.arrays = {}
        if self._finalizer is not None:
            self._finalizer()
        else:
            _release(self._shm, False)


def _release(shm: shared_memory.SharedMemory, unlink: bool) -> None:
    try:
        shm.close()
    except BufferError:
        pass  # a caller still holds a view; the mapping goes away with the process
    if unlink:
        try:
            shm.unlink()
        except FileNotFoundError:
            pass


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def list_segments(owner_pid: int | None = None) -> list[str]:
    """Names of bridge segments in /dev/shm (optionally only those of `owner_pid`)."""
    try:
        names = os.listdir(SHM_DIR)
    except FileNotFoundError:
        return []
    out = []
    for n in names:
        m = _NAME_RE.match(n)
        if m and (owner_pid is None or int(m.group(1)) == owner_pid):
            out.append(n)
    return sorted(out)


def remove_stale_segments() -> list[str]:
    """Unlink bridge segments of ours whose owner process no longer exists."""
    removed = []
    uid = os.getuid()
    for n in list_segments():
        pid = int(_NAME_RE.match(n).group(1))
        path = os.path.join(SHM_DIR, n)
        try:
            if os.stat(path).st_uid != uid or _pid_alive(pid):
                continue
            os.unlink(path)
            removed.append(n)
        except (FileNotFoundError, PermissionError):
            continue
    return removed


def aligned_empty(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """An uninitialised private array whose data starts on a 64-byte boundary.

    Consumers such as XLA's CPU client can then adopt the buffer without copying it.
    """
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(nbytes + _ALIGN, np.uint8)
    start = (-raw.ctypes.data) % _ALIGN
    return raw[start:start + nbytes].view(dtype).reshape(shape)
