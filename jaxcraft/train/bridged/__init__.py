"""The bridged trainer: PPO on simulators in `bridge/` worker processes — the trainer (`trainer.py`),
its actor thread (`actor.py`), per-env fragments (`trajectory_assembly.py`), batch → JAX arrays
(`arrays.py`) and the `bridge:<adapter>` env ids (`envs.py`, `minetest.py`)."""
