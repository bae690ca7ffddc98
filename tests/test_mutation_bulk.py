"""qc_sim/properties/bulk.py against closed forms and its documented refusals (issue 32:
the branches the mutation run found untested).

The crystals are fcc with nearest-neighbour bonds only (the cutoff below the second shell,
sqrt(2) times the first): the energy per atom is 6 phi(r1), so a Lennard-Jones crystal
has its minimum at r1 = 2^(1/6) sigma, a0 = sqrt(2) r1 = 2^(2/3) sigma, a cohesive energy of
6 epsilon, and at a0 (phi' = 0) C_ijkl = phi''(r1) / (2 Omega) sum_j R_i R_j R_k R_l / r1^2 over
the twelve bonds: C11 = 2 phi''(r1) / a0 = 72 epsilon / sigma^3, C12 = C44 = 36 epsilon / sigma^3
(phi''(2^(1/6) sigma) = 72 2^(-1/3) epsilon / sigma^2).
"""

from __future__ import annotations

import numpy as np
import pytest

from qc_sim.backend import get_device
from qc_sim.errors import InputError
from qc_sim.potentials import lennard_jones
from qc_sim.properties.bulk import bulk_properties, cubic_elastic_constants, equilibrium_lattice
from qc_sim.units import EV_PER_A3_TO_GPA

R1 = 2 ** (1 / 6)  # the LJ pair minimum, sigma


def test_bulk_properties_of_one_element_of_two_are_its_nearest_neighbour_closed_forms():
    """bulk_properties without a lattice or a device: fcc on the automatic device. Of a
    two-species LJ table, the element named picks its own epsilon and sigma (B: 2 eV,
    1.1 Å), and the results are B's closed forms; the cutoff puts B's minimum at 0.891 of it,
    next to the scan's last point (a minimum anywhere inside the scan is found)."""
    eps, sig = [[1.0, 1.5], [1.5, 2.0]], [[1.0, 1.05], [1.05, 1.1]]
    rc_b = 1.1 * R1 / 0.891
    pot = lennard_jones(eps, sig, [[R1 / 0.891, rc_b], [rc_b, rc_b]], species=("A", "B"))
    bulk = bulk_properties(pot, "B")
    assert (bulk.lattice, bulk.element) == ("fcc", "B")
    assert bulk.lattice_constant == pytest.approx(2 ** (2 / 3) * 1.1, rel=1e-8)
    assert bulk.cohesive_energy == pytest.approx(6 * 2.0, rel=1e-12)
    c = 2.0 / 1.1**3 * EV_PER_A3_TO_GPA
    assert (bulk.C11, bulk.C12, bulk.C44) == pytest.approx((72 * c, 36 * c, 36 * c), rel=1e-6)


def test_the_scan_finds_a_minimum_at_its_second_point_and_refuses_one_outside_it():
    """The scan covers nearest-neighbour distances from scan[0] to scan[1] times the cutoff
    (76 points); a minimum at its second point is found, one before or beyond it is
    refused, naming the lattice constants scanned (a = sqrt(2) r1 for fcc)."""
    cpu = get_device("cpu")
    rc = 1.25  # nearest neighbours only: the minimum, r1 = 2^(1/6), at 0.898 rc
    pot = lennard_jones(1.0, 1.0, rc)
    lo = R1 / rc - 0.0102  # the second point, lo + 0.01, 2e-4 below the minimum
    a0, e0 = equilibrium_lattice(pot, "X", "fcc", cpu, scan=(lo, lo + 0.75))
    assert a0 == pytest.approx(np.sqrt(2) * R1, rel=1e-8)
    assert e0 == pytest.approx(-6.0, rel=1e-12)
    for scan in ((0.5, 0.85), (0.91, 0.98)):  # the energy falls, then rises, over the scan
        a = np.sqrt(2) * rc * np.array(scan)
        with pytest.raises(InputError, match=(
                rf"^the potential gives no stable fcc lattice for X: the energy per atom has "
                rf"no bound minimum for a in \[{a[0]:.3f}, {a[1]:.3f}\] Å$")):
            equilibrium_lattice(pot, "X", "fcc", cpu, scan=scan)


def _write_setfl(path, phi, cutoff, nr=161):
    """A one-element setfl file with no density (F = 0, rho = 0): the pair term phi alone."""
    r = np.arange(nr) * (cutoff / (nr - 1))
    lines = ["pair only", "no embedding", "test", "1 Y",
             f"5 0.1 {nr} {cutoff / (nr - 1):.17g} {cutoff:.17g}", "39 88.9 0.0 fcc",
             " ".join(["0"] * 5), " ".join(["0"] * nr),
             " ".join(f"{v:.17g}" for v in r * phi(r))]
    path.write_text("\n".join(lines) + "\n")


def test_a_crystal_whose_minimum_lies_above_the_free_atoms_is_refused(tmp_path):
    """A bond energy D [exp(-2 alpha (r - r0)) - 2 exp(-alpha (r - r0))] + 1.05 D: the crystal
    has an interior minimum, 6 x 0.05 D = 0.3 eV per atom above the separated atoms (energy
    0): metastable, not a stable lattice."""
    from qc_sim.potentials.eam import Eam

    def phi(r):
        x = np.exp(-3.0 * (r - 1.2))
        return x * x - 2.0 * x + 1.05

    _write_setfl(tmp_path / "metastable.eam.alloy", phi, 1.6)
    pot = Eam.from_file(tmp_path / "metastable.eam.alloy")
    # every bond costs at least 0.05 D; twelve at r0 (the second shell, 1.70, lies beyond
    # the cutoff) make the lowest energy per atom
    assert pot.site_terms(np.full(12, 1.2))[0] == pytest.approx(0.3, abs=1e-5)
    with pytest.raises(InputError, match="no stable fcc lattice for Y"):
        equilibrium_lattice(pot, "Y", "fcc", get_device("cpu"))


def test_soft_spheres_bind_no_crystal(tmp_path):
    """Soft spheres, phi = (1.6 - r)^2 eV for r < 1.6 Å: purely repulsive, so the energy per
    atom falls to exactly 0 (the free atoms) once the nearest neighbours are 1.6 Å apart,
    and stays 0; over a scan past that point its lowest value, 0, is no bound minimum."""
    from qc_sim.potentials.eam import Eam

    _write_setfl(tmp_path / "soft.eam.alloy", lambda r: (1.6 - r) ** 2, 1.6)
    pot = Eam.from_file(tmp_path / "soft.eam.alloy")
    assert pot.site_terms(np.full(12, 1.6 - 1e-3))[0] > 0 and pot.site_terms([1.6])[0] == 0
    with pytest.raises(InputError, match="no stable fcc lattice for Y"):
        equilibrium_lattice(pot, "Y", "fcc", get_device("cpu"), scan=(0.5, 1.5))


def test_the_device_is_the_argument_else_qc_sim_backend(monkeypatch, request):
    """The backend comes from the argument, else QC_SIM_BACKEND, else auto (docs/design.md,
    section 2): with a device given, bulk_properties computes there whatever the variable says
    (the nearest-neighbour closed forms); without one, it takes the variable's backend (an
    unknown name is refused). get_device reads the variable once per process: its cache is
    emptied here before and after (Devices are equal by name, so nothing else notices)."""
    from qc_sim.errors import BackendUnavailable

    pot = lennard_jones(1.0, 1.0, R1 / 0.891)
    monkeypatch.setenv("QC_SIM_BACKEND", "no-such-backend")
    get_device.cache_clear()
    request.addfinalizer(get_device.cache_clear)
    bulk = bulk_properties(pot, "X", "fcc", get_device("cpu"))
    assert (bulk.lattice_constant, bulk.cohesive_energy) == pytest.approx(
        (2 ** (2 / 3), 6.0), rel=1e-8)
    assert bulk.C11 == pytest.approx(72 * EV_PER_A3_TO_GPA, rel=1e-6)
    for call in (lambda: equilibrium_lattice(pot, "X"),
                 lambda: cubic_elastic_constants(pot, "X", "fcc", 2 ** (2 / 3))):
        with pytest.raises(BackendUnavailable, match="unknown backend 'no-such-backend'"):
            call()


def test_elastic_constants_off_equilibrium_are_the_true_stress_derivatives():
    """At a lattice constant 2 % below the minimum (under pressure) C11 and C12 are the
    derivatives in the stretch along x of the true stress, the virial over the stretched
    box's volume: against that stress summed here over the twelve bonds,
    sigma_ab = 1 / (2 Omega) sum_j phi'(r_j) x_ja x_jb / r_j."""
    rc = 1.3
    pot = lennard_jones(1.0, 1.0, rc)
    a = 0.98 * 2 ** (2 / 3)
    bonds = np.array([[1, 1, 0], [1, -1, 0], [1, 0, 1], [1, 0, -1], [0, 1, 1], [0, 1, -1]],
                     float) * a / 2
    bonds = np.concatenate([bonds, -bonds])

    def stress(e):
        x = bonds * [1 + e, 1, 1]
        r = np.linalg.norm(x, axis=1)
        dphi = 4 * (-12 * r**-13 + 6 * r**-7)
        return np.einsum("j,ja,jb->ab", dphi / r, x, x) / (2 * (1 + e) * a**3 / 4)

    h = 1e-5
    ds = (stress(h) - stress(-h)) / (2 * h) * EV_PER_A3_TO_GPA
    assert stress(0.0)[0, 0] < -1  # compressed: -3.7 eV/Å^3, far from zero
    c11, c12, _ = cubic_elastic_constants(pot, "X", "fcc", a, get_device("cpu"))
    assert (c11, c12) == pytest.approx((ds[0, 0], ds[1, 1]), rel=1e-6)
