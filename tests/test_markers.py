"""The `slow` marker is on exactly the multi-process, notebook, Minetest and learning tests.

`make test-fast` (`pytest -m "not slow"`) is the day-to-day loop; `make test` (CI) runs them all.
The oracle here reads what each collected test *does*, not its marks. A test is slow iff:
  1. it lives in tests/pods, tests/bridged or tests/minetest (trainers over several processes,
     the Minetest engine), or it runs a notebook (tests/test_notebooks.py); or
  2. it starts another Python interpreter (`subprocess` / `sys.executable` /
     `rerun_under_default_codegen`): in its own body, in a
     fixture of its module or of a conftest.py that it requests, or in a module-level helper
     function that its body calls; or
  3. its name says that it checks learning: `…_learns…`, `…_improves…`, `…_solves…`,
     `…_succeeds…`, `…_trains…`.
Under `-m "not slow"` the slow tests are deselected, and this test still checks that none of the
remaining ones should have been marked.
"""
import ast
import functools
import pathlib
import re

TESTS = pathlib.Path(__file__).resolve().parent
SLOW_DIRS = ("pods", "bridged", "minetest")
SLOW_FILES = ("test_notebooks.py",)
LEARNING = re.compile(r"_(learns|improves|solves|succeeds|trains)(_|$)")
# `rerun_under_default_codegen` (tests/_codegen.py) runs the calling test again in a child interpreter.
STARTS_INTERPRETER = re.compile(r"\bsubprocess\.|\bsys\.executable\b|\brerun_under_default_codegen\(")


@functools.lru_cache(maxsize=None)
def _functions(path: pathlib.Path) -> dict:
    """Module-level function name → source text of `path` (tests, fixtures and helpers)."""
    text = path.read_text()
    tree = ast.parse(text)
    return {node.name: ast.get_source_segment(text, node) for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


def _conftests(path: pathlib.Path) -> list:
    """The conftest.py files whose fixtures a test in `path` can request (nearest first)."""
    return [d / "conftest.py" for d in [path.parent, *path.parent.parents] if (d / "conftest.py").is_file()
            and TESTS in [d, *d.parents]]


def _starts_interpreter(path: pathlib.Path, name: str, fixturenames) -> bool:
    own = _functions(path)
    body = own.get(name, "")
    called = {n.id for n in ast.walk(ast.parse(body)) if isinstance(n, ast.Name)} if body else set()
    sources = [body] + [own[n] for n in called if n in own and n != name]
    for fixture in fixturenames:
        for module in [path, *_conftests(path)]:
            if fixture in _functions(module):
                sources.append(_functions(module)[fixture])
                break
    return any(STARTS_INTERPRETER.search(s) for s in sources)


def is_slow(item) -> bool:
    path = pathlib.Path(str(item.fspath)).resolve()
    rel = path.relative_to(TESTS)
    name = item.originalname if hasattr(item, "originalname") else item.name
    return (rel.parts[0] in SLOW_DIRS or rel.name in SLOW_FILES
            or _starts_interpreter(path, name, getattr(item, "fixturenames", ()))
            or bool(LEARNING.search(name)))


def test_slow_marker_is_on_exactly_the_slow_kinds(request):
    items = [i for i in request.session.items if pathlib.Path(str(i.fspath)).resolve().is_relative_to(TESTS)]
    assert any(i.name == request.node.name for i in items)
    wrong = [f"{i.nodeid}: {'marked slow, but is not' if i.get_closest_marker('slow') else 'slow, but not marked'}"
             for i in items if bool(i.get_closest_marker("slow")) != is_slow(i)]
    assert not wrong, "\n".join(wrong)


def test_the_oracle_sees_each_kind():
    # Hand-picked tests of each kind (by the rules above), and fast ones that must stay fast.
    class Item:
        def __init__(self, rel, name, fixturenames=()):
            self.fspath, self.originalname, self.name, self.fixturenames = TESTS / rel, name, name, fixturenames
    assert is_slow(Item("test_notebooks.py", "test_notebook_runs"))
    assert is_slow(Item("pods/test_pods.py", "test_bridged_cartpole_on_two_processes"))
    assert is_slow(Item("test_experiments.py", "test_experiment_file_is_documented_and_smoke_runs"))
    assert is_slow(Item("train/test_imitation.py", "test_pretrain_learns_and_params_reach_the_trainer"))
    assert not is_slow(Item("eval/test_eval.py", "test_wilson_interval_matches_hand_values"))
    assert not is_slow(Item("train/test_imitation.py", "test_sample_windows_matches_a_python_loop"))
