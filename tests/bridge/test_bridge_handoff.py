"""The spin-then-block hand-off (bridge/handoff.py): same results as the blocking path,
same fault detection, a validated option. No timed assertions."""
import math
import multiprocessing as mp
import os
import signal
import time

import numpy as np
import pytest

import bridge.handoff as H
from bridge import Pool, PoolConfig
from bridge.adapters.load_sim import LoadSimConfig, LoadSimEnv, LoadSimFactory
from bridge.handoff import MAX_SPIN_US, AdaptiveSpin, SignalledConn

N, W, SEED = 5, 2, 7
CFG = LoadSimConfig(frame_shape=(6, 5, 3), num_actions=4, episode_length=7, terminate_prob=0.1)
SPIN = float(MAX_SPIN_US)  # the longest spin: the parent and workers poll before blocking


def oracle(actions):
    """Each env stepped in this process with same-step auto-reset: per step, per env,
    (obs, reward, terminated, truncated, final obs or None)."""
    envs = [LoadSimEnv(CFG) for _ in range(N)]
    obs = [e.reset(seed=SEED + i)[0] for i, e in enumerate(envs)]
    out = [[(o["pov"], None, None, None, None) for o in obs]]
    for a in actions:
        row = []
        for i, e in enumerate(envs):
            o, r, te, tr, _ = e.step(a[i])
            final = None
            if te or tr:
                final, (o, _) = o["pov"], e.reset()
            row.append((o["pov"], r, te, tr, final))
        out.append(row)
    return out


def sync_rollout(spin_us, actions):
    batches = []
    with Pool(LoadSimFactory(CFG), PoolConfig(num_envs=N, num_workers=W, seed=SEED,
                                              spin_us=spin_us)) as pool:
        batches.append(pool.reset())
        for a in actions:
            batches.append(pool.step(a))
    return batches


def fields(b):
    return [b.env_ids, b.obs["pov"], b.obs["state"], b.reward, b.terminated, b.truncated,
            b.crashed, b.episode_return, b.episode_length, np.asarray(b.final_obs["pov"])]


def test_spinning_and_blocking_pools_return_bit_identical_batches_matching_the_oracle():
    actions = np.random.default_rng(0).integers(0, CFG.num_actions, (30, N))
    ref = oracle(actions)
    spin, block = sync_rollout(SPIN, actions), sync_rollout(0.0, actions)
    ended = 0
    for t, (bs, bb) in enumerate(zip(spin, block)):
        for x, y in zip(fields(bs), fields(bb)):
            assert x.dtype == y.dtype and x.shape == y.shape
            np.testing.assert_array_equal(x, y)
        for i in range(N):
            o, r, te, tr, final = ref[t][i]
            np.testing.assert_array_equal(bs.obs["pov"][i], o)
            if t:
                assert (bs.reward[i], bs.terminated[i], bs.truncated[i]) == (r, te, tr)
                if final is not None:
                    ended += 1
                    np.testing.assert_array_equal(bs.final_obs["pov"][i], final)
    assert ended >= 5 and not any(b.crashed.any() for b in spin)


def async_trajectories(spin_us, actions):
    """Per env, what it received step by step, stepping through recv/send in readiness order."""
    T = len(actions)
    per_env = {e: [] for e in range(N)}
    cursor = np.zeros(N, int)
    with Pool(LoadSimFactory(CFG), PoolConfig(num_envs=N, num_workers=W, seed=SEED,
                                              batch_size=2, spin_us=spin_us)) as pool:
        pool.async_reset()
        outstanding = N
        while outstanding:
            b = pool.recv(min(2, outstanding))
            outstanding -= len(b)
            for j, e in enumerate(b.env_ids.tolist()):
                per_env[e].append((b.obs["pov"][j].copy(), b.reward[j], b.terminated[j],
                                   b.truncated[j], b.episode_length[j]))
            live = b.env_ids[cursor[b.env_ids] < T]
            if len(live):
                pool.send(actions[cursor[live], live], live)
                cursor[live] += 1
                outstanding += len(live)
    return per_env


def test_async_recv_send_gives_every_env_the_same_trajectory_spinning_or_blocking():
    actions = np.random.default_rng(1).integers(0, CFG.num_actions, (12, N))
    ref = oracle(actions)
    spin, block = async_trajectories(SPIN, actions), async_trajectories(0.0, actions)
    for e in range(N):
        assert len(spin[e]) == len(block[e]) == 13
        for t, (s, b) in enumerate(zip(spin[e], block[e])):
            np.testing.assert_array_equal(s[0], b[0])
            assert s[1:] == b[1:]
            np.testing.assert_array_equal(s[0], ref[t][e][0])


def killed_mid_step(spin_us, fake_news=False):
    cfg = LoadSimConfig(frame_shape=(4, 4, 3), latency_median_s=0.3, latency_sigma=0.01,
                        terminate_prob=0.0)
    with Pool(LoadSimFactory(cfg), PoolConfig(num_envs=4, num_workers=2,
                                              spin_us=spin_us)) as pool:
        pool.reset()
        prev = pool.step(np.zeros(4, int))
        victim = pool.worker_pids()[0]
        pool.send(np.zeros(4, int))
        time.sleep(0.1)  # mid-step
        os.kill(victim, signal.SIGKILL)
        if fake_news:  # its counter says a message is waiting: the spin "hits" every time
            pool._done_col[0] += 5
        b = pool.recv(4, timeout=60.0, ordered=True)
        assert b.crashed.tolist() == [True, True, False, False]
        assert b.truncated.tolist() == [True, True, False, False]
        np.testing.assert_array_equal(b.final_obs["pov"][:2], prev.obs["pov"][:2])
        assert pool.worker_pids()[0] != victim and pool.restart_counts.tolist() == [1, 0]
        nxt = pool.step(np.zeros(4, int))  # the replacement's counters start afresh
        assert nxt.episode_length.tolist() == [1, 1, 3, 3] and not nxt.crashed.any()
        return b.crashed.tolist(), pool.restart_counts.tolist()


@pytest.mark.parametrize("spin_us", [0.0, SPIN])
def test_worker_killed_while_the_parent_waits_is_detected_spinning_or_not(spin_us):
    assert killed_mid_step(spin_us) == ([True, True, False, False], [1, 0])


def test_worker_death_is_seen_even_when_its_counter_claims_news():
    """A spin that 'hits' on a dead worker's counter is followed by the same epoll that
    reports its exit: the death is handled and the pool does not loop."""
    assert killed_mid_step(SPIN, fake_news=True) == ([True, True, False, False], [1, 0])


@pytest.mark.parametrize("spin_us", [0.0, SPIN])
def test_stopped_worker_is_detected_within_step_timeout_while_the_parent_spins(spin_us):
    cfg = LoadSimConfig(frame_shape=(4, 4, 3), latency_median_s=0.2, latency_sigma=0.01,
                        terminate_prob=0.0)
    with Pool(LoadSimFactory(cfg), PoolConfig(num_envs=2, num_workers=2, step_timeout=1.5,
                                              reset_timeout=600.0, spin_us=spin_us)) as pool:
        pool.reset()
        victim = pool.worker_pids()[1]
        pool.send(np.zeros(2, int))
        os.kill(victim, signal.SIGSTOP)
        try:
            b = pool.recv(2, timeout=60.0, ordered=True)  # TimeoutError if never detected
        finally:
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                pass
        assert b.crashed.tolist() == [False, True] and pool.restart_counts.tolist() == [0, 1]
        assert not pool.step(np.zeros(2, int)).crashed.any()


@pytest.mark.parametrize("bad", [-1, -0.5, math.nan, math.inf, MAX_SPIN_US + 1, True, "200", None])
def test_spin_us_is_validated_and_the_error_names_the_field(bad):
    with pytest.raises(ValueError, match=r"^spin_us must be a number of microseconds in \[0, "):
        PoolConfig(num_envs=2, num_workers=1, spin_us=bad)


@pytest.mark.parametrize("good", [0, 0.0, 1, 50.5, MAX_SPIN_US, np.float32(100), np.int64(3)])
def test_spin_us_accepts_real_numbers_in_range(good):
    assert PoolConfig(num_envs=2, num_workers=1, spin_us=good).spin_us == good


def test_default_spin_us_spins():
    assert 0 < PoolConfig(num_envs=1, num_workers=1).spin_us <= MAX_SPIN_US


# ------------------------------------------------------------------ AdaptiveSpin itself
def test_budget_shrinks_on_long_waits_to_a_floor_and_recovers_on_short_ones():
    s = AdaptiveSpin(200)
    assert s.budget_s == pytest.approx(200e-6)
    for _ in range(50):
        s.observe(5e-3)  # waits far longer than a spin: spinning is wasted
    assert s.budget_s == pytest.approx(s.floor_s) and s.floor_s > 0
    s.observe(30e-6)  # a fast hand-off again: spin twice as long as it took
    assert s.budget_s == pytest.approx(60e-6)
    s.observe(150e-6)
    assert s.budget_s == pytest.approx(200e-6)  # capped at max
    s.observe(1e-6)
    assert s.budget_s == pytest.approx(200e-6)  # short waits never shrink it


def test_spin_returns_at_once_when_ready_and_polls_until_ready():
    s = AdaptiveSpin(MAX_SPIN_US)
    assert s.spin(lambda: True) and s.hits == 1
    calls = []

    def ready_on_second_poll():
        calls.append(1)
        return len(calls) >= 2
    assert s.spin(ready_on_second_poll) and len(calls) == 2 and s.hits == 2


def test_preempted_spin_backs_off_to_blocking(monkeypatch):
    counter = iter(range(10**6))
    monkeypatch.setattr(H, "_preemptions", lambda: next(counter))  # every look: preempted
    s = AdaptiveSpin(20)
    assert not s.spin(lambda: False)
    assert s.preempted == 1
    polled = []
    for _ in range(H._BACKOFF_MIN):  # the next waits block at once, polling only once
        assert not s.spin(lambda: polled.append(1) or False)
    assert len(polled) == H._BACKOFF_MIN and s.misses == 1 + H._BACKOFF_MIN
    assert not s.spin(lambda: False) and s.preempted == 2  # spins again, longer back-off next
    assert s._skip == 2 * H._BACKOFF_MIN


def test_signalled_conn_counts_messages_both_ways():
    a, b = mp.Pipe(duplex=True)
    sent = np.zeros((1, 8), np.uint64)
    posted = np.zeros((1, 8), np.uint64)
    for spin_us in (0.0, 100.0):
        conn = SignalledConn(b, sent, posted, 0, spin_us)
        posted[0, 0] = 0
        a.send_bytes(b"S1")
        posted[0, 0] += 1  # after the write, as the pool does
        assert conn.recv_bytes() == b"S1"
        a.send_bytes(b"S2")  # a message not (yet) counted: the spin misses, the read blocks
        assert conn.recv_bytes() == b"S2"
        before = int(sent[0, 0])
        conn.send_bytes(b"D")
        assert a.recv_bytes() == b"D" and int(sent[0, 0]) == before + 1
    a.close()
    b.close()
