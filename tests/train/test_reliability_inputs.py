"""Inputs checked before anything is compiled (issue 14 item 9): demos that do not fit the
experiment, and `jaxcraft eval` of a directory that holds no params."""
import json
import re
import pathlib

import numpy as np
import pytest

from jaxcraft.cli import main
from jaxcraft.tasks import FAMILIES
from jaxcraft.tasks.demos import FIELDS, FORMAT, OPTIONAL_FIELDS, VERSION

ROOT = pathlib.Path(__file__).parents[2]
QUICKSTART = str(ROOT / "experiments" / "quickstart.py")      # frame_size 48, families ("approach",)


def _write_demos(out: pathlib.Path, frame: int = 32, family: str = "approach", episodes: int = 2, steps: int = 4):
    """A demo directory in the `jaxcraft.tasks.demos` format, written by hand (no recording)."""
    out.mkdir()
    dims = dict(N=episodes, T=steps, H=frame, W=frame, W8=(frame + 7) // 8)
    fields = {**FIELDS, **OPTIONAL_FIELDS}
    arrays = {k: np.zeros(tuple(dims.get(s, s) if isinstance(s, str) else s for s in shape), dtype)
              for k, (dtype, shape) in fields.items()}
    arrays["length"][:] = steps
    arrays["action"][..., -2:] = 5                            # camera bins: no move (a valid action)
    arrays["family"][:] = FAMILIES.index(family)
    np.savez_compressed(out / "shard_00000.npz", **arrays)
    manifest = dict(format=FORMAT, version=VERSION, max_steps=steps, frame=[frame, frame], num_episodes=episodes,
                    shards=[dict(file="shard_00000.npz", episodes=episodes, successes=0)],
                    fields={k: dict(dtype=d, shape=list(sh)) for k, (d, sh) in fields.items()})
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


@pytest.mark.parametrize("demo_kw,override,named", [
    (dict(frame=32), "task.frame_size=64", r"rgb frames are 32x32 .* observations are 64x64"),
    (dict(family="hunt"), "task.frame_size=32", r"task families \['hunt'\] are not in the experiment's task.families"),
])
def test_pretrain_names_a_demo_experiment_mismatch_before_compiling(tmp_path, capsys, demo_kw, override, named):
    demos = _write_demos(tmp_path / "demos", **demo_kw)
    rc = main(["pretrain", QUICKSTART, "--demos", str(demos), "--out", str(tmp_path / "out"), "--set", override,
               "--steps", "1", "--batch", "1", "--window", "2"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert re.search(named, err), err
    assert not (tmp_path / "out").exists()


def test_eval_of_a_directory_without_params_is_refused_before_building(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    rc = main(["eval", str(empty), "--experiment", QUICKSTART, "--episodes", "1"])
    err = capsys.readouterr().err
    assert rc == 2 and "holds neither a run (config.json) nor params saved by `jaxcraft pretrain`" in err
