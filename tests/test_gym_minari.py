"""Demos ↔ Minari: the round trip returns exactly the demo directory's arrays (oracle: load_demos
of the original), the Minari view follows the documented mapping, and both CLIs take the format."""
import dataclasses
import json
import pathlib

import numpy as np
import pytest

minari = pytest.importorskip("minari")

from jaxcraft.tasks import TaskConfig
from jaxcraft.tasks.demos import FIELDS, FORMAT, VERSION, DemoFormatError, load_demos
from jaxcraft.gym.minari import export_minari, load_demo_source, load_minari_demos

T, H = 7, 16
TASK = TaskConfig(families=("approach",), distances=(20,), frame_size=H, max_steps=T, success_reward=2.0)


@pytest.fixture(autouse=True)
def minari_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))


def _write_demo_dir(path, shard_sizes=(3, 2), seed=0, task=TASK):
    """A demo directory in the documented format with random contents (padding zeroed)."""
    rng = np.random.default_rng(seed)
    path.mkdir()
    shards = []
    for s, n in enumerate(shard_sizes):
        length = rng.integers(1, T + 1, n).astype(np.int32)
        length[0] = T                       # one episode runs the whole limit
        success = (length < T) & (rng.random(n) < 0.8)
        d = dict(N=n, T=T, H=H, W=H)
        arrays = {}
        for k, (dtype, shape) in FIELDS.items():
            shape = tuple(d.get(x, x) if isinstance(x, str) else x for x in shape)
            if dtype == "bool":
                arrays[k] = rng.random(shape) < 0.5
            elif dtype == "float32":
                arrays[k] = rng.random(shape).astype(np.float32)
            else:
                arrays[k] = rng.integers(0, 255, shape).astype(dtype)
        arrays["action"] = rng.integers(0, (2,) * 9 + (11, 11), (n, T, 11)).astype(np.int32)
        arrays["goal_mask"] = (arrays["goal_mask"] > 128).astype(np.uint8)
        arrays["family"] = np.zeros(n, np.int32)
        arrays.update(length=length, success=success)
        pad = np.arange(T)[None] >= length[:, None]
        for k in ("rgb", "action", "target_visible", "target_centroid"):
            arrays[k] = np.where(pad.reshape(pad.shape + (1,) * (arrays[k].ndim - 2)), 0, arrays[k]).astype(arrays[k].dtype)
        np.savez_compressed(path / f"shard_{s:05d}.npz", **arrays)
        shards.append(dict(file=f"shard_{s:05d}.npz", episodes=n, successes=int(success.sum())))
    manifest = dict(format=FORMAT, version=VERSION, teacher="servo", noise=0.25, max_steps=T, frame=[H, H],
                    key_seed=0, task_config=dataclasses.asdict(task) if task else None,
                    num_episodes=sum(shard_sizes), shards=shards)
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path


def test_round_trip_gives_back_every_field_exactly(tmp_path):
    src = _write_demo_dir(tmp_path / "demos")
    written = []
    export_minari(src, "jaxcraft/rt-v0", progress=written.append)
    assert written == [5]
    want, got = load_demos(src), load_minari_demos("jaxcraft/rt-v0")
    assert set(got) == set(FIELDS)
    for k in FIELDS:
        assert got[k].dtype == want[k].dtype and got[k].shape == want[k].shape, k
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)
    for k in FIELDS:   # the CLI's source dispatch: a directory and minari:<id> load the same demos
        np.testing.assert_array_equal(load_demo_source(f"minari:jaxcraft/rt-v0")[k], load_demo_source(str(src))[k])


def test_minari_view_follows_the_documented_mapping(tmp_path):
    src = _write_demo_dir(tmp_path / "demos")
    demos = load_demos(src)
    ds = export_minari(src, "jaxcraft/view-v0")
    assert ds.total_episodes == 5 and ds.total_steps == int(demos["length"].sum())
    for i, ep in enumerate(ds.iterate_episodes()):
        n, ok = int(demos["length"][i]), bool(demos["success"][i])
        assert len(ep) == n and ep.observations["rgb"].shape == (n + 1, H, H, 3)
        np.testing.assert_array_equal(ep.observations["rgb"][n], ep.observations["rgb"][n - 1])
        np.testing.assert_array_equal(ep.rewards, np.where(np.arange(n) == n - 1, 2.0 * ok, 0.0))
        assert ep.terminations[-1] == ok and ep.truncations[-1] == (not ok)
        assert not ep.terminations[:-1].any() and not ep.truncations[:-1].any()
        assert ds.action_space.contains(ep.actions[0]) and ds.observation_space["family"].contains(ep.observations["family"][0])
    meta = ds.storage.metadata
    assert meta["jaxcraft_demos"]["teacher"] == "servo" and meta["jaxcraft_demos"]["max_steps"] == T
    assert ds.spec.env_spec.id == "JaxCraft-Approach-v0" and ds.spec.env_spec.kwargs["frame_size"] == H
    env = ds.recover_environment()          # the task env of the demos (built, not compiled)
    assert env.observation_space == ds.observation_space


def test_existing_dataset_is_kept_and_bad_sources_name_the_problem(tmp_path):
    src = _write_demo_dir(tmp_path / "demos", shard_sizes=(2,), task=None)
    export_minari(src, "jaxcraft/once-v0")
    with pytest.raises(FileExistsError, match="once-v0"):
        export_minari(src, "jaxcraft/once-v0")
    assert load_minari_demos("jaxcraft/once-v0")["length"].shape == (2,)      # still readable
    with pytest.raises(DemoFormatError, match="no such local Minari dataset"):
        load_minari_demos("jaxcraft/missing-v0")
    with pytest.raises(DemoFormatError, match="manifest.json"):
        export_minari(tmp_path, "jaxcraft/x-v0")


EXPERIMENT = pathlib.Path(__file__).resolve().parent / "_mini_goal_experiment.py"


def test_cli_records_to_minari_and_pretrains_from_it(tmp_path, capsys):
    from jaxcraft.cli import main

    exp = EXPERIMENT
    # The same recording and cloning shapes as tests/tasks/test_dagger_cli.py's teacher set: the
    # programs compiled by whichever runs first load from the persistent compilation cache.
    assert main(["demos", str(exp), "--teacher", "servo", "--episodes", "3", "--max-steps", "6", "--shard-size", "2",
                 "--seed", "4", "--format", "minari", "--out", "jaxcraft/cli-v0"]) == 0
    err = capsys.readouterr().err
    assert "demos (servo): 3/3 episode" in err and "success=" in err and "\r" not in err
    demos = load_minari_demos("jaxcraft/cli-v0")
    assert demos["rgb"].shape == (3, 6, 16, 16, 3) and demos["length"].min() >= 1
    assert main(["demos", str(exp), "--episodes", "2", "--format", "minari", "--out", "jaxcraft/cli-v0"]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["pretrain", str(exp), "--demos", "minari:jaxcraft/cli-v0", "--out", str(tmp_path / "pre"),
                 "--steps", "2", "--batch", "2", "--window", "2", "--log-every", "1"]) == 0
    assert (tmp_path / "pre").exists()
    rows = [json.loads(line) for line in (tmp_path / "pre_log" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2] and {"loss", "nll", "action_exact_match"} <= set(rows[0])
    assert list((tmp_path / "pre_log" / "tb").iterdir())                     # TensorBoard events
    err = capsys.readouterr().err
    assert "pretrain: 2/2 step" in err and "acc=" in err
    assert main(["pretrain", str(exp), "--demos", "minari:jaxcraft/nope-v0", "--out", str(tmp_path / "p2")]) == 2
    assert "no such local Minari dataset" in capsys.readouterr().err
