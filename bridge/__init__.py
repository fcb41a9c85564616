"""bridge: simulators in worker processes, batched through shared memory (no JAX here).

    from bridge import Pool, PoolConfig
    from bridge.adapters.load_sim import LoadSimFactory

    with Pool(LoadSimFactory(), PoolConfig(num_envs=8, num_workers=2, batch_size=4)) as pool:
        pool.async_reset()
        for _ in range(100):
            batch = pool.recv()                       # first 4 envs ready
            pool.send(policy(batch.obs), batch.env_ids)

See docs/bridge.md for auto-reset semantics, fault handling and the copy points.
"""
from bridge.batch import Batch
from bridge.config import PoolConfig
from bridge.errors import SimulatorError, WorkerError
from bridge.pool import Pool
from bridge.simulator import Simulator, SimulatorFactory
from bridge.spec import ArraySpec, EnvSpec, InvalidActionError
from bridge.vector_env import BridgeVectorEnv

__all__ = ["ArraySpec", "Batch", "BridgeVectorEnv", "EnvSpec", "InvalidActionError", "Pool",
           "PoolConfig", "Simulator", "SimulatorError", "SimulatorFactory", "WorkerError"]
