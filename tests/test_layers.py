"""The layering of docs/architecture.md holds: imports point down only, ppo and bridge stand alone."""
import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]

# Layer of every jaxcraft package/module, bottom first (docs/architecture.md). A module may import
# its own layer or lower ones; the most specific name decides (`jaxcraft.train.run.loop` is in
# `jaxcraft.train.run`, not `jaxcraft.train`). Inside `train/`: the mesh and multi-process plumbing,
# then what every trainer shares (agent, learner, trajectory, `Trainer`), then the trainers and
# imitation, then the run loop that drives a trainer. The command line (`jaxcraft.cli`) is the top:
# nothing else imports it.
LAYERS = [
    {"jaxcraft.ppo", "jaxcraft.registry", "jaxcraft.progress", "jaxcraft.machine"},
    {"jaxcraft.config"},
    {"jaxcraft.envs"},
    {"jaxcraft.nets", "jaxcraft.world"},
    {"jaxcraft.tasks"},
    {"jaxcraft.train.multihost"},
    {"jaxcraft.train"},
    {"jaxcraft.train.fused", "jaxcraft.train.bridged", "jaxcraft.train.imitation"},
    {"jaxcraft.train.run"},
    {"jaxcraft.eval"},
    {"jaxcraft.build", "jaxcraft.restore", "jaxcraft.gym"},
    {"jaxcraft.cli"},
]
TOP = len(LAYERS) - 1


def layer_of(module: str) -> int:
    matches = [(len(n), i) for i, names in enumerate(LAYERS) for n in names
               if module == n or module.startswith(n + ".")]
    if matches:
        return max(matches)[1]
    if module == "jaxcraft":
        return 0
    raise AssertionError(f"{module} is in no layer: add it to LAYERS (and docs/architecture.md)")


def imports_of(path: pathlib.Path, module: str) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:   # relative import: resolve against the package
                base = module.rsplit(".", node.level)[0]
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            out.append((node.lineno, name))
    return out


def test_imports_point_down_the_layers():
    bad = []
    for path in sorted((ROOT / "jaxcraft").rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        module = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        # The package root is the public facade (lazy `jaxcraft.make_vec`): it may import anything below
        # the command line; everything may import it (it loads nothing at import time).
        mine = TOP - 1 if module == "jaxcraft" else layer_of(module)
        for line, name in imports_of(path, module):
            if name.startswith("jaxcraft.") and layer_of(name) > mine:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {name} (layer {layer_of(name)} > {mine})")
    assert not bad, "imports running up a layer:\n" + "\n".join(bad)


def test_registry_imports_nothing_of_jaxcraft():
    names = [n for _, n in imports_of(ROOT / "jaxcraft/registry.py", "jaxcraft.registry")]
    assert not [n for n in names if n.startswith("jaxcraft")], names


@pytest.mark.slow
def test_importing_jaxcraft_ppo_loads_no_other_jaxcraft_module():
    code = ("import sys, jaxcraft.ppo; "
            "print(sorted(m for m in sys.modules if m.startswith('jaxcraft') and not m.startswith('jaxcraft.ppo')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "['jaxcraft']", out.stdout


def test_family_names_agree_with_the_family_table():
    from jaxcraft.config.task import FAMILIES
    from jaxcraft.tasks.families import FAMILY_TABLE
    assert FAMILIES == tuple(f.name for f in FAMILY_TABLE)


def test_command_line_code_lives_in_jaxcraft_cli_only():
    """Every command-line module is in the `jaxcraft.cli` package (no `cli_*.py` in lower folders), and
    nothing outside it imports it."""
    strays = [str(p.relative_to(ROOT)) for p in (ROOT / "jaxcraft").rglob("cli*.py") if p.parent.name != "cli"]
    assert not strays, strays
    users = [f"{p.relative_to(ROOT)}:{line}" for p in sorted((ROOT / "jaxcraft").rglob("*.py"))
             if "cli" not in p.relative_to(ROOT).parts
             for line, name in imports_of(p, "jaxcraft") if name == "jaxcraft.cli" or name.startswith("jaxcraft.cli.")]
    assert not users, users
