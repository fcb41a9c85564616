"""The experiment file as a module (tests import its CONFIG)."""
import importlib.util
import pathlib

_path = pathlib.Path(__file__).resolve().parents[2] / "experiments" / "minetest_approach.py"
_spec = importlib.util.spec_from_file_location("minetest_approach", _path)
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
CONFIG = _mod.CONFIG
