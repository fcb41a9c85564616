"""The control protocol between the pool and its workers: tagged byte messages on a pipe.

Arrays never cross the pipe (they live in the shared-memory slabs); messages carry env
ids, seeds and, rarely, pickled payloads. Every message is one tag byte + a body:

  pool → worker   STEP   + int32 env ids          step these envs (actions are in the slab)
                  ACT    + pickled (ids, actions) step these envs with these action objects
                                                   (spaces that do not fit a slab)
                  RESET  + uint32 n + int32 ids + int64 seeds [+ pickled options]
                                                   reset these envs (seed -1 means None)
                  CALL   + pickled (method, {env: args})  call a simulator method
                  CLOSE                            close simulators and exit
  worker → pool   DONE   + int32 env ids          results for these envs are in the slab
                  UP     + int32 env ids          (re)started: initial observations written
                  ERROR  + pickled dict           a simulator raised and the policy is "raise"
                                                   (or it failed again and again)
                  FATAL  + utf-8 text             the worker itself failed; it exits next
                  EXTRAS + pickled {env: extras}  what the simulators returned beyond the slab
                                                   fields (infos, general observations); sent
                                                   just before the DONE that names those envs
                  RESULT + pickled {env: (ok, value)}  replies to CALL

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
ACT = b"A"
CALL = b"K"
EXTRAS = b"X"
RESULT = b"Y"


def tag_of(msg: bytes) -> bytes:
    return msg[:1]


def encode_ids(tag: bytes, ids: Any) -> bytes:
    """STEP / DONE / UP: the tag and the env ids as int32."""
    return tag + np.asarray(ids, np.int32).tobytes()


def decode_ids(msg: bytes) -> np.ndarray:
    return np.frombuffer(msg, np.int32, offset=1)


def encode_reset(ids: Any, seeds: Any, options: Any = None) -> bytes:
    """RESET: count, int32 ids, int64 seeds (one each; -1 = no seed), pickled options."""
    ids = np.asarray(ids, np.int32)
    tail = b"" if options is None else pickle.dumps(options)
    return (RESET + np.uint32(len(ids)).tobytes() + ids.tobytes()
            + np.asarray(seeds, np.int64).tobytes() + tail)


def decode_reset(msg: bytes) -> tuple[list[int], list[int], Any]:
    n = int(np.frombuffer(msg, np.uint32, count=1, offset=1)[0])
    ids = np.frombuffer(msg, np.int32, count=n, offset=5).tolist()
    seeds = np.frombuffer(msg, np.int64, count=n, offset=5 + 4 * n).tolist()
    tail = msg[5 + 12 * n:]
    return ids, seeds, (pickle.loads(tail) if tail else None)


def encode_pickled(tag: bytes, payload: Any) -> bytes:
    """ACT / CALL / EXTRAS / RESULT: the tag and a pickled payload."""
    return tag + pickle.dumps(payload)


def decode_pickled(msg: bytes) -> Any:
    return pickle.loads(msg[1:])


def encode_error(env_id: int, worker: int, during: str, error: str, traceback: str,
                 exception: BaseException | None = None) -> bytes:
    """ERROR: who failed, when, the message and traceback, and the exception itself when
    it pickles (so a gymnasium facade can re-raise the simulator's own error type)."""
    payload = dict(env_id=env_id, worker=worker, during=during, error=error,
                   traceback=traceback, exception=None)
    if exception is not None:
        try:
            pickle.loads(pickle.dumps(exception))
            payload["exception"] = exception
        except Exception:
            pass
    return ERROR + pickle.dumps(payload)


def decode_error(msg: bytes) -> dict[str, Any]:
    return pickle.loads(msg[1:])


def encode_fatal(text: str) -> bytes:
    return FATAL + text.encode("utf-8", "replace")


def decode_fatal(msg: bytes) -> str:
    return msg[1:].decode("utf-8", "replace")
