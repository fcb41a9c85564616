"""Training. Shared by every trainer at this level: the agent assembly (`agent.py`), the `Trainer`
protocol (`trainer.py`), the one `Trajectory` type, the `Learner` and the XLA loop layout. By what
it is below: `fused/`, `bridged/`, `imitation/`, `run/` (loop, checkpoints, metrics), `multihost/`."""
