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


def build_coupled(case, potential, device, check=True):
    """The coupled model of a case with a [coupling] section (and the vacancy site, or None).

    The domain is the lattice's box, [0, repeats x cell]; the core centre defaults to the
    lattice site nearest the box centre (where a vacancy, if asked for, is cut).
    """
    from qc_sim.coupling import CoupledModel, build_geometry

    from qc_sim.cases.checks import check_coupled_room, coupled_domain

    c, lat = case.coupling, case.lattice
    check_coupled_room(case, reach=2 * potential.cutoff)
    lattice, hi, centre = coupled_domain(case)
    d = lattice.dimension
    vacancies = [centre] if c.defect == "vacancy" else None
    try:
        geometry = build_geometry(lattice, np.zeros(d), hi, centre, c.core_radius * lat.a,
                                  c.width * lat.a, reach=2 * potential.cutoff, rate=c.rate,
                                  vacancies=vacancies, fine_zone=c.fine_zone,
                                  fine_margin=c.fine_margin * lat.a)
    except ValueError as exc:
        raise InputError(f"{case.path}: [coupling] {exc}") from None
    far = np.array(c.far_field, float) if c.far_field else np.eye(d)
    model = CoupledModel(geometry, potential, lat.species[0], c.method, far_field=far,
                         device=device, check=check,
                         taylor_strain=c.taylor_strain if c.taylor_strain > 0 else None)
    return model, (centre if vacancies else None)
