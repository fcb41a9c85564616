"""XLA:CPU code generation for the suite, and the three tests that need XLA's default.

The suite compiles with `--xla_cpu_use_fusion_emitters=false` (tests/conftest.py): XLA's newer
fusion emitters cost a third of the suite's compile time (measured: 1,601 → 1,094 s of worker
time, a cold cache, AMD EPYC family 25 model 17; docs/testing.md) and a test program runs for milliseconds. Both
code generators give bit-identical results *within* one program, and the float-exact comparisons
of the suite compare programs compiled with the same flags. Three tests compare frames rendered by
*separately compiled* programs bit for bit (demo replay; the world stepped through a bridge worker
against direct calls; a task reset's views against renders of their own cameras); under the older emitters the two programs round a camera ray differently
and the odd texel differs by a few levels. That bit-exactness is a property of XLA's default CPU
code generation — what users run — so those tests run themselves again in a child interpreter
with it (`rerun_under_default_codegen`), against the same oracle.
"""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]

SUITE_XLA_FLAGS = "--xla_backend_optimization_level=0 --xla_cpu_use_fusion_emitters=false"
DEFAULT_CODEGEN_XLA_FLAGS = "--xla_backend_optimization_level=0"
_CHILD = "JAXCRAFT_TEST_DEFAULT_CODEGEN"


def in_default_codegen() -> bool:
    """Is this the child interpreter that `rerun_under_default_codegen` started?"""
    return os.environ.get(_CHILD) == "1"


def rerun_under_default_codegen(nodeid: str) -> None:
    """Run the test `nodeid` in a fresh interpreter compiling with XLA's default fusion emitters
    (the same persistent cache, O0 kept); raise with its output if it did not pass."""
    env = {**os.environ, _CHILD: "1", "XLA_FLAGS": DEFAULT_CODEGEN_XLA_FLAGS}
    env.pop("PYTEST_XDIST_WORKER", None)
    cmd = [sys.executable, "-m", "pytest", nodeid, "-q", "-p", "no:xdist", "-p", "no:cacheprovider", "-p", "no:randomly"]
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    if r.returncode != 0 or " passed" not in r.stdout:
        raise AssertionError(f"{nodeid} under XLA's default CPU codegen:\n{r.stdout[-6000:]}\n{r.stderr[-3000:]}")
