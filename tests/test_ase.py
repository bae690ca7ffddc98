"""qc-sim as an ASE calculator agrees with qc-sim itself and with ASE's own EAM reader."""

import numpy as np
import pytest

from ase.build import bulk  # ASE is a test dependency: missing, this module fails to import

from qc_sim.ase import Calculator


@pytest.fixture
def cu_atoms():
    atoms = bulk("Cu", "fcc", a=3.615, cubic=True).repeat((3, 3, 3))
    atoms.rattle(stdev=0.05, seed=3)
    return atoms


def test_perfect_crystal_gives_the_published_cohesive_energy(lammps_potentials):
    # Foiles, Baskes & Daw, Phys. Rev. B 33 (1986) 7983: Cu E_c = 3.54 eV at a = 3.615 Å
    atoms = bulk("Cu", "fcc", a=3.615, cubic=True).repeat((3, 3, 3))
    atoms.calc = Calculator(potential=str(lammps_potentials / "Cu_u3.eam"), backend="cpu")
    assert atoms.get_potential_energy() / len(atoms) == pytest.approx(-3.54, abs=1e-6)
    assert np.abs(atoms.get_forces()).max() < 1e-12
    assert np.abs(atoms.get_stress()).max() < 1e-3  # eV/Å^3: at the tabulated lattice constant


def test_energy_forces_stress(cu_atoms, lammps_potentials):
    cu_atoms.calc = Calculator(potential=str(lammps_potentials / "Cu_u3.eam"), backend="cpu")
    e = cu_atoms.get_potential_energy()
    f = cu_atoms.get_forces()
    assert np.abs(f).max() > 0.1  # rattled: the forces are not trivially zero
    assert np.abs(f.sum(axis=0)).max() < 1e-10
    assert cu_atoms.get_potential_energies().sum() == pytest.approx(e, rel=1e-12)
    # stress against finite differences of the energy in strain
    stress = cu_atoms.get_stress(voigt=False)
    h = 1e-6
    cell = cu_atoms.get_cell().copy()
    pos = cu_atoms.get_positions().copy()
    for a in range(3):
        eps = np.eye(3)
        eps[a, a] += h
        cu_atoms.set_cell(cell @ eps, scale_atoms=False)
        cu_atoms.set_positions(pos @ eps)
        ep = cu_atoms.get_potential_energy()
        eps[a, a] -= 2 * h
        cu_atoms.set_cell(cell @ eps, scale_atoms=False)
        cu_atoms.set_positions(pos @ eps)
        em = cu_atoms.get_potential_energy()
        fd = (ep - em) / (2 * h) / cu_atoms.get_volume()
        assert stress[a, a] == pytest.approx(fd, abs=1e-7)
        cu_atoms.set_cell(cell, scale_atoms=False)
        cu_atoms.set_positions(pos)


def test_agrees_with_ase_eam_calculator_on_a_setfl_file(cu_atoms, lammps_potentials):
    """ASE's own EAM calculator reads the same setfl tables; it interpolates them with SciPy
    splines, so agreement is to interpolation error (on a 10,000-point table, ~1e-9).
    (Not funcfl: ASE converts Z(r) with CODATA Hartree and Bohr, LAMMPS with 27.2 * 0.529,
    a 0.08 % difference in the pair term; qc-sim follows LAMMPS.)"""
    from ase.calculators.eam import EAM

    path = str(lammps_potentials / "Cu_mishin1.eam.alloy")
    ours = cu_atoms.copy()
    ours.calc = Calculator(potential=path, backend="numpy")
    theirs = cu_atoms.copy()
    theirs.calc = EAM(potential=path)
    assert ours.get_potential_energy() == pytest.approx(theirs.get_potential_energy(), rel=1e-10)
    assert np.abs(ours.get_forces() - theirs.get_forces()).max() < 1e-8


def _lj_direct(x, epsilon, sigma, cutoff, shift=False):
    """Energy, per-atom energies and forces of an open cluster, pair by pair (i < j) with
    the pair energy 4 eps ((s/r)^12 - (s/r)^6) cut at ``cutoff`` (less its value there when
    ``shift``): an evaluation written here, independent of qc-sim's neighbour lists."""
    i, j = np.triu_indices(len(x), k=1)
    d = x[i] - x[j]
    r = np.linalg.norm(d, axis=1)
    keep = r < cutoff
    i, j, d, r = i[keep], j[keep], d[keep], r[keep]
    sr6 = (sigma / r) ** 6
    e = 4 * epsilon * (sr6 * sr6 - sr6)
    if shift:
        e -= 4 * epsilon * ((sigma / cutoff) ** 12 - (sigma / cutoff) ** 6)
    g = 24 * epsilon * (2 * sr6 * sr6 - sr6) / r**2  # -dphi/dr / r
    f = np.zeros_like(x)
    np.add.at(f, i, g[:, None] * d)
    np.add.at(f, j, -g[:, None] * d)
    sites = np.zeros(len(x))
    np.add.at(sites, i, 0.5 * e)
    np.add.at(sites, j, 0.5 * e)
    return e.sum(), sites, f


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
@pytest.mark.parametrize("shift", [False, True])
def test_pair_spec_and_open_boundaries(backend, shift):
    """A rattled open LJ cluster given as a spec: energy, per-atom energies and forces equal
    the direct pair sum to round-off (1e-12 relative; a swapped sigma and epsilon, an ignored
    cutoff or a missing shift would differ by far more), and the forces sum to zero."""
    from ase.cluster import Octahedron

    cluster = Octahedron("Ar", 4, latticeconstant=5.26)
    cluster.rattle(stdev=0.1, seed=5)
    spec = {"style": "lj", "epsilon": 0.0104, "sigma": 3.4, "cutoff": 8.5}
    if shift:
        spec["shift"] = True
    cluster.calc = Calculator(potential=spec, backend=backend)
    f = cluster.get_forces()
    assert np.abs(f.sum(axis=0)).max() < 1e-12
    e, sites, f_ref = _lj_direct(cluster.positions, 0.0104, 3.4, 8.5, shift)
    assert cluster.get_potential_energy() == pytest.approx(e, rel=1e-12)
    assert np.abs(cluster.get_potential_energies() - sites).max() < 1e-12 * abs(e)
    assert np.abs(f - f_ref).max() < 1e-12 * np.abs(f_ref).max()
    pairs = np.triu_indices(len(cluster), k=1)
    r = np.linalg.norm(cluster.positions[pairs[0]] - cluster.positions[pairs[1]], axis=1)
    assert (r > 8.5).any() and (r < 8.5).any()  # the cutoff excludes some pairs
