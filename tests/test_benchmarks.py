"""Every benchmark script loads and parses its arguments (its imports still exist).

The benchmarks time real work, so the suite does not run them; this catches the failure that
bit `train_throughput.py` once: an import of a function that had moved (`build_trainer`)."""
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "benchmarks").glob("*.py"))


def test_there_are_benchmarks():
    assert len(SCRIPTS) >= 5, SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
@pytest.mark.slow
def test_benchmark_script_loads(script):
    r = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=300,
                       cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "usage:" in r.stdout
