"""Minimisers on problems with known minima, through the one solver protocol."""

from __future__ import annotations

import numpy as np
import pytest

from qc_sim.atomistic.cell import BoxRelaxation
from qc_sim.atomistic.system import AtomisticSystem
from qc_sim.backend import get_device
from qc_sim.geometry import Atoms, Box, build_crystal, fcc
from qc_sim.potentials import lennard_jones
from qc_sim.potentials.eam import Eam
from qc_sim.solvers import NotConverged, fire, lbfgs
from qc_sim.solvers.lbfgs import lbfgs_line_search, lbfgs_two_loop

MINIMISERS = {"fire": fire, "lbfgs": lbfgs, "lbfgs_two_loop": lbfgs_two_loop,
              "lbfgs_line_search": lbfgs_line_search}


class Quadratic:
    """E = 1/2 sum k_i (y_i - c_i)^2 + coupling: a known minimum at c."""

    xp = np

    def __init__(self, k, c):
        self.k, self.c = np.asarray(k, float), np.asarray(c, float)
        self.y = np.zeros_like(self.c)
        self.a = np.diag(self.k) + 0.3 * np.eye(len(self.k), k=1) + 0.3 * np.eye(len(self.k), k=-1)

    def get_dofs(self):
        return self.y.copy()

    def set_dofs(self, y):
        self.y = np.array(y, float)

    def energy_forces(self):
        d = self.y - self.c
        return 0.5 * d @ self.a @ d, -(self.a @ d)

    def max_force(self, f):
        return float(np.abs(f).max())


@pytest.mark.parametrize("method", MINIMISERS)
def test_quadratic_minimum(method):
    model = Quadratic([1.0, 4.0, 9.0, 2.5], [0.3, -1.2, 2.0, 0.7])
    result = MINIMISERS[method](model, fmax=1e-8, max_steps=5000)
    assert result.converged and result.max_force <= 1e-8
    assert np.abs(model.y - model.c).max() < 1e-7
    assert result.energy == pytest.approx(0.0, abs=1e-14)


def lj13(seed=0):
    """A 13-atom icosahedral cluster of LJ atoms (sigma = 1), slightly perturbed."""
    phi = (1 + 5**0.5) / 2
    v = [(0, 0, 0)]
    for s1 in (-1, 1):
        for s2 in (-1, 1):
            v += [(0, s1, s2 * phi), (s1, s2 * phi, 0), (s2 * phi, 0, s1)]
    x = np.array(v, float)
    x[1:] *= 1.1 / np.linalg.norm(x[1], axis=-1)
    x += np.random.default_rng(seed).normal(0, 0.03, x.shape) + 10.0
    return Atoms(x, Box((0, 0, 0), (20, 20, 20), (False,) * 3), species=("X",), masses=(1.0,))


@pytest.mark.parametrize("method", MINIMISERS)
@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_lj13_reaches_the_known_global_minimum(method, backend):
    """Wales & Doye, J. Phys. Chem. A 101 (1997) 5111: E(LJ13) = -44.326801 epsilon."""
    system = AtomisticSystem(lj13(), lennard_jones(1.0, 1.0, 10.0), get_device(backend), skin=0.5)
    result = MINIMISERS[method](system, fmax=1e-6, max_steps=5000)
    assert result.converged, result.message
    assert result.energy == pytest.approx(-44.326801, abs=1e-6)


@pytest.mark.parametrize("method", MINIMISERS)
def test_not_converging_is_reported(method):
    system = AtomisticSystem(lj13(), lennard_jones(1.0, 1.0, 10.0), get_device("cpu"))
    result = MINIMISERS[method](system, fmax=1e-10, max_steps=3)
    assert not result.converged
    assert "did not converge in 3 steps" in result.message and "> 1e-10" in result.message
    with pytest.raises(NotConverged, match="did not converge"):
        result.check()


@pytest.mark.parametrize("method", MINIMISERS)
def test_fixed_atoms_stay(method):
    atoms = lj13()
    fixed = np.zeros(len(atoms), bool)
    fixed[[0, 4, 7]] = True
    system = AtomisticSystem(atoms, lennard_jones(1.0, 1.0, 10.0), get_device("cpu"),
                             fixed=fixed)
    result = MINIMISERS[method](system, fmax=1e-6, max_steps=5000)
    assert result.converged, result.message
    assert np.array_equal(np.asarray(system.positions)[fixed], atoms.positions[fixed])
    assert result.energy < -40.0


@pytest.mark.parametrize("method", MINIMISERS)
def test_box_relaxation_gives_the_mishin_copper_lattice_constant(method, lammps_potentials):
    """Mishin et al., Phys. Rev. B 63 (2001) 224106: Cu a0 = 3.615 Å, E_c = 3.54 eV."""
    atoms = build_crystal(fcc(3.55), (3, 3, 3), species=("Cu",))
    atoms.positions += np.random.default_rng(0).normal(0, 0.02, atoms.positions.shape)
    system = AtomisticSystem(atoms, Eam.from_file(lammps_potentials / "Cu_mishin1.eam.alloy"),
                             get_device("cpu"), skin=0.5)
    model = BoxRelaxation(system, pressure=0.0)
    result = MINIMISERS[method](model, fmax=1e-6, max_steps=5000)
    assert result.converged, result.message
    a = model.lengths / 3
    assert np.abs(a - 3.615).max() < 1e-3
    assert np.abs(a - a.mean()).max() < 1e-5  # cubic stays cubic
    assert result.energy / len(atoms) == pytest.approx(-3.54, abs=0.01)
    assert np.abs(model.stress()).max() < 1.0  # bar


def test_box_relaxation_under_pressure_shrinks_the_crystal(lammps_potentials):
    """At 1 GPa the relaxed volume follows the bulk modulus, B = (C11 + 2 C12) / 3 = 138.4 GPa
    for Mishin Cu: V/V0 = 1 - P/B + (1 + B') / 2 (P/B)^2 + ..., the second-order term
    (B' ~ 5) being +1.6e-4."""
    atoms = build_crystal(fcc(3.615), (3, 3, 3), species=("Cu",))
    pot = Eam.from_file(lammps_potentials / "Cu_mishin1.eam.alloy")
    ambient = BoxRelaxation(AtomisticSystem(atoms, pot, get_device("cpu"), skin=0.5))
    fire(ambient, fmax=1e-6).check()
    squeezed = BoxRelaxation(AtomisticSystem(atoms, pot, get_device("cpu"), skin=0.5),
                             pressure=1e4)
    fire(squeezed, fmax=1e-6).check()
    ratio = np.prod(squeezed.lengths) / np.prod(ambient.lengths)
    first_order = 1 - 1 / 138.4
    assert 0 < ratio - first_order < 4e-4
    assert np.abs(squeezed.stress() + 1e4).max() < 1.0  # stress = -P on every axis


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_replicas_evaluated_together_equal_one_by_one(backend):
    from qc_sim.atomistic.replicas import Replicas

    rng = np.random.default_rng(4)
    atoms = build_crystal(fcc(5.26), (3, 3, 3), species=("Ar",))
    pot = lennard_jones(0.0104, 3.4, 8.0, species=("Ar",))
    systems = []
    for _ in range(4):
        s = AtomisticSystem(atoms, pot, get_device(backend), skin=0.3)
        s.set_positions(atoms.positions + rng.normal(0, 0.2, atoms.positions.shape))
        systems.append(s)
    together = Replicas(systems).energy_forces()
    for s, (e, f) in zip(systems, together):
        e1, f1 = s.energy_forces()
        assert e == e1 and np.array_equal(np.asarray(f), np.asarray(f1))
    assert len({e for e, _ in together}) == 4  # four different configurations


class MullerBrown:
    """The Müller-Brown surface (Theor. Chim. Acta 53 (1979) 75), one point in 2D."""

    xp = np
    A = (-200.0, -100.0, -170.0, 15.0)
    a = (-1.0, -1.0, -6.5, 0.7)
    b = (0.0, 0.0, 11.0, 0.6)
    c = (-10.0, -10.0, -6.5, 0.7)
    x0 = (1.0, 0.0, -0.5, -1.0)
    y0 = (0.0, 0.5, 1.5, 1.0)

    def __init__(self, point):
        self.p = np.array(point, float)

    def get_dofs(self):
        return self.p.copy()

    def set_dofs(self, y):
        self.p = np.array(y, float)

    def energy_forces(self):
        x, y = self.p
        e, g = 0.0, np.zeros(2)
        for A, a, b, c, x0, y0 in zip(self.A, self.a, self.b, self.c, self.x0, self.y0):
            dx, dy = x - x0, y - y0
            t = A * np.exp(a * dx * dx + b * dx * dy + c * dy * dy)
            e += t
            g += t * np.array([2 * a * dx + b * dy, b * dx + 2 * c * dy])
        return e, -g

    def max_force(self, f):
        return float(np.linalg.norm(f))


def test_climbing_image_finds_the_mueller_brown_saddle():
    """From minimum A (-0.558, 1.442) to minimum C (-0.050, 0.467) the band must climb to
    the saddle S1 (-0.822, 0.624), E = -40.665."""
    from qc_sim.solvers import Fire
    from qc_sim.solvers.neb import Band, interpolate, run_neb

    ends = [MullerBrown((-0.558, 1.442)), MullerBrown((-0.050, 0.467))]
    for end in ends:
        fire(end, fmax=1e-6, params=Fire(dt=1e-3, dt_max=1e-2, max_move=0.01)).check()
    inner = [MullerBrown(p) for p in interpolate(ends[0].p, ends[1].p, 9)]
    band = Band([ends[0], *inner, ends[1]], k=50.0, climb=True)
    result = run_neb(band, fmax=1e-3, max_steps=20_000,
                     params=Fire(dt=1e-3, dt_max=1e-2, max_move=0.01, n_delay=20))
    assert result.converged, result.message
    top = max(band.images[1:-1], key=lambda m: m.energy_forces()[0])
    assert np.abs(top.p - [-0.822, 0.624]).max() < 2e-3
    assert top.energy_forces()[0] == pytest.approx(-40.665, abs=0.01)


def test_box_relaxation_to_a_uniaxial_stress(lammps_potentials):
    """0.2 GPa tension along x only: the crystal stretches along x by s/E_100 and contracts
    sideways by Poisson's ratio nu = C12 / (C11 + C12) (Mishin Cu: E_100 = 67.1 GPa,
    nu = 0.419) to within the non-linearity of a 0.3 % strain; the stress comes out as asked
    on every axis. L-BFGS refuses the non-hydrostatic target."""
    atoms = build_crystal(fcc(3.615), (3, 3, 3), species=("Cu",))
    pot = Eam.from_file(lammps_potentials / "Cu_mishin1.eam.alloy")
    free = BoxRelaxation(AtomisticSystem(atoms, pot, get_device("cpu"), skin=0.5))
    fire(free, fmax=1e-7).check()
    pulled = BoxRelaxation(AtomisticSystem(atoms, pot, get_device("cpu"), skin=0.5),
                           stress=(2e3, 0.0, 0.0))
    assert not pulled.conservative
    fire(pulled, fmax=1e-7, max_steps=20_000).check()
    strain = pulled.lengths / free.lengths - 1
    assert strain[0] == pytest.approx(0.2 / 67.1, rel=0.02)
    assert -strain[1] / strain[0] == pytest.approx(0.419, rel=0.02)
    assert np.abs(pulled.stress() - [2e3, 0, 0]).max() < 1.0
    with pytest.raises(ValueError, match="use FIRE"):
        lbfgs(pulled)


def test_idpp_keeps_a_rotating_bond_length_where_linear_interpolation_shortens_it():
    from qc_sim.atomistic.idpp import idpp_path
    from qc_sim.solvers.neb import interpolate

    box = Box((-5, -5, -5), (5, 5, 5), (False,) * 3)
    first = np.array([[-1.0, 0, 0], [1.0, 0, 0], [0.0, 0, 3.0]])
    last = np.array([[0.0, -1, 0], [0.0, 1, 0], [0.0, 0, 3.0]])
    linear = [y.reshape(-1, 3) for y in interpolate(first.reshape(-1), last.reshape(-1), 5)]
    assert np.linalg.norm(linear[2][1] - linear[2][0]) == pytest.approx(2**0.5, rel=1e-12)
    path = idpp_path(first, last, box, 5, fmax=1e-4)
    bonds = [np.linalg.norm(x[1] - x[0]) for x in path]
    assert np.abs(np.array(bonds) - 2.0).max() < 0.02


def test_idpp_forces_are_minus_its_gradient():
    from qc_sim.atomistic.idpp import IdppImage

    rng = np.random.default_rng(2)
    box = Box((0, 0, 0), (6, 6, 6), (True, True, False))
    x = rng.uniform(0, 6, (8, 3))
    target = rng.uniform(1.5, 3.0, (8, 8))
    target = 0.5 * (target + target.T)
    image = IdppImage(x, target, box)
    _, f = image.energy_forces()
    h = 1e-6
    for k in range(0, 24, 5):
        y = image.get_dofs()
        y[k] += h
        image.set_dofs(y)
        ep = image.energy_forces()[0]
        y[k] -= 2 * h
        image.set_dofs(y)
        em = image.energy_forces()[0]
        y[k] += h
        image.set_dofs(y)
        assert f[k] == pytest.approx(-(ep - em) / (2 * h), rel=1e-6, abs=1e-8)


def test_amg_hierarchy_is_the_same_in_every_process():
    """pyamg draws a random start from NumPy's global generator; qc-sim's builder seeds it
    (and restores the caller's state), so a restart rebuilding a solver gets the same bits."""
    import subprocess
    import sys

    code = ("import numpy as np, scipy.sparse as sp, hashlib\n"
            "from qc_sim.solvers.amg import smoothed_aggregation\n"
            "n = 400\n"
            "A = sp.diags([-1, 2.1, -1], [-1, 0, 1], shape=(n, n)).tocsr()\n"
            "x = smoothed_aggregation(A, max_coarse=10).solve(np.ones(n), tol=1e-10)\n"
            "print(hashlib.sha256(x.tobytes()).hexdigest())\n")
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=120).stdout for _ in range(3)}
    assert len(runs) == 1 and next(iter(runs)).strip()
    np.random.seed(5)
    before = np.random.get_state()[1].copy()
    from qc_sim.solvers.amg import smoothed_aggregation
    import scipy.sparse as sp

    smoothed_aggregation(sp.identity(50, format="csr") * 2.0)
    assert np.array_equal(np.random.get_state()[1], before)
