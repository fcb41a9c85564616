"""jaxcraft.eval.seed_report: eval.json round trip and the seed-study table (hand-counted)."""
import numpy as np
import pytest

from jaxcraft.eval import EvalResult, write_report
from jaxcraft.eval.seed_report import main, read_report, seed_study_markdown


def result(success, name="p"):
    n = len(success)
    z = np.zeros(n, np.int64)
    return EvalResult(task_id=np.arange(10, 10 + n), family=z, distance=np.full(n, 20), seed=np.arange(n),
                      success=np.asarray(success, bool), success_step=np.where(success, 7, -1), length=np.full(n, 9),
                      episode_return=np.linspace(0, 1, n), families=("approach",), distances=(20,),
                      episodes_per_cell=n, split="unseen", max_steps=9, seed0=0, policy=name)


def test_read_report_returns_what_write_report_saved(tmp_path):
    r = result([1, 0, 0, 1, 1], "cloned")
    write_report(r, tmp_path / "e", "t", verbose=False)
    back = read_report(tmp_path / "e")
    for f in ("task_id", "family", "distance", "seed", "success", "success_step", "length", "episode_return"):
        np.testing.assert_array_equal(getattr(back, f), getattr(r, f), err_msg=f)
    assert (back.policy, back.split, back.distances, back.families) == ("cloned", "unseen", (20,), ("approach",))


def test_table_gives_per_seed_counts_spread_and_pooled_interval():
    md = seed_study_markdown({"cloned": [result([1, 0, 0, 0]), result([1, 1, 0, 0]), result([0, 0, 0, 0])],
                              "random": [result([0, 0, 0, 0])]})
    rows = md.splitlines()
    assert rows[2].startswith("| cloned | 3 | 1/4, 2/4, 0/4 |")
    # seed rates 0.25, 0.5, 0: mean 25 %, sample sd 25 %; pooled 3/12 with Wilson [8.9, 53.2] (hand-computed)
    assert "| 25.0 % ± 25.0 |" in rows[2] and rows[2].endswith("| 25.0 % [8.9, 53.2] (3/12) |")
    assert rows[3] == "| random | 1 | 0/4 | 0.0 % (one seed) | 0.0 % [0.0, 49.0] (0/4) |"


def test_cli_rejects_a_directory_without_a_report(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--policy", "cloned", str(tmp_path)])
    assert "not a jaxcraft eval report" in capsys.readouterr().err


def test_cli_writes_the_table_and_the_machine(tmp_path, capsys):
    for s, success in enumerate(([1, 0], [0, 0])):
        write_report(result(success, f"s{s}"), tmp_path / f"s{s}", "t", verbose=False)
    assert main(["--policy", "cloned", str(tmp_path / "s0"), str(tmp_path / "s1"), "--out", str(tmp_path / "t.md")]) == 0
    text = (tmp_path / "t.md").read_text()
    assert "| cloned | 2 | 1/2, 0/2 |" in text and "\nMachine: " in text and " cores." in text
    assert "| cloned | 2 |" in capsys.readouterr().out
