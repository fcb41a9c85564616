"""The memory estimate (issue 14 item 7): abstract shapes only, checked before compiling."""
import pathlib

from jaxcraft.cli import main
from jaxcraft.train.fused.memory_estimate import estimate_fused

TINY = pathlib.Path(__file__).parent / "_tiny_experiment.py"


def test_trajectory_bytes_are_the_hand_count_for_cartpole(tiny_trainer):
    config, trainer = tiny_trainer
    est = estimate_fused(trainer)
    # Per step: obs f32[4] 16 B; action, log_prob, value, reward, v_final, episode_return,
    # episode_length 4 B each (28 B); terminated, truncated, reset, success 1 B each (4 B) = 48 B.
    # Plus bootstrap_value f32[B]; the feed-forward net has no carry and no KL reference logits.
    T, B = config.env.rollout_len, config.env.num_envs
    assert est.trajectory_bytes == T * B * 48 + 4 * B
    assert est.batch_bytes == est.trajectory_bytes + 8 * T * B
    assert 0 < est.state_bytes < 1_000_000


def test_a_billion_envs_are_refused_before_compiling(tmp_path, capsys):
    rc = main(["train", str(TINY), "--run-dir", str(tmp_path / "big"), "--set", "env.num_envs=1000000000",
               "--set", "run.total_env_steps=16000000000"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1, err
    assert "env.num_envs=1000000000" in err and "exceeds this host's memory" in err
    assert "trajectory 772.0 GB" in err            # 1e9 · 16 steps · 48 B (+ 4 GB bootstrap values)
    assert not (tmp_path / "big" / "checkpoints").exists()
