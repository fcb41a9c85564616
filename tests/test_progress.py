"""Progress bars: a terminal gets tqdm's in-place bar; anything else gets plain lines, at most
one per interval, and a final line."""
import io

import pytest

from jaxcraft.progress import EpisodeProgress, interval_seconds, progress_bar


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_not_a_terminal_gives_plain_lines_with_counts_and_eta():
    out = io.StringIO()
    bar = progress_bar(total=40, desc="demos", unit="episode", file=out, interval=0.0)
    for i in range(4):
        bar.set_postfix(success=i, refresh=False)
        bar.update(10)
    bar.close()
    text = out.getvalue()
    assert "\r" not in text and "\x1b" not in text and text.endswith("\n")
    lines = text.splitlines()
    assert lines[0].startswith("demos: 0/40 episode (0%)")
    assert lines[-1].startswith("demos: 40/40 episode (100%)") and "success=3" in lines[-1]
    assert any("10/40" in ln for ln in lines) and all("<" in ln for ln in lines)   # elapsed<remaining (ETA)


def test_interval_bounds_the_number_of_lines():
    out = io.StringIO()
    bar = progress_bar(total=1000, desc="train", file=out, interval=1e9)
    for _ in range(1000):
        bar.update(1)
    bar.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[-1].startswith("train: 1000/1000")        # the first and the final line


def test_a_terminal_gets_the_in_place_bar():
    out = _Terminal()
    bar = progress_bar(total=10, desc="eval", file=out)
    bar.update(10)
    bar.close()
    assert "\r" in out.getvalue()


def test_episode_progress_counts_successes():
    out = io.StringIO()
    p = EpisodeProgress(10, "eval", file=out, interval=0.0)
    p.add(4, 1)
    p.add(4, 2)
    p(10, 5)
    p.close()
    lines = out.getvalue().splitlines()
    assert "4/10" in lines[1] and "success=1/4 (25.0%)" in lines[1]
    assert "8/10" in lines[2] and "success=3/8 (37.5%)" in lines[2]
    assert lines[-1].startswith("eval: 10/10") and "success=5/10 (50.0%)" in lines[-1]


def test_interval_from_the_environment(monkeypatch):
    monkeypatch.setenv("JAXCRAFT_PROGRESS_INTERVAL", "5")
    assert interval_seconds() == 5.0
    monkeypatch.setenv("JAXCRAFT_PROGRESS_INTERVAL", "soon")
    with pytest.raises(ValueError, match="JAXCRAFT_PROGRESS_INTERVAL"):
        interval_seconds()
    monkeypatch.delenv("JAXCRAFT_PROGRESS_INTERVAL")
    assert interval_seconds() == 30.0


def test_train_metrics_logger_uses_the_shared_bar_and_sinks(tmp_path, capsys):
    import numpy as np

    from jaxcraft.train.run.metrics import MetricsLogger, read_metrics

    logger = MetricsLogger(tmp_path, total_updates=2, steps_per_update=4, tensorboard=True, progress=True)
    logger.log({"update": np.asarray([1, 2]), "loss": np.asarray([0.5, 0.25]), "episodes": np.asarray([0, 3]),
                "episode_return": np.asarray([0.0, 1.5])}, seconds=1.0)
    logger.close()
    rows = read_metrics(tmp_path / "metrics.jsonl", deterministic_only=True)
    assert rows == [{"update": 1, "loss": 0.5, "episodes": 0.0, "episode_return": 0.0, "env_steps": 4},
                    {"update": 2, "loss": 0.25, "episodes": 3.0, "episode_return": 1.5, "env_steps": 8}]
    assert list((tmp_path / "tb").iterdir())
    err = capsys.readouterr().err
    assert "\r" not in err and err.splitlines()[-1].startswith("train: 8.00/8.00 step") and "return=1.50" in err
