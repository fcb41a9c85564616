"""DAgger from the command line: `jaxcraft demos --student` and `jaxcraft pretrain` on several sets.

Oracles: with β = 1 the teacher drives every step, so the DAgger set must be the teacher's own
demonstrations of the same task ids (recorded independently by `jaxcraft demos`); with lr = 0,
`--init` must save its params back unchanged; `concat_demos` against hand-built arrays.
"""
import json
import pathlib

import jax
import numpy as np
import pytest

from jaxcraft.tasks.demos import FIELDS, DemoFormatError, concat_demos, load_demos, load_manifest

EXPERIMENT = pathlib.Path(__file__).resolve().parents[1] / "_mini_goal_experiment.py"


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    from jaxcraft.cli import main
    d = tmp_path_factory.mktemp("dagger")
    exp = EXPERIMENT
    common = ["--teacher", "servo", "--episodes", "3", "--max-steps", "6", "--shard-size", "2", "--seed", "4"]
    assert main(["demos", str(exp), *common, "--out", str(d / "teacher")]) == 0
    assert main(["pretrain", str(exp), "--demos", str(d / "teacher"), "--out", str(d / "pre"),
                 "--steps", "2", "--batch", "2", "--window", "2", "--no-tensorboard"]) == 0
    assert main(["demos", str(exp), *common, "--student", str(d / "pre"), "--out", str(d / "dagger")]) == 0
    assert main(["demos", str(exp), *common, "--student", str(d / "pre"), "--beta", "1", "--out", str(d / "beta1")]) == 0
    return d, exp, main


def test_beta_one_reproduces_the_teachers_demos_and_the_manifest_names_the_student(made):
    d, _, _ = made
    teacher, beta1 = load_demos(d / "teacher"), load_demos(d / "beta1")
    for k in FIELDS:
        np.testing.assert_array_equal(beta1[k], teacher[k], err_msg=k)
    m = load_manifest(d / "dagger")
    assert m["dagger"] == {"student": str(d / "pre"), "beta": 0.0} and m["teacher"] == "servo"
    assert "dagger" not in load_manifest(d / "teacher")


def test_student_states_are_labelled_from_the_same_start(made):
    d, _, _ = made
    teacher, dagger = load_demos(d / "teacher"), load_demos(d / "dagger")
    np.testing.assert_array_equal(dagger["task_id"], teacher["task_id"])     # the same tasks (same --seed)
    # Step 0: the same reset frame and the same teacher key, so the same label.
    np.testing.assert_array_equal(dagger["rgb"][:, 0], teacher["rgb"][:, 0])
    np.testing.assert_array_equal(dagger["action"][:, 0], teacher["action"][:, 0])
    # Afterwards the barely trained student goes elsewhere: its frames differ from the teacher's.
    assert not np.array_equal(dagger["rgb"][:, 1:], teacher["rgb"][:, 1:])


def test_pretrain_on_several_sets_starts_from_init(made):
    d, exp, main = made
    assert main(["pretrain", str(exp), "--demos", str(d / "teacher"), "--demos", str(d / "dagger"),
                 "--init", str(d / "pre"), "--out", str(d / "again"), "--steps", "1", "--batch", "2",
                 "--window", "2", "--lr", "0", "--no-tensorboard"]) == 0
    info = json.loads((d / "again_pretrain.json").read_text())
    assert info["demos"] == [str(d / "teacher"), str(d / "dagger")] and info["init"] == str(d / "pre")
    from jaxcraft.config import load_experiment
    from jaxcraft.restore import load_pretrained_policy
    from jaxcraft.tasks import make_task_env
    config = load_experiment(str(exp))
    env, params = make_task_env(config.task)
    before = load_pretrained_policy(d / "pre", config, env, params).params
    after = load_pretrained_policy(d / "again", config, env, params).params
    jax.tree.map(np.testing.assert_array_equal, after, before)   # lr 0: the init comes back unchanged


def test_bad_dagger_arguments_name_the_problem(made, capsys):
    d, exp, main = made
    assert main(["demos", str(exp), "--beta", "0.5", "--out", str(d / "x1")]) == 2
    assert "--beta is for DAgger" in capsys.readouterr().err
    assert main(["demos", str(exp), "--student", str(d / "nowhere"), "--out", str(d / "x2")]) == 2
    assert "holds no params" in capsys.readouterr().err
    assert main(["demos", str(exp), "--student", str(d / "pre"), "--noise", "0.2", "--out", str(d / "x3")]) == 2
    assert "--noise must be 0" in capsys.readouterr().err
    assert main(["pretrain", str(exp), "--demos", str(d / "teacher"), "--init", str(d / "teacher"),
                 "--out", str(d / "x4")]) == 2
    assert "--init" in capsys.readouterr().err and not (d / "x4").exists()


def test_concat_demos_pads_shorter_sets_and_refuses_other_frames():
    def demo(n, T, hw=4, fill=1):
        out = {}
        for k, (dtype, shape) in FIELDS.items():
            dims = dict(N=n, T=T, H=hw, W=hw)
            out[k] = np.full([dims.get(s, s) if isinstance(s, str) else s for s in shape], fill, dtype)
        out["length"][:] = T
        return out
    a, b = demo(2, 3), demo(1, 5, fill=2)
    c = concat_demos([a, b])
    assert c["rgb"].shape == (3, 5, 4, 4, 3) and c["action"].shape == (3, 5, 11)
    assert (c["rgb"][:2, :3] == 1).all() and (c["rgb"][:2, 3:] == 0).all() and (c["rgb"][2] == 2).all()
    np.testing.assert_array_equal(c["length"], [3, 3, 5])
    assert all(c[k].dtype == np.dtype(FIELDS[k][0]) for k in FIELDS)
    with pytest.raises(DemoFormatError, match="frame shapes"):
        concat_demos([a, demo(1, 3, hw=8)])
    with pytest.raises(DemoFormatError, match="no demo sets"):
        concat_demos([])


def test_pretrained_params_load_with_the_config_pretrain_recorded(made):
    """`--set` changes the network; the params then load without --experiment (the recorded config),
    do not fit the experiment file's own network, and a record from before configs were recorded
    falls back to the experiment file it names."""
    from jaxcraft.restore import load_task_policy, pretrained_config
    from jaxcraft.train.run.checkpoint import CheckpointError
    d, exp, main = made
    assert main(["pretrain", str(exp), "--demos", str(d / "teacher"), "--out", str(d / "wide"), "--set", "net.hidden=(12,)",
                 "--steps", "1", "--batch", "2", "--window", "2", "--no-tensorboard"]) == 0
    policy, config = load_task_policy(d / "wide")
    assert config.net.hidden == (12,) and pretrained_config(d / "pre").net.hidden == (8,)
    with pytest.raises(CheckpointError):
        load_task_policy(d / "wide", exp)                         # the file's (8,) net does not fit
    record = d / "pre_pretrain.json"
    info = json.loads(record.read_text())
    record.write_text(json.dumps({k: v for k, v in info.items() if k not in ("config", "set")}))
    assert pretrained_config(d / "pre") == pretrained_config(d / "pre", exp)
    record.write_text(json.dumps(info))
    (d / "lost_pretrain.json").write_text("{")
    with pytest.raises(CheckpointError, match="lost"):
        pretrained_config(d / "lost")
