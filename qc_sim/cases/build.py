"""Turning a validated case into the objects a run needs."""

from __future__ import annotations

import numpy as np

from qc_sim.cases.checks import resolve_potential_file
from qc_sim.errors import InputError
from qc_sim.geometry import lattice as lattices
from qc_sim.geometry.crystal import build_crystal, random_alloy
from qc_sim.potentials import load_potential

_LATTICES = {"fcc": lattices.fcc, "bcc": lattices.bcc, "sc": lattices.simple_cubic,
             "triangular": lattices.triangular}


def build_potential(case):
    pot = case.potential
    species = tuple(case.lattice.species)
    if pot.style == "eam":
        path = resolve_potential_file(case, pot.file)
        potential = load_potential(path)
        missing = [s for s in species if s not in potential.species]
        if missing:
            raise InputError(f"{case.path}: [lattice.species] {missing} not in the potential "
                             f"{path.name} (it has {list(potential.species)})")
        return load_potential(path, species=species)
    keys = ("epsilon", "sigma") if pot.style == "lj" else ("d0", "alpha", "r0")
    spec = {"style": pot.style, "cutoff": pot.cutoff, "shift": pot.shift,
            **{k: getattr(pot, k) for k in keys}}
    return load_potential(spec, species=species)


def build_atoms(case, potential):
    """The crystal of the case, species assigned, masses from the case or the potential."""
    lat = case.lattice
    masses = lat.masses or None
    if masses is None and hasattr(potential, "masses"):
        masses = tuple(float(m) for m in potential.masses)
    atoms = build_crystal(_LATTICES[lat.kind](lat.a), repeats=tuple(lat.repeats),
                          orientation=tuple(tuple(o) for o in lat.orientation),
                          periodic=tuple(lat.periodic), species=(lat.species[0],),
                          masses=None if masses is None else (masses[0],))
    if len(lat.species) > 1:
        fractions = lat.fractions or tuple(np.full(len(lat.species), 1 / len(lat.species)))
        atoms = random_alloy(atoms, tuple(lat.species), tuple(fractions), lat.seed,
                             masses=masses)
    return atoms
