"""jaxcraft.eval: interval maths, tables, episode accounting, policies, report files and the CLI."""
import dataclasses
import json
import math
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import struct
from PIL import Image

from jaxcraft.cli import main as cli_main
from jaxcraft.envs import MultiDiscrete
from jaxcraft.restore import load_checkpoint_policy
from jaxcraft.eval import (ExpertPolicy, RandomPolicy, evaluate, success_table, task_list,
                           wilson_interval, write_report)
from jaxcraft.eval.policies import zeros_of
from jaxcraft.tasks import TaskConfig, decode_task_id, from_config, make_task_env
from jaxcraft.train.run.checkpoint import CheckpointError
from jaxcraft.world import actions as A

Z = 1.959963984540054
TINY_TASK = TaskConfig(frame_size=16, world_size=24, world_height=16, num_distractors=1, families=("approach", "hunt"),
                       distances=(20,))


# -- statistics ----------------------------------------------------------------------------
def wilson_by_hand(k, n):
    p = k / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z / (1 + Z * Z / n) * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


@pytest.mark.parametrize("k, lo, hi", [(0, 0.0, 0.27753), (5, 0.23659, 0.76341), (10, 0.72247, 1.0)])
def test_wilson_interval_matches_hand_values(k, lo, hi):
    got = wilson_interval(k, 10)
    assert np.allclose(got, (lo, hi), atol=2e-5)            # published 95 % Wilson bounds for k/10
    assert np.allclose(got, wilson_by_hand(k, 10), atol=1e-12)
    # k = 0 closed form: upper bound z²/(n + z²)
    assert np.isclose(wilson_interval(0, 10)[1], Z * Z / (10 + Z * Z))


def test_wilson_bounds_never_cross_the_rate_at_zero_and_all_successes():
    # Closed forms: at k = 0 the lower bound is 0, at k = n the upper bound is 1; the general
    # formula leaves them ~1e-17 off for many n (e.g. n = 7), so that rate - lo < 0 (a plot's
    # error bar refused it).
    n = np.arange(1, 400)
    lo0, hi0 = wilson_interval(np.zeros_like(n), n)
    lon, hin = wilson_interval(n, n)
    assert (lo0 == 0.0).all() and (hin == 1.0).all()
    np.testing.assert_allclose(hi0, Z * Z / (n + Z * Z), rtol=1e-12)
    np.testing.assert_allclose(lon, n / (n + Z * Z), rtol=1e-12)


def test_wilson_interval_arrays_empty_and_errors():
    lo, hi = wilson_interval(np.array([0, 3]), np.array([0, 4]))
    assert np.isnan(lo[0]) and np.isnan(hi[0]) and np.isclose(lo[1], wilson_by_hand(3, 4)[0])
    with pytest.raises(ValueError):
        wilson_interval(5, 4)


def test_clopper_pearson_closed_forms():
    pytest.importorskip("scipy")
    from jaxcraft.eval import clopper_pearson_interval
    # k = 0: [0, 1 − (α/2)^(1/n)];  k = n: [(α/2)^(1/n), 1]
    assert np.allclose(clopper_pearson_interval(0, 10), (0.0, 1 - 0.025 ** 0.1))
    assert np.allclose(clopper_pearson_interval(10, 10), (0.025 ** 0.1, 1.0))


def test_success_table_counts_and_margins():
    fam = ["approach", "approach", "approach", "hunt", "hunt", "approach"]
    dist = [20, 20, 40, 20, 40, 40]
    succ = [True, False, True, False, True, True]
    t = success_table(fam, dist, succ, ("approach", "hunt"), (20, 40))
    assert t.episodes.tolist() == [[2, 2, 4], [1, 1, 2], [3, 3, 6]]
    assert t.successes.tolist() == [[1, 2, 3], [0, 1, 1], [1, 3, 4]]
    cell = t.cell("approach", 40)
    assert (cell["successes"], cell["episodes"], cell["rate"]) == (2, 2, 1.0)
    assert np.isclose(cell["ci_low"], wilson_by_hand(2, 2)[0])
    assert t.cell("overall", "all")["rate"] == pytest.approx(4 / 6)
    md = t.to_markdown()
    assert "| approach | 50.0 % [" in md and "(4/6)" in md and md.count("\n") == 4
    assert len(t.records()) == 3 * 3
    with pytest.raises(ValueError, match="outside"):
        success_table(["break"], [20], [True], ("approach",), (20,))


def test_task_list_is_deterministic_and_decodes():
    a = task_list(("hunt", "approach"), (40, 20), 3, seed0=5)
    b = task_list(("hunt", "approach"), (40, 20), 3, seed0=5)
    assert all((a[k] == b[k]).all() for k in a) and len(a["task_id"]) == 12
    seed, d, f = (np.asarray(x) for x in decode_task_id(a["task_id"]))
    assert seed.tolist() == [5, 6, 7] * 4
    assert d.tolist() == [1] * 3 + [0] * 3 + [1] * 3 + [0] * 3      # distance index (40 → 1, 20 → 0)
    assert f.tolist() == [3] * 6 + [0] * 6                            # family index (hunt 3, approach 0)
    with pytest.raises(ValueError):
        task_list(("swim",), (20,), 1)


# -- episode accounting on a scripted env --------------------------------------------------
@struct.dataclass
class _Task:
    task_id: jax.Array
    family: jax.Array
    distance: jax.Array


@struct.dataclass
class _State:
    task: _Task
    time: jax.Array
    seed: jax.Array


class CountdownEnv:
    """Scripted env: approach tasks succeed at every step ≥ seed % 3 + 1 (so success repeats after
    the first), hunt tasks never; reward 1 per step; rgb pixels hold the step count."""

    def action_space(self, params=None):
        return MultiDiscrete(A.NVEC, A.NAMES)

    def _obs(self, s):
        img = jnp.full((4, 4, 3), s.time, jnp.uint8)
        return {"rgb": img, "goal_rgb": img, "goal_mask": jnp.ones((4, 4), jnp.uint8), "family": s.task.family}

    def reset_to_task(self, task_id, params):
        seed, d, f = decode_task_id(task_id)
        s = _State(_Task(task_id, f, jnp.asarray((20, 40, 60))[d]), jnp.zeros((), jnp.int32), seed)
        return self._obs(s), s

    def step_env(self, key, s, action, params):
        s = s.replace(time=s.time + 1)
        success = (s.task.family == 0) & (s.time >= s.seed % 3 + 1)
        trunc = (s.time >= params.max_steps_in_episode) & ~success
        return self._obs(s), s, jnp.float32(1.0), success, trunc, {"success": success}


def test_evaluate_counts_first_success_and_stops_at_the_end():
    env, params = CountdownEnv(), from_config(TaskConfig())[2]
    calls = []
    r = evaluate(env, params, RandomPolicy(env), ("approach", "hunt"), (20, 60), 4, "unseen", max_steps=6, record=3,
                 batch_size=3, progress=lambda *a: calls.append(a))   # 16 episodes in 6 padded batches of 3
    done = [3, 6, 9, 12, 15, 16]
    assert calls == [(d, int(r.success[:d].sum()), 16) for d in done]    # running successes after each batch
    expect = np.asarray([s % 3 + 1 for s in range(4)] * 2)
    assert r.task_id.tolist() == task_list(("approach", "hunt"), (20, 60), 4)["task_id"].tolist()
    assert r.success.tolist() == [True] * 8 + [False] * 8
    assert r.success_step.tolist() == expect.tolist() + [-1] * 8
    assert r.length.tolist() == expect.tolist() + [6] * 8       # hunt: truncated by the time limit
    assert r.episode_return.tolist() == r.length.tolist()       # nothing counted after an episode ends
    assert r.distance.tolist() == [20] * 4 + [60] * 4 + [20] * 4 + [60] * 4
    assert [v["index"] for v in r.videos] == [0, 1, 2]
    assert [v["rgb"][:, 0, 0, 0].tolist() for v in r.videos] == [[0, 1], [0, 1, 2], [0, 1, 2, 3]]
    t = r.table()
    assert t.cell("approach", "all")["successes"] == 8 and t.cell("overall", "all")["episodes"] == 16


def test_batches_are_equal_and_results_do_not_depend_on_them():
    env, params = CountdownEnv(), from_config(TaskConfig())[2]
    runs = {}
    for b in (6, 3, 10):
        calls = []
        runs[b] = evaluate(env, params, RandomPolicy(env), ("approach",), (20,), 10, "unseen", max_steps=4,
                           batch_size=b, progress=lambda *a: calls.append(a[0]))
        runs[b, "done"] = calls
    # 10 episodes, at most 6 at a time: 2 batches of 5 (not 6 + 4 padded to 6); at most 3: 4 of 3.
    assert runs[6, "done"] == [5, 10] and runs[3, "done"] == [3, 6, 9, 10] and runs[10, "done"] == [10]
    for b in (3, 10):
        assert runs[b].success_step.tolist() == runs[6].success_step.tolist()
        assert runs[b].task_id.tolist() == runs[6].task_id.tolist()


def test_write_report_files(tmp_path):
    env, params = CountdownEnv(), from_config(TaskConfig())[2]
    r = evaluate(env, params, RandomPolicy(env), ("approach", "hunt"), (20,), 2, "train", max_steps=5, record=3)
    paths = write_report(r, tmp_path, "scripted", verbose=False)
    rep = json.loads((tmp_path / "eval.json").read_text())
    cells = {(c["family"], c["distance"]): c for c in rep["table"]}
    assert (cells["approach", 20]["successes"], cells["approach", 20]["episodes"]) == (2, 2)
    assert (cells["hunt", 20]["successes"], cells["overall", "all"]["successes"]) == (0, 2)
    assert rep["split"] == "train" and len(rep["episode_results"]) == 4 and len(rep["videos"]) == 3
    md = (tmp_path / "eval.md").read_text()
    assert md.startswith("# scripted") and "| **overall** | 50.0 % [" in md and "(2/4)" in md
    assert len(paths["gifs"]) == 3 and "hunt_20_seed0_fail" in paths["gifs"][2]
    gif = Image.open(paths["gifs"][0])
    assert gif.n_frames == 2 and gif.size[0] > 3 * gif.size[1]   # agent | goal | goal + mask


# -- the real task env, random and trained-network policies --------------------------------
def _tiny_run(tmp_path):
    """A run directory holding a checkpoint of an untrained recurrent goal_cnn on TINY_TASK."""
    from jaxcraft.config import EnvConfig, ExperimentConfig, RunConfig
    from jaxcraft.nets.goal import small_net_config
    from jaxcraft.ppo import PPOConfig
    from jaxcraft.train.run.checkpoint import Checkpointer
    from jaxcraft.build import make_trainer

    config = ExperimentConfig(name="tiny_eval", env=EnvConfig(name="jaxcraft:tasks", num_envs=2, rollout_len=4,
                                                                           reset_pool_size=2, pool_refresh_per_step=0),
                              net=small_net_config(channels=(8, 16), hidden=(32,), core_size=16),
                              ppo=PPOConfig(num_epochs=1, num_minibatches=1),
                              run=RunConfig(total_env_steps=8, progress=False, tensorboard=False), task=TINY_TASK)
    trainer = make_trainer(config)
    # The state's structure without compiling task synthesis or the network's init (both slow on
    # 2 cores); random weights stand in for trained ones.
    like = zeros_of(jax.eval_shape(trainer.init, jax.random.key(0)))
    rng = np.random.default_rng(0)
    params = jax.tree.map(lambda x: jnp.asarray(0.1 * rng.standard_normal(x.shape), x.dtype), like.ppo.params)
    Checkpointer(tmp_path / "checkpoints").save(3, like.replace(ppo=like.ppo.replace(params=params)), {"update": 3})
    (tmp_path / "config.json").write_text(config.to_json())
    return params


def test_evaluate_real_env_random_and_checkpoint_policy_share_tasks(tmp_path):
    saved = _tiny_run(tmp_path)
    net_policy, config = load_checkpoint_policy(tmp_path)
    assert config.task == TINY_TASK and net_policy.name == f"{tmp_path.name}@3"
    assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(saved), jax.tree.leaves(net_policy.params)))

    env, params = make_task_env(TINY_TASK)
    kw = dict(families=("approach", "hunt"), distances=(20,), episodes_per_cell=1, split="unseen", max_steps=6)
    a = evaluate(env, params, RandomPolicy(env), record=1, **kw)
    b = evaluate(env, params, net_policy, record=0, **kw)
    assert a.task_id.tolist() == b.task_id.tolist() == task_list(("approach", "hunt"), (20,), 1)["task_id"].tolist()
    assert a.family.tolist() == [0, 3] and a.distance.tolist() == [20, 20]
    for r in (a, b):
        assert r.success.shape == r.length.shape == (2,) and r.success.dtype == bool
        assert ((r.length == 6) | r.success).all() and (r.success == (r.success_step > 0)).all()
    v = a.videos[0]
    assert len(a.videos) == 1 and v["rgb"].shape == (a.length[0] + 1, 16, 16, 3) and v["goal_mask"].shape == (16, 16)
    assert v["goal_mask"].any()                                      # the target is in the goal view


def test_load_checkpoint_policy_errors_name_the_path(tmp_path):
    with pytest.raises(CheckpointError, match="no run directory"):
        load_checkpoint_policy(tmp_path / "nope")
    with pytest.raises(CheckpointError, match="config.json is missing"):
        load_checkpoint_policy(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not a readable experiment config"):
        load_checkpoint_policy(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"env": {"name": "jaxcraft:tasks"}}))
    with pytest.raises(CheckpointError, match="no checkpoints directory"):
        load_checkpoint_policy(tmp_path)
    (tmp_path / "checkpoints").mkdir()
    with pytest.raises(CheckpointError, match=f"no checkpoints in {tmp_path / 'checkpoints'}"):
        load_checkpoint_policy(tmp_path)


def test_expert_baseline_runs():
    pytest.importorskip("jaxcraft.tasks.expert")
    env, params = make_task_env(TINY_TASK)
    r = evaluate(env, params, ExpertPolicy(env, params), ("approach",), (20,), 2, "unseen", max_steps=8)
    assert r.success.shape == (2,) and r.policy == "expert" and (r.length <= 8).all()


def test_servo_baseline_runs():
    env, params = make_task_env(TINY_TASK)
    r = evaluate(env, params, ExpertPolicy(env, params, teacher="servo"), ("approach",), (20,), 2, "unseen",
                 max_steps=8)
    assert r.success.shape == (2,) and r.policy == "servo" and (r.length <= 8).all()


def test_cli_eval_pretrained_params(tmp_path, capsys):
    """Params saved by `jaxcraft pretrain` are evaluated with the experiment's network, bit for
    bit the saved weights; params of another network are a clear error (exit 2)."""
    from jaxcraft.config import load_experiment
    from jaxcraft.restore import load_pretrained_policy
    from jaxcraft.train.imitation.pretrain import save_params
    exp = tmp_path / "tiny.py"
    exp.write_text(textwrap.dedent("""
        from jaxcraft.config import EnvConfig, ExperimentConfig
        from jaxcraft.nets.goal import small_net_config
        from jaxcraft.tasks import TaskConfig
        CONFIG = ExperimentConfig(name="tiny", env=EnvConfig(name="jaxcraft:tasks"),
                                  net=small_net_config(channels=(8,), hidden=(16,), core_size=0),
                                  task=TaskConfig(frame_size=16, world_size=24, world_height=16, num_distractors=1,
                                                  families=("approach",), distances=(20,)))
    """))
    config = load_experiment(exp)
    env, params = make_task_env(config.task)
    from jaxcraft.build import make_network
    net = make_network(config.net, env.observation_space(params), env.action_space(params))
    obs = jax.tree.map(lambda s: jnp.zeros((1, 1) + s.shape, s.dtype), jax.eval_shape(env.reset_to_task, 0, params)[0])
    weights = net.init(jax.random.key(3), (), obs, jnp.zeros((1, 1), bool))
    save_params(tmp_path / "bc", weights)
    policy = load_pretrained_policy(tmp_path / "bc", config, env, params)
    assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(weights), jax.tree.leaves(policy.params)))
    out = tmp_path / "out"
    assert cli_main(["eval", str(tmp_path / "bc"), "--experiment", str(exp), "--episodes", "1", "--max-steps", "3",
                     "--videos", "0", "--out", str(out)]) == 0
    err = capsys.readouterr().err                 # not a terminal: plain progress lines, no carriage returns
    assert "eval: 1/1 episode" in err and "success=" in err and "\r" not in err
    assert json.loads((out / "eval.json").read_text())["episodes"] == 1
    other = make_network(dataclasses.replace(config.net, hidden=(8,)), env.observation_space(params),
                         env.action_space(params))
    save_params(tmp_path / "other", other.init(jax.random.key(0), (), obs, jnp.zeros((1, 1), bool)))
    capsys.readouterr()
    assert cli_main(["eval", str(tmp_path / "other"), "--experiment", str(exp), "--episodes", "1"]) == 2
    assert "do not fit this network" in capsys.readouterr().err
    # Without --experiment the config `jaxcraft pretrain` records beside its params is needed.
    assert cli_main(["eval", str(tmp_path / "bc"), "--episodes", "1"]) == 2
    assert "need their experiment" in capsys.readouterr().err


# -- command line ---------------------------------------------------------------------------
@pytest.mark.slow
def test_cli_eval_random_subprocess(tmp_path):
    exp = tmp_path / "tiny.py"
    exp.write_text(textwrap.dedent("""
        from jaxcraft.config import ExperimentConfig
        from jaxcraft.tasks import TaskConfig
        CONFIG = ExperimentConfig(name="tiny", task=TaskConfig(frame_size=16, world_size=24, world_height=16,
                                                               num_distractors=1))
    """))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "jaxcraft.cli", "eval", "random", "--episodes", "1", "--max-steps", "5",
           "--families", "approach", "--distances", "20", "--experiment", str(exp), "--out", str(out), "--videos", "1"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "| approach |" in p.stdout and (out / "eval.md").is_file() and len(list((out / "videos").iterdir())) == 1
    assert json.loads((out / "eval.json").read_text())["episodes"] == 1


@pytest.mark.parametrize("args, msg", [(["--families", "approach,swim"], "'swim'"), (["--distances", "30"], "'30'"),
                                       (["--episodes", "0"], "--episodes"), (["--temperature", "0"], "--temperature"),
                                       ([], "neither a run directory")])
def test_cli_eval_bad_arguments_exit_2(args, msg, capsys, tmp_path):
    checkpoint = str(tmp_path / "missing_run") if not args else "random"
    assert cli_main(["eval", checkpoint, *args]) == 2
    assert msg in capsys.readouterr().err


def test_checkpoint_problems_are_named_before_the_env_kind(tmp_path):
    """A run of another env kind (CartPole) asked for a step it does not have, or with unreadable
    checkpoint metadata: the step or the checkpoint is the problem named, not 'not a cross-view task'."""
    import pathlib
    from jaxcraft.config import load_experiment
    from jaxcraft.train.run.checkpoint import Checkpointer
    config = load_experiment(pathlib.Path(__file__).resolve().parents[1] / "train" / "_tiny_experiment.py")
    (tmp_path / "config.json").write_text(config.to_json())
    Checkpointer(tmp_path / "checkpoints").save(4, {"w": jnp.ones(2)}, {"update": 4})
    with pytest.raises(CheckpointError, match=r"no checkpoint at update 999 .*available: \[4\]"):
        load_checkpoint_policy(tmp_path, step=999)
    (tmp_path / "checkpoints" / "4" / "meta" / "metadata").write_text("{torn")
    with pytest.raises(CheckpointError, match="checkpoint at update 4 .* is corrupt"):
        load_checkpoint_policy(tmp_path)
    (tmp_path / "checkpoints" / "4" / "meta" / "metadata").write_text('{"update": 4}')
    with pytest.raises(CheckpointError, match="not a cross-view task env"):   # readable: now the env kind
        load_checkpoint_policy(tmp_path)
