"""Fully atomistic references of coupled problems: the same domain and boundary condition,
solved atom by atom, to measure a coupling's error against.

The coupled model holds its outer boundary at F X; the reference holds every atom outside
the open domain box (a shell two cutoffs thick around it) at F X, so that atoms inside see
the same clamped far field.
"""

from __future__ import annotations

import numpy as np

from qc_sim.atomistic.system import AtomisticSystem
from qc_sim.geometry import build_crystal


def clamped_crystal(lattice, lo, hi, shell: float, species: str, vacancies=None):
    """(atoms, fixed mask): the lattice in [lo - shell, hi + shell], atoms outside the open
    box (lo, hi) fixed, ``vacancies`` removed."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    cell = np.diag(lattice.cell)
    pad = np.ceil(shell / cell).astype(int) + 1
    n = np.round((hi - lo) / cell).astype(int) + 2 * pad
    crystal = build_crystal(lattice, tuple(n), species=(species,), masses=(1.0,),
                            periodic=(False,) * 3, origin=tuple(lo - pad * cell))
    x = crystal.positions
    keep = np.all((x > lo - shell - 1e-6) & (x < hi + shell + 1e-6), axis=1)
    for v in np.atleast_2d(vacancies) if vacancies is not None and len(vacancies) else []:
        keep &= np.linalg.norm(x - v, axis=1) > 1e-6
    atoms = crystal.select(keep)
    inside = np.all((atoms.positions > lo + 1e-6) & (atoms.positions < hi - 1e-6), axis=1)
    return atoms, ~inside


def atomistic_reference(lattice, lo, hi, potential, species, device, vacancies=None,
                        minimiser=None, fmax=1e-4):
    """The relaxed clamped crystal: (system, MinimizeResult)."""
    from qc_sim.solvers import fire

    atoms, fixed = clamped_crystal(lattice, lo, hi, 2 * potential.cutoff, species, vacancies)
    system = AtomisticSystem(atoms, potential, device, skin=0.5, fixed=fixed)
    result = (minimiser or fire)(system, fmax=fmax, max_steps=50_000)
    return system, result
