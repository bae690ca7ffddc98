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
