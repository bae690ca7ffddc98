"""The continuum region: Cauchy-Born against the atoms, finite elements against their
promises (finite-difference forces, the patch test)."""

from __future__ import annotations

import numpy as np
import pytest

from qc_sim.atomistic.system import AtomisticSystem
from qc_sim.backend import get_device
from qc_sim.continuum.cauchy_born import CauchyBorn, is_bravais
from qc_sim.continuum.fem import ContinuumRegion
from qc_sim.continuum.mesh import Mesh, delaunay_mesh, lattice_points
from qc_sim.geometry import Sphere, bcc, build_crystal, fcc, keep, triangular
from qc_sim.geometry.lattice import Lattice
from qc_sim.potentials import lennard_jones
from qc_sim.potentials.eam import Eam
from qc_sim.properties.bulk import bulk_properties, equilibrium_lattice


@pytest.fixture(scope="module")
def mishin(lammps_potentials):
    pot = Eam.from_file(lammps_potentials / "Cu_mishin1.eam.alloy")
    return pot, bulk_properties(pot, "Cu", "fcc", get_device("cpu"))


def random_F(rng, size, dim=3):
    return np.eye(dim) + rng.uniform(-size, size, (dim, dim))


def site_energy_of_strained_crystal(pot, lattice, F, species="Cu"):
    """The per-atom energy of the homogeneously deformed crystal, from the atomistic engine:
    the centre atom of a cluster larger than the cutoff (its site energy depends only on its
    own neighbours, all present)."""
    atoms = build_crystal(lattice, (7, 7, 7), periodic=(False,) * 3, species=(species,),
                          masses=(1.0,))
    centre = atoms.box.lengths / 2
    atoms = keep(atoms, Sphere(tuple(centre), 2.2 * pot.cutoff))
    k = int(np.argmin(np.linalg.norm(atoms.positions - centre, axis=1)))
    atoms.positions = (atoms.positions - atoms.positions[k]) @ F.T + 50.0
    system = AtomisticSystem(atoms, pot, get_device("cpu"), skin=0.3)
    return float(np.asarray(system.compute(energy=True, virial=False).site_energy)[k])


def test_cauchy_born_energy_density_is_the_strained_crystal_energy(mishin):
    pot, bulk = mishin
    lattice = fcc(bulk.lattice_constant)
    cb = CauchyBorn(pot, lattice)
    rng = np.random.default_rng(0)
    for _ in range(5):
        F = random_F(rng, 0.03)
        expected = site_energy_of_strained_crystal(pot, lattice, F) / lattice.atomic_volume
        assert cb.energy(F) == pytest.approx(expected, rel=1e-10)


def test_cauchy_born_stress_is_the_energy_derivative(mishin):
    pot, bulk = mishin
    cb = CauchyBorn(pot, fcc(bulk.lattice_constant))
    F = random_F(np.random.default_rng(1), 0.05)
    P = cb.stress(F)
    h = 1e-6
    for a in range(3):
        for b in range(3):
            dF = np.zeros((3, 3))
            dF[a, b] = h
            fd = (cb.energy(F + dF) - cb.energy(F - dF)) / (2 * h)
            assert P[a, b] == pytest.approx(fd, rel=1e-6, abs=1e-9)


def test_cauchy_born_moduli_equal_the_atomistic_elastic_constants(mishin):
    """Done-when: to 0.1 GPa, EAM Cu (here to 1e-4 GPa)."""
    pot, bulk = mishin
    c = CauchyBorn(pot, fcc(bulk.lattice_constant)).cubic_moduli()
    assert np.abs(np.array(c) - [bulk.C11, bulk.C12, bulk.C44]).max() < 1e-3


def test_cauchy_born_moduli_for_lennard_jones():
    pot = lennard_jones(0.0104, 3.4, 8.5, species=("Ar",))
    bulk = bulk_properties(pot, "Ar", "fcc", get_device("cpu"))
    c = CauchyBorn(pot, fcc(bulk.lattice_constant)).cubic_moduli()
    assert np.abs(np.array(c) - [bulk.C11, bulk.C12, bulk.C44]).max() < 1e-3
    assert c[1] == pytest.approx(c[2], rel=1e-6)  # Cauchy relation of a pair potential at P = 0


def test_bcc_and_triangular_are_bravais_a_two_site_basis_is_not():
    assert is_bravais(fcc(1.0)) and is_bravais(bcc(1.0)) and is_bravais(triangular(1.0))
    diamond = Lattice("diamond", 1.0, np.eye(3), np.array(
        [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5], [0.25, 0.25, 0.25],
         [0.75, 0.75, 0.25], [0.75, 0.25, 0.75], [0.25, 0.75, 0.75]]))
    assert not is_bravais(diamond)
    with pytest.raises(ValueError, match="more than one site per primitive cell"):
        CauchyBorn(lennard_jones(1.0, 1.0, 2.5), diamond)


def graded_mesh_2d(a=1.1225):
    lat = triangular(a)
    pts = lattice_points(lat, (0, 0), (40 * a, 40 * a * 3**0.5 / 2), (15 * a, 15 * a),
                         (25 * a, 20 * a), rate=0.3)
    return lat, delaunay_mesh(pts)


def graded_mesh_3d(a=2.855):
    lat = bcc(a)
    pts = lattice_points(lat, (0, 0, 0), (8 * a,) * 3, (3 * a,) * 3, (5 * a,) * 3, rate=0.5)
    return lat, delaunay_mesh(pts)


@pytest.mark.parametrize("dim", [2, 3])
def test_patch_test_on_graded_meshes(dim, lammps_potentials):
    """Any homogeneous deformation of the boundary leaves zero force on every interior node,
    to round-off (P1 elements represent linear fields exactly)."""
    if dim == 2:
        lat, mesh = graded_mesh_2d()
        material = CauchyBorn(lennard_jones(1.0, 1.0, 2.5), lat)
    else:
        lat, mesh = graded_mesh_3d()
        material = CauchyBorn(Eam.from_file(lammps_potentials / "Fe_mm.eam.fs"), lat)
    sizes = np.ptp(mesh.nodes, axis=0)
    on_hull = np.any((np.abs(mesh.nodes - mesh.nodes.min(axis=0)) < 1e-6)
                     | (np.abs(mesh.nodes - mesh.nodes.max(axis=0)) < 1e-6), axis=1)
    assert mesh.quality().min() > 0.05 and len(mesh.elements) > 100
    assert np.isclose(mesh.volumes.sum(), np.prod(sizes))
    region = ContinuumRegion(mesh, material, held=on_hull)
    F = random_F(np.random.default_rng(3), 0.02, dim)
    region.set_dofs((mesh.nodes @ F.T).reshape(-1))
    region.deform_held(F)
    _, f = region.energy_and_forces()
    scale = np.abs(material.stress(F)).max() * mesh.volumes.max() ** ((dim - 1) / dim)
    assert np.abs(f[~on_hull]).max() < 1e-10 * scale
    assert np.abs(f[on_hull]).max() > 1e-3 * scale  # the boundary carries the load


def test_nodal_forces_are_minus_the_energy_gradient(lammps_potentials):
    lat, mesh = graded_mesh_3d()
    region = ContinuumRegion(mesh, CauchyBorn(Eam.from_file(lammps_potentials / "Fe_mm.eam.fs"),
                                              lat))
    rng = np.random.default_rng(4)
    x = mesh.nodes + rng.normal(0, 0.05, mesh.nodes.shape)
    _, f = region.energy_and_forces(x)
    h = 1e-6
    for node in rng.choice(mesh.n_nodes, 5, replace=False):
        for a in range(3):
            y = x.copy()
            y[node, a] += h
            ep = region.energy_and_forces(y)[0]
            y[node, a] -= 2 * h
            em = region.energy_and_forces(y)[0]
            assert f[node, a] == pytest.approx(-(ep - em) / (2 * h), rel=1e-5, abs=1e-7)
