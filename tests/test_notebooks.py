"""Every notebook executes top to bottom in its small mode."""
import json
import pathlib

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def check_entropy_kl(outputs: str, out_dir: pathlib.Path) -> None:
    assert "final return" in outputs


def check_rocket3_ablations(outputs: str, out_dir: pathlib.Path) -> None:
    summary = json.loads((out_dir / "summary.json").read_text())
    arms = ("recipe", "no KL", "scratch", "hard only")
    assert summary["small"] and tuple(summary["arms"]) == arms
    for arm in arms:   # finite curves of shape [seeds, updates] for every arm
        for curve in summary["arms"][arm].values():
            c = np.asarray(curve, float)
            assert c.shape == (len(summary["seeds"]), summary["updates"]) and np.isfinite(c).all(), arm
    cells = {(r["arm"], r["distance"]): r for r in summary["table"]}
    per_policy = cells[("cloned (no RL)", "all")]["episodes"]   # the cloned policy: one evaluation
    assert per_policy > 0
    for arm in arms:   # every seed of every arm scored on the same tasks, pooled in its row
        assert cells[(arm, "all")]["episodes"] == len(summary["seeds"]) * per_policy, arm


CHECKS = {"ablation_entropy_kl.ipynb": check_entropy_kl, "rocket3_ablations.ipynb": check_rocket3_ablations}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path, monkeypatch, tmp_path):
    assert path.name in CHECKS, f"{path.name} has no output check in CHECKS"
    monkeypatch.setenv("JAXCRAFT_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("JAXCRAFT_NOTEBOOK_OUT", str(tmp_path))
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    CHECKS[path.name](outputs, tmp_path)
