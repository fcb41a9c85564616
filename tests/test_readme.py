"""The README's PPO-reuse example runs as written."""
import pathlib
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_readme_reuse_example_runs():
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    example = next(b for b in blocks if "make_train" in b)
    assert len(example.strip().splitlines()) <= 14
    out = subprocess.run([sys.executable, "-c", example], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    # Acrobot returns lie in [-500, 0]; a number was printed.
    assert -500.0 <= float(out.stdout.strip().splitlines()[-1]) <= 0.0
