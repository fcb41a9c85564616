import numpy as np
import pytest

from bridge import InvalidActionError, Pool, PoolConfig
from bridge.adapters.load_sim import LoadSimConfig, LoadSimFactory

# Latency with a long tail so the order in which envs become ready really varies.
CFG = LoadSimConfig(frame_shape=(4, 4, 3), latency_median_s=0.004, latency_sigma=0.8)


def test_every_env_is_returned_exactly_once_per_send():
    n = 6
    with Pool(LoadSimFactory(CFG), PoolConfig(num_envs=n, num_workers=3, batch_size=2)) as pool:
        pool.async_reset()
        received = np.zeros(n, int)
        sent = np.zeros(n, int)
        orders = set()
        for _ in range(40):
            b = pool.recv()
            assert len(b) == 2 and len(set(b.env_ids.tolist())) == 2
            received[b.env_ids] += 1
            orders.add(tuple(b.env_ids.tolist()))
            # every env is received exactly once after each time it was sent (+1 for reset)
            assert (received <= sent + 1).all()
            pool.send(np.zeros(2, int), b.env_ids)
            sent[b.env_ids] += 1
        for _ in range(n // 2):  # drain: what is in flight comes back exactly once
            b = pool.recv()
            received[b.env_ids] += 1
        np.testing.assert_array_equal(received, sent + 1)
        assert len(orders) > 1
        with pytest.raises(RuntimeError, match="send\\(\\) actions"):
            pool.recv()  # nothing in flight: an error, not a deadlock


def test_send_rejects_envs_not_held_and_bad_ids():
    with Pool(LoadSimFactory(CFG), PoolConfig(num_envs=4, num_workers=2)) as pool:
        with pytest.raises(RuntimeError, match="reset"):
            pool.step(np.zeros(4, int))
        pool.reset()
        pool.send(np.zeros(2, int), [0, 1])
        with pytest.raises(RuntimeError, match=r"envs \[1\] are already stepping"):
            pool.send(np.zeros(2, int), [1, 2])
        with pytest.raises(ValueError, match="out of range"):
            pool.send(np.zeros(1, int), [4])
        with pytest.raises(ValueError, match="duplicates"):
            pool.send(np.zeros(2, int), [3, 3])
        with pytest.raises(InvalidActionError, match=r"load_sim: env 3: action field 'action' value 9 is above"):
            pool.send(np.array([0, 9]), [2, 3])
        assert sorted(pool.recv(2).env_ids.tolist()) == [0, 1]
        b = pool.step(np.ones(4, int))  # the rejected sends left no trace
        assert b.episode_length.tolist() == [2, 2, 1, 1]


def test_sync_step_returns_views_only_when_asked():
    with Pool(LoadSimFactory(CFG), PoolConfig(num_envs=4, num_workers=2)) as pool:
        pool.reset()
        copied = pool.step(np.zeros(4, int))
        viewed = pool.step(np.zeros(4, int), copy=False)
        assert not copied.shares_memory and viewed.shares_memory
        assert not np.shares_memory(copied.obs["pov"], pool._obs["pov"])
        assert np.shares_memory(viewed.obs["pov"], pool._obs["pov"])
        np.testing.assert_array_equal(viewed.obs["state"][:, 0], [2, 2, 2, 2])


def test_config_validation_names_the_problem():
    with pytest.raises(ValueError, match="num_workers"):
        PoolConfig(num_envs=2, num_workers=3)
    with pytest.raises(ValueError, match="batch_size"):
        PoolConfig(num_envs=2, num_workers=1, batch_size=3)
    with pytest.raises(ValueError, match="on_simulator_error"):
        PoolConfig(num_envs=2, num_workers=1, on_simulator_error="ignore")
