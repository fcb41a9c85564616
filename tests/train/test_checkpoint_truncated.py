"""A truncated checkpoint data file (issue 31 item 5): one line that names the checkpoint and
carries none of TensorStore's spec dump ("See full TensorStore details: <bound method …")."""
import jax.numpy as jnp
import pytest

from jaxcraft.train.run.checkpoint import Checkpointer, CheckpointError


def test_truncated_data_file_is_one_line_without_the_spec_dump(tmp_path):
    ckpt = Checkpointer(tmp_path / "checkpoints")
    state = {"w": jnp.arange(4096.0), "b": jnp.ones(300)}
    ckpt.save(1, state, {"update": 1})
    files = [p for p in (ckpt.directory / "1").rglob("*") if p.is_file()]
    biggest = max(files, key=lambda p: p.stat().st_size)
    with open(biggest, "r+b") as f:
        f.truncate(biggest.stat().st_size // 2)
    with pytest.raises(CheckpointError) as e:
        ckpt.restore(1, state)
    msg = str(e.value)
    assert "\n" not in msg and "checkpoint at update 1" in msg and "is corrupt, partial or incompatible" in msg
    assert "bound method" not in msg and "TensorStore(" not in msg and "pybind11" not in msg
