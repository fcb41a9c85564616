"""Make `import bridge` find the package (see tests/bridge/conftest.py for why)."""
import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if sys.path[:1] != [_ROOT]:
    sys.path.insert(0, _ROOT)
_mod = sys.modules.get("bridge")
if _mod is not None and getattr(_mod, "__file__", None) is None:  # a namespace impostor
    for name in [m for m in sys.modules if m == "bridge" or m.startswith("bridge.")]:
        del sys.modules[name]
