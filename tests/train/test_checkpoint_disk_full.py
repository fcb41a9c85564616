"""A full disk during a checkpoint save (issue 31 item 2): one line naming the directory, the free
space and the update that could not be written; orbax's unfinished temporary directory is removed;
the earlier checkpoint still restores exactly. The writer is patched to fail as TensorStore does
(ENOSPC as text inside its own exception type); other errors pass through unchanged."""
import errno

import jax.numpy as jnp
import numpy as np
import pytest

from jaxcraft.train.run.checkpoint import Checkpointer, CheckpointError


def test_disk_full_is_one_line_and_keeps_earlier_checkpoints(tmp_path, monkeypatch):
    ckpt = Checkpointer(tmp_path / "checkpoints")
    state = {"w": jnp.arange(6.0).reshape(2, 3), "b": jnp.ones(3)}
    ckpt.save(1, state, {"update": 1})

    def full(step, args=None, force=False):
        (ckpt.directory / f"{step}.orbax-checkpoint-tmp-1765000000").mkdir()   # a half-written save
        raise ValueError(f"Error writing local file: [OSError {errno.ENOSPC}] No space left on device")

    monkeypatch.setattr(ckpt.manager, "save", full)
    with pytest.raises(CheckpointError) as e:
        ckpt.save(2, state, {"update": 2})
    msg = str(e.value)
    assert "\n" not in msg and "update 2" in msg and "disk is full" in msg and "MiB free" in msg
    assert str(ckpt.directory) in msg and "checkpoints kept: [1]" in msg
    assert not list(ckpt.directory.glob("*.orbax-checkpoint-tmp*"))
    monkeypatch.undo()
    restored, meta = ckpt.restore(1, state)
    assert meta["update"] == 1
    for k in state:
        np.testing.assert_array_equal(np.asarray(restored[k]), np.asarray(state[k]))

    def other(step, args=None, force=False):
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(ckpt.manager, "save", other)
    with pytest.raises(PermissionError):
        ckpt.save(3, state, {"update": 3})
