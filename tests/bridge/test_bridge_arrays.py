"""jaxcraft.train.bridged.arrays: received batches -> (sharded) JAX arrays."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from bridge import Pool, PoolConfig
from bridge.adapters.load_sim import LoadSimConfig, LoadSimFactory

CFG = LoadSimConfig(frame_shape=(4, 4, 3), episode_length=2, terminate_prob=0.0)


def test_batch_to_jax_matches_the_numpy_batch_single_device():
    jax = pytest.importorskip("jax")
    from jaxcraft.train.bridged.arrays import batch_to_jax
    with Pool(LoadSimFactory(CFG), PoolConfig(num_envs=4, num_workers=2)) as pool:
        pool.reset()
        pool.step(np.zeros(4, int))
        ref = pool.step(np.ones(4, int))  # ends episodes: final_obs populated
        pool.reset()
        pool.step(np.zeros(4, int))
        view = pool.step(np.ones(4, int), copy=False)
        assert view.shares_memory
        out = batch_to_jax(view, include_final_obs=True)
        expected = {k: np.array(v) for k, v in view.obs.items()}
        pool.step(np.zeros(4, int))  # workers overwrite the slab rows the view pointed at
        for k, v in expected.items():
            np.testing.assert_array_equal(np.asarray(out["obs"][k]), v)
            np.testing.assert_array_equal(np.asarray(out["obs"][k]), ref.obs[k])
        np.testing.assert_array_equal(np.asarray(out["final_obs"]["pov"]), ref.final_obs["pov"])
        np.testing.assert_allclose(np.asarray(out["reward"]), ref.reward, rtol=1e-6)
        assert out["truncated"].dtype == jax.numpy.bool_ and bool(out["truncated"].all())
        assert out["reward"].dtype == jax.numpy.float32  # x64 off: narrowed
        assert np.asarray(out["env_ids"]).tolist() == [0, 1, 2, 3]
        # copy=True: the gather is the only copy; XLA on CPU adopts the aligned buffer.
        fresh = pool.step(np.zeros(4, int))
        adopted = batch_to_jax(fresh)["obs"]["pov"]
        assert adopted.unsafe_buffer_pointer() == fresh.obs["pov"].ctypes.data


MULTI = textwrap.dedent("""
    import numpy as np, jax
    from bridge import Pool, PoolConfig
    from bridge.adapters.load_sim import LoadSimConfig, LoadSimFactory
    from jaxcraft.train.bridged.arrays import batch_to_jax
    from jaxcraft.train.multihost.sharding import make_mesh, DATA_AXIS
    if __name__ == "__main__":
        assert jax.device_count() == 4, jax.devices()
        mesh = make_mesh()
        cfg = LoadSimConfig(frame_shape=(4, 4, 3))
        with Pool(LoadSimFactory(cfg), PoolConfig(num_envs=8, num_workers=2, batch_size=4)) as pool:
            pool.async_reset()
            b = pool.recv()
            out = batch_to_jax(b, mesh)
            pov = out["obs"]["pov"]
            assert pov.sharding.spec[0] == DATA_AXIS, pov.sharding
            shards = sorted(pov.addressable_shards, key=lambda s: s.index[0].start)
            assert len({s.device for s in shards}) == 4
            for i, s in enumerate(shards):
                np.testing.assert_array_equal(np.asarray(s.data), b.obs["pov"][i:i + 1])
            np.testing.assert_array_equal(np.asarray(out["env_ids"]), b.env_ids)
            try:
                batch_to_jax(type(b)(**{**b.__dict__,
                    "env_ids": b.env_ids[:3], "obs": {k: v[:3] for k, v in b.obs.items()},
                    **{f: getattr(b, f)[:3] for f in ("reward", "terminated", "truncated",
                       "crashed", "episode_return", "episode_length")}}), mesh)
                raise SystemExit("uneven batch accepted")
            except ValueError as e:
                assert "split evenly over 4 devices" in str(e)
        print("OK")
""")


@pytest.mark.slow
def test_batch_to_jax_shards_over_four_devices(tmp_path):
    pytest.importorskip("jax")
    script = tmp_path / "multi.py"
    script.write_text(MULTI)
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
           "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                         text=True, timeout=240)
    assert out.returncode == 0 and "OK" in out.stdout, out.stdout + out.stderr
