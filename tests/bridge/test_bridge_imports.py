import pytest
import subprocess
import sys

pytestmark = pytest.mark.slow


def test_bridge_never_imports_jax():
    code = ("import sys, bridge, bridge.pool, bridge.vector_env, bridge.crossview, bridge.adapters.load_sim, "
            "bridge.adapters.gymnasium_env, bridge.adapters.minerl_env, bridge.adapters.crafter_env\n"
            "bad = sorted(m for m in sys.modules if m == 'jax' or m.startswith(('jax.', 'jaxcraft')))\n"
            "print(bad)\nsys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
