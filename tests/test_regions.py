"""The region interface (docs/design.md section 8): the mechanical regions speak it too, and a region
restarts bitwise from its state fields."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qc_sim.atomistic.random import maxwell_boltzmann_velocities
from qc_sim.atomistic.region import AtomisticRegion
from qc_sim.atomistic.system import AtomisticSystem
from qc_sim.backend import get_device
from qc_sim.continuum.fem import ContinuumRegion
from qc_sim.continuum.linear_elastic import LinearElastic
from qc_sim.continuum.mesh import delaunay_mesh
from qc_sim.geometry import build_crystal, fcc
from qc_sim.potentials import lennard_jones
from qc_sim.regions.base import Region

LJ = lennard_jones(0.0104, 3.4, 8.5)


def _atomistic(device, repeats=(3, 3, 3)):
    atoms = build_crystal(fcc(5.26), repeats=repeats, species=("Ar",), masses=(39.948,))
    system = AtomisticSystem(atoms, LJ, device, skin=0.5)
    v = maxwell_boltzmann_velocities(atoms.atom_masses, atoms.ids, 40.0, seed=5)
    return AtomisticRegion(system, v)


def _continuum():
    g = np.linspace(0.0, 10.0, 6)
    nodes = np.array([[x, y] for x in g for y in g])
    mesh = delaunay_mesh(nodes)
    held = np.any((mesh.nodes < 1e-9) | (mesh.nodes > 10 - 1e-9), axis=1)
    return ContinuumRegion(mesh, LinearElastic.isotropic(1.0, 0.5, dim=2), held=held)


def test_the_mechanical_regions_speak_the_interface():
    device = get_device("numpy")
    for region in (_atomistic(device), _continuum()):
        assert isinstance(region, Region)
        assert region.physics in ("atomistic", "linear_elastic")
        assert set(region.thermo()) and len(region.entity_costs()) > 0


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_atomistic_region_restarts_bitwise_from_its_state_fields(backend):
    device = get_device(backend)
    whole = _atomistic(device)
    dt = 0.01
    whole.advance(dt)
    whole.advance(dt)
    first = _atomistic(device)
    first.advance(dt)
    fields = first.state_fields()
    resumed = _atomistic(device)
    resumed.load_state_fields(fields)
    resumed.advance(dt)
    a, b = whole.state_fields(), resumed.state_fields()
    for key in ("positions", "velocities", "step"):
        assert np.array_equal(a[key], b[key]), key


def test_atomistic_stable_time_step_from_the_largest_normal_mode():
    """Power iteration on force differences against the largest eigenvalue of the full
    mass-weighted Hessian (finite differences of forces, 2 x 2 x 2 cells, 32 atoms)."""
    from qc_sim.units import FTM2V

    device = get_device("numpy")
    region = _atomistic(device, repeats=(2, 2, 2))
    s = region.system
    x0 = np.array(s.positions)
    n = x0.size
    H = np.zeros((n, n))
    h = 1e-4
    for k in range(n):
        e = np.zeros(n)
        e[k] = h
        s.set_positions(x0 + e.reshape(x0.shape))
        fp = np.array(s.compute(energy=False, virial=False).forces).reshape(-1)
        s.set_positions(x0 - e.reshape(x0.shape))
        fm = np.array(s.compute(energy=False, virial=False).forces).reshape(-1)
        H[:, k] = -(fp - fm) / (2 * h)
    s.set_positions(x0)
    m = np.repeat(np.array(s.masses), 3)
    omega_max = math.sqrt(np.linalg.eigvalsh(0.5 * (H + H.T) / np.sqrt(np.outer(m, m))).max()
                          * FTM2V)
    assert region.stable_time_step(iterations=60) == pytest.approx(0.2 / omega_max, rel=0.03)


def test_continuum_region_advances_to_equilibrium_under_a_moved_boundary():
    region = _continuum()
    F = np.array([[1.01, 0.004], [-0.002, 0.995]])
    X = region.mesh.nodes
    region.imports({"held_positions": X[region.held] @ F.T})
    region.advance(1.0)
    assert region.stable_time_step() == math.inf
    assert np.allclose(region.x, X @ F.T, atol=1e-10)  # the patch test of P1 elements
    assert region.thermo()["max_force"] < 1e-8
    fields = region.state_fields()
    other = _continuum()
    other.load_state_fields(fields)
    assert np.array_equal(other.exports()["displacement"], region.exports()["displacement"])
