"""Atomistic statics against LAMMPS (issue 29), at a small size: the LAMMPS deck of
scripts/bench_statics.py (qc_sim.reference.lammps.relax_clamped) builds the very atoms of
qc-sim's clamped domain (coupling.reference.clamped_crystal: the same count, held shell and
vacancy) and both codes relax the vacancy to the same formation energy; the new minimiser
(lbfgs_line_search) reaches the minimum of the existing ones, whatever constant the energy
carries (no energy comparison can stop it where the total energy is large, as L-BFGS-B's
relative-reduction test stops at 10^8 atoms), and on MPI ranks gives the same bits on any
rank count."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest


ROOT = Path(__file__).resolve().parents[1]
A = 3.6149250663890298  # Mishin Cu's lattice constant (scripts/validate_vacancy.py)
E0 = -3.540218330204917  # eV/atom at A
CELLS = 6


@pytest.fixture(scope="module")
def mishin(lammps_potentials):
    from qc_sim.potentials.eam import Eam

    return Eam.from_file(lammps_potentials / "Cu_mishin1.eam.alloy")


def domain(cells=CELLS, origin=0.0):
    lo = np.full(3, float(origin))
    return lo, lo + cells * A, lo + cells / 2 * A


def relaxed(pot, minimiser, vacancy=True, wrap=None, fmax=1e-6):
    from qc_sim.atomistic.system import AtomisticSystem
    from qc_sim.backend import get_device
    from qc_sim.coupling.reference import clamped_crystal
    from qc_sim.geometry import fcc

    lo, hi, centre = domain()
    atoms, fixed = clamped_crystal(fcc(A), lo, hi, 2 * pot.cutoff, "Cu",
                                   [centre] if vacancy else None)
    system = AtomisticSystem(atoms, pot, get_device("cpu"), skin=0.5, fixed=fixed)
    result = minimiser(system if wrap is None else wrap(system), fmax=fmax, max_steps=2000)
    return system, result


@pytest.mark.parametrize("origin", [0.0, 1.3])
def test_the_lammps_deck_builds_the_clamped_domain_of_qc_sim(lammps_module, mishin, origin,
                                                             tmp_path):
    """Every atom LAMMPS creates sits on one of qc-sim's sites (to 1e-12 Å), one for one, with
    the same held flag; the vacancy's site is missing from both (also for a box whose corner
    is off the lattice)."""
    from scipy.spatial import cKDTree

    from qc_sim.coupling.reference import clamped_crystal
    from qc_sim.geometry import fcc

    lo, hi, centre = domain(origin=origin)
    dump = tmp_path / "atoms.txt"
    out = lammps_module.relax_clamped(fcc(A), lo, hi, mishin, "Cu", vacancies=[centre],
                                      max_iterations=0, dump=str(dump))
    atoms, fixed = clamped_crystal(fcc(A), lo, hi, 2 * mishin.cutoff, "Cu", [centre])
    rows = np.loadtxt(dump, skiprows=9)  # id type x y z held
    assert out["atoms"] == len(atoms) == len(rows)
    assert out["held"] == int(fixed.sum()) > 0 and (~fixed).sum() > 0
    distance, index = cKDTree(atoms.positions).query(rows[:, 2:5])
    assert distance.max() < 1e-12
    assert len(np.unique(index)) == len(atoms)  # one for one
    assert np.array_equal(fixed[index], rows[:, 5] > 0)
    if origin == 0.0:  # the centre is a site: removed by both
        assert out["perfect_atoms"] == len(atoms) + 1
        assert np.linalg.norm(rows[:, 2:5] - centre, axis=1).min() > 2.0


def test_lammps_and_qc_sim_relax_the_vacancy_to_the_same_formation_energy(lammps_module,
                                                                         mishin):
    """CG in LAMMPS and lbfgs_line_search in qc-sim, both to 1e-5 eV/Å: the formation
    energies E_vac - E_perfect + e0 agree to 1e-6 eV, and the perfect crystals' energies to
    1e-6 eV (the same atoms and the same potential in two codes); LAMMPS's formation energy
    from its sums of e_i - e0 is the one from its totals (at this size, where its running
    sum of the totals rounds little)."""
    from qc_sim.geometry import fcc
    from qc_sim.solvers.lbfgs import lbfgs_line_search

    lo, hi, centre = domain()
    lmp = lammps_module.relax_clamped(fcc(A), lo, hi, mishin, "Cu", fmax=1e-5,
                                      vacancies=[centre], reference_energy=E0)
    assert lmp["converged"] and lmp["fmax_reached"] <= 1e-5, lmp
    assert lmp["evaluations"] > 0 and lmp["iterations"] > 0 and lmp["seconds"] > 0
    system, result = relaxed(mishin, lbfgs_line_search, fmax=1e-5)
    perfect, _ = relaxed(mishin, lbfgs_line_search, vacancy=False, fmax=1e-5)
    e_perfect = perfect.compute().energy()
    assert result.converged and len(system) == lmp["atoms"]
    assert abs(e_perfect - lmp["perfect_energy"]) < 1e-6
    e_qc = result.energy - e_perfect + E0
    e_lmp = lmp["energy"] - lmp["perfect_energy"] + E0
    assert abs(lmp["formation_energy"] - e_lmp) < 1e-8  # sum(e_i - e0) = pe - N e0 here
    assert 1.0 < e_qc < 1.5  # Mishin Cu's vacancy, relaxed in a small clamped cube
    assert abs(e_qc - lmp["formation_energy"]) < 1e-6, (e_qc, lmp["formation_energy"])


def test_the_line_search_minimiser_reaches_the_minimum_of_the_existing_ones(mishin):
    """lbfgs_line_search, SciPy's L-BFGS-B (lbfgs) and lbfgs_two_loop relax the clamped
    vacancy to 1e-6 eV/Å: the same energy to 1e-8 eV and the same positions to 1e-6 Å."""
    from qc_sim.solvers import lbfgs
    from qc_sim.solvers.lbfgs import lbfgs_line_search, lbfgs_two_loop

    mine, result = relaxed(mishin, lbfgs_line_search)
    assert result.converged
    for other in (lbfgs, lbfgs_two_loop):
        theirs, reference = relaxed(mishin, other)
        assert reference.converged
        assert abs(result.energy - reference.energy) < 1e-8
        assert np.abs(np.asarray(mine.positions) - np.asarray(theirs.positions)).max() < 1e-6


class Offset:
    """A model whose energy carries a large constant: near the minimum its changes are below
    the rounding of the total, as for 10^8 atoms (-3.5e8 eV)."""

    def __init__(self, model, constant):
        self.model, self.constant, self.xp = model, constant, model.xp

    def get_dofs(self):
        return self.model.get_dofs()

    def set_dofs(self, y):
        self.model.set_dofs(y)

    def energy_forces(self):
        energy, f = self.model.energy_forces()
        return energy + self.constant, f

    def max_force(self, f):
        return self.model.max_force(f)

    def free_dofs(self):
        return self.model.free_dofs()


def test_the_line_search_converges_whatever_the_total_energy(mishin):
    """With 3.5e8 eV added to the energy (10^8 Cu atoms' worth), SciPy's L-BFGS-B stops
    early (RELATIVE REDUCTION OF F <= FACTR*EPSMCH, the failure of issue 29 at 10^7 sites),
    while lbfgs_line_search, which never compares energies, takes the very same steps to
    the same bits as without the constant."""
    from qc_sim.solvers import lbfgs
    from qc_sim.solvers.lbfgs import lbfgs_line_search

    wrap = lambda m: Offset(m, 3.5e8)  # noqa: E731
    plain, a = relaxed(mishin, lbfgs_line_search, fmax=1e-5)
    large, b = relaxed(mishin, lbfgs_line_search, wrap=wrap, fmax=1e-5)
    assert a.converged and b.converged
    assert (a.steps, a.evaluations) == (b.steps, b.evaluations)
    assert np.array_equal(np.asarray(plain.positions), np.asarray(large.positions))
    _, scipy_result = relaxed(mishin, lbfgs, wrap=wrap, fmax=1e-5)
    assert not scipy_result.converged and "RELATIVE REDUCTION" in scipy_result.message


def test_the_line_search_minimiser_is_bitwise_on_one_to_three_ranks(mishin, mpiexec):
    """lbfgs_line_search on the clamped vacancy split over 1, 2 and 3 ranks (DomainModel,
    every dot product an exact global sum): the same steps, evaluations, energy and relaxed
    positions, bit for bit; and the serial AtomisticSystem's minimum to 1e-8 eV."""
    lines = set()
    for ranks in (1, 2, 3):
        out = subprocess.run([mpiexec, "-n", str(ranks), sys.executable,
                              str(ROOT / "tests" / "mpi_statics_relax.py"), str(CELLS),
                              mishin.source], capture_output=True, text=True, timeout=300,
                             env=dict(os.environ, OMP_NUM_THREADS="1"), cwd=ROOT)
        assert out.returncode == 0, out.stdout + out.stderr
        lines.add(out.stdout.strip().splitlines()[-1])
    assert len(lines) == 1, lines
    line = lines.pop()
    assert line.startswith("converged True")
    from qc_sim.solvers.lbfgs import lbfgs_line_search

    _, serial = relaxed(mishin, lbfgs_line_search, fmax=1e-5)
    assert abs(float(line.split("energy ")[1].split()[0]) - serial.energy) < 1e-8
