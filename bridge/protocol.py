"""The control protocol between the pool and its workers: tagged byte messages on a pipe.

Arrays never cross the pipe (they live in the shared-memory slabs); messages carry env
ids, seeds and, rarely, pickled payloads. Every message is one tag byte + a body:

  pool → worker   STEP   + int32 env ids          step these envs (actions are in the slab)
                  RESET  + int32 ids + int64 seeds reset these envs (seed -1 means None)
                  CLOSE                            close simulators and exit
  worker → pool   DONE   + int32 env ids          results for these envs are in the slab
                  UP     + int32 env ids          (re)started: initial observations written
                  ERROR  + pickled dict           a simulator raised and the policy is "raise"
                                                   (or it failed again and again)
                  FATAL  + utf-8 text             the worker itself failed; it exits next

Results are written to the slabs *before* their ids are sent, so an id received by the
pool always refers to a complete row.
"""
from __future__ import annotations

import pickle
from typing import Any

import numpy as np

STEP = b"S"
RESET = b"R"
CLOSE = b"C"
DONE = b"D"
UP = b"U"
ERROR = b"E"
FATAL = b"F"


def tag_of(msg: bytes) -> bytes:
    return msg[:1]


def encode_ids(tag: bytes, ids: Any) -> bytes:
    """STEP / DONE / UP: the tag and the env ids as int32."""
    return tag + np.asarray(ids, np.int32).tobytes()


def decode_ids(msg: bytes) -> np.ndarray:
    return np.frombuffer(msg, np.int32, offset=1)


def encode_reset(ids: Any, seeds: Any) -> bytes:
    """RESET: int32 ids then int64 seeds (one each; -1 = no seed)."""
    return (RESET + np.asarray(ids, np.int32).tobytes()
            + np.asarray(seeds, np.int64).tobytes())


def decode_reset(msg: bytes) -> tuple[list[int], list[int]]:
    n = (len(msg) - 1) // 12
    ids = np.frombuffer(msg, np.int32, count=n, offset=1).tolist()
    seeds = np.frombuffer(msg, np.int64, count=n, offset=1 + 4 * n).tolist()
    return ids, seeds


def encode_error(env_id: int, worker: int, during: str, error: str, traceback: str) -> bytes:
    return ERROR + pickle.dumps(dict(env_id=env_id, worker=worker, during=during,
                                     error=error, traceback=traceback))


def decode_error(msg: bytes) -> dict[str, Any]:
    return pickle.loads(msg[1:])


def encode_fatal(text: str) -> bytes:
    return FATAL + text.encode("utf-8", "replace")


def decode_fatal(msg: bytes) -> str:
    return msg[1:].decode("utf-8", "replace")
