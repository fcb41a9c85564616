"""The pod watch (jaxcraft.train.multihost.pod_watch) on an in-memory key-value store, threads as processes.

Oracles: which watch reports, its one line (the silent process, the last checkpoint, how to
resume) and its exit code; a process that leaves normally (`done`) is never reported; an
unreachable store names the coordinator. The real multi-process case (a SIGKILLed host) is in
tests/pods/test_pods.py.
"""
import threading
import time

from jaxcraft.train.multihost.pod_watch import EXIT_PEER_LOST, PodWatch, checkpoint_description


class Store:
    """The two key-value calls the watch makes, in memory (thread-safe), with a switch to fail."""

    def __init__(self):
        self.data, self.lock, self.broken = {}, threading.Lock(), False

    def key_value_set(self, key, value, allow_overwrite=False):
        if self.broken:
            raise ConnectionError("coordinator gone")
        with self.lock:
            self.data[key] = value

    def key_value_dir_get(self, prefix):
        if self.broken:
            raise ConnectionError("coordinator gone")
        with self.lock:
            return [(k, v) for k, v in self.data.items() if k.startswith(prefix)]


def started(n, tmp_path):
    """(store, exit calls, n running watches that have exchanged a few beats)."""
    store, exits = Store(), []
    w = watches(store, n, tmp_path, exits)
    for x in w:
        x.start()
    time.sleep(0.3)
    return store, exits, w


def watches(store, n, tmp_path, exits):
    (tmp_path / "checkpoints" / "8").mkdir(parents=True)
    return [PodWatch(p, n, stale_after=0.4, period=0.05, client=store, exit=lambda rc, p=p: exits.append((p, rc)),
                     describe_checkpoint=checkpoint_description(tmp_path / "checkpoints")) for p in range(n)]


def test_a_silent_process_is_named_in_one_line_and_the_others_exit(tmp_path, capsys):
    _, exits, w = started(3, tmp_path)
    w[2]._stop.set()          # process 2 dies: its beats stop, and it never says done
    time.sleep(1.2)
    w[0].done(), w[1].done()
    assert sorted(exits) == [(0, EXIT_PEER_LOST), (1, EXIT_PEER_LOST)]
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and all("process 2 of the pod stopped responding" in x for x in lines)
    assert all(f"The last checkpoint is update 8 in {tmp_path / 'checkpoints'}." in x and "Rerun the same command" in x
               for x in lines)


def test_a_process_that_leaves_normally_is_not_reported(tmp_path, capsys):
    _, exits, w = started(2, tmp_path)
    w[1].done()               # finished (or preempted, or failed on its own) first
    time.sleep(1.0)
    w[0].done()
    assert exits == [] and capsys.readouterr().err == ""


def test_an_unreachable_coordinator_is_named(tmp_path, capsys):
    store, exits = Store(), []
    w = watches(store, 2, tmp_path, exits)
    w[1].start()
    time.sleep(0.2)
    store.broken = True
    time.sleep(0.3)
    assert exits == [(1, EXIT_PEER_LOST)]
    assert "the job's coordinator (process 0) is unreachable" in capsys.readouterr().err


def test_settle_waits_for_the_verdict_on_a_dead_peer_and_not_longer_on_live_ones(tmp_path, capsys):
    """A collective fails the moment a peer dies, before the watch sees it go quiet: `settle` blocks
    until the watch has reported (about `stale_after` later); with every peer alive it returns after
    at most `stale_after` + 3 periods and reports nothing."""
    _, exits, w = started(2, tmp_path)
    w[1]._stop.set()          # process 1 dies; process 0's main thread fails at once
    t0 = time.monotonic()
    w[0].settle()
    assert exits == [(0, EXIT_PEER_LOST)] and time.monotonic() - t0 < 0.4 + 0.15 + 0.2
    assert "process 1 of the pod stopped responding" in capsys.readouterr().err

    _, exits, w = started(2, tmp_path / "alive")
    t0 = time.monotonic()
    w[0].settle()
    waited = time.monotonic() - t0
    w[0].done(), w[1].done()
    assert exits == [] and 0.4 <= waited < 0.4 + 0.15 + 0.2
