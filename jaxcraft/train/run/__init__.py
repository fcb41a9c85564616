"""Run plumbing around a `Trainer`: the host-side loop (`loop.py`), checkpoints, the run-directory lock,
metrics sinks (JSONL, TensorBoard, W&B) and several seeds through one compiled trainer (`seeds.py`)."""
