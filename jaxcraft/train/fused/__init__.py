"""The fused trainer: JAX envs stepped inside the jitted update (`trainer.py`), its rollout
(`rollout.py`), its teacher-guided curriculum (`guide.py`) and its memory check (`memory_estimate.py`)."""
