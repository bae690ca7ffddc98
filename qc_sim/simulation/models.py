"""The coupled model a [coupling] case builds: a vacancy or a perfect lattice, an edge or
Lomer dipole, a crack, an indentation, a wave-packet slab; its patch test; and what every
coupled run needs of it (the atoms' mass, the mesh fields of an output frame)."""

from __future__ import annotations

import numpy as np

from qc_sim.coupling.fields import mesh_fields


def coupled_model(case, backend=None, check=True):
    """(model, defect) of a case with a [coupling] section: the model (patch-tested when
    ``check``) and the vacancy site or :class:`~qc_sim.coupling.dipoles.Dipole` (or None).
    A crack's or an indentation's model is patch-tested on its uncut twin when built."""
    from qc_sim.backend import get_device
    from qc_sim.cases.build import build_coupled, build_potential
    from qc_sim.errors import InputError

    if case.coupling is None:
        raise InputError(f"{case.path}: no [coupling] section: no coupled model to build")
    device = get_device(backend or case.run.backend)
    potential = build_potential(case)
    if getattr(case, "nucleation", None) is not None:  # the stepped block or film (issue 30)
        from qc_sim.simulation.nucleation import build_problems

        return build_problems(case, device)[0].model, None
    if case.crack is not None:
        return crack_model(case, potential, device, None).model, None
    if case.indent is not None:
        return indent_model(case, potential, device).model, None
    if case.wave is not None:
        return wave_model(case, potential, device)[0], None
    if case.coupling.defect in ("lomer_dipole", "edge_dipole"):
        dipole = dipole_model(case, potential, device)
        return dipole.model, dipole
    return build_coupled(case, potential, device, check=check)


def dipole_model(case, potential, device):
    """The case's :class:`~qc_sim.coupling.dipoles.Dipole` (edge or Lomer)."""
    from qc_sim.cases.checks import check_dipole_room
    from qc_sim.coupling.dipoles import build_edge_dipole, build_lomer_dipole
    from qc_sim.errors import InputError
    from qc_sim.geometry import fcc, triangular
    from qc_sim.properties.bulk import cubic_elastic_constants

    lat, c = case.lattice, case.coupling
    check_dipole_room(case, potential.cutoff)
    try:
        if c.defect == "edge_dipole":
            return build_edge_dipole(triangular(lat.a), lat.repeats, potential,
                                     lat.species[0], c.dipole_planes, c.core_radius * lat.a,
                                     c.width * lat.a, method=c.method, rate=c.rate,
                                     device=device)
        elastic = cubic_elastic_constants(potential, lat.species[0], "fcc", lat.a, device)
        return build_lomer_dipole(fcc(lat.a), lat.repeats, potential, lat.species[0], elastic,
                                  c.dipole_planes, c.core_radius * lat.a, c.width * lat.a,
                                  method=c.method, rate=c.rate, device=device)
    except ValueError as exc:
        raise InputError(f"{case.path}: [coupling] {exc}") from None


def crack_model(case, potential, device, comm, elastic=None):
    """The case's :class:`~qc_sim.coupling.crack.Crack`; ``elastic`` (C11, C12, C44) GPa
    for its K field, by default those of the potential at the case's lattice constant."""
    from qc_sim.cases.checks import check_crack_room
    from qc_sim.coupling.crack import build_crack
    from qc_sim.errors import InputError
    from qc_sim.geometry import lattice as lattices
    from qc_sim.properties.bulk import cubic_elastic_constants

    lat, c = case.lattice, case.coupling
    check_crack_room(case, potential.cutoff)
    if elastic is None:
        elastic = cubic_elastic_constants(potential, lat.species[0], lat.kind, lat.a, device)
    cubic = {"fcc": lattices.fcc, "bcc": lattices.bcc, "sc": lattices.simple_cubic}[lat.kind]
    try:
        return build_crack(cubic(lat.a), lat.orientation, lat.repeats, potential,
                           lat.species[0], elastic, c.core_radius * lat.a, c.width * lat.a,
                           method=c.method, rate=c.rate, device=device, comm=comm)
    except ValueError as exc:
        raise InputError(f"{case.path}: [coupling] {exc}") from None



def indent_model(case, potential, device, comm=None):
    """The case's :class:`~qc_sim.coupling.indent.Indentation` (its patch test done on the
    twin without the surface), split over the ranks of ``comm`` when there are several."""
    from qc_sim.cases.checks import check_indent_room, indent_axis
    from qc_sim.coupling.indent import build_indentation
    from qc_sim.errors import InputError
    from qc_sim.geometry import lattice as lattices

    lat, c, ind = case.lattice, case.coupling, case.indent
    check_indent_room(case, potential.cutoff)
    cubic = {"fcc": lattices.fcc, "bcc": lattices.bcc, "sc": lattices.simple_cubic}[lat.kind]
    try:
        return build_indentation(cubic(lat.a), lat.repeats, potential, lat.species[0],
                                 indent_axis(case), c.core_radius * lat.a, c.width * lat.a,
                                 ind.radius, ind.stiffness, method=c.method, rate=c.rate,
                                 device=device, comm=comm)
    except ValueError as exc:
        raise InputError(f"{case.path}: [coupling] {exc}") from None


def wave_model(case, potential, device):
    """(the bgfc model, the core's x) of a wave-packet case: the slab periodic along y, the
    core a band about the middle (:func:`~qc_sim.coupling.wave.wave_slab`), patch-tested."""
    from qc_sim.coupling.wave import wave_slab
    from qc_sim.errors import InputError
    from qc_sim.geometry import triangular

    lat, c = case.lattice, case.coupling
    try:
        return wave_slab(triangular(lat.a), lat.repeats, potential, lat.species[0],
                         c.core_radius * lat.a, c.width * lat.a, device)
    except ValueError as exc:
        raise InputError(f"{case.path}: [coupling] {exc}") from None


PATCH_LABELS = ("identity", "far field", "random 1", "random 2", "random 3")


def patch_test(model) -> tuple[list[dict], str, bool]:
    """(results, verdict, passed) of the patch test of ``model`` under the identity, its far
    field and three random strains of size 1e-3: per F the largest ghost force overall and
    per zone (eV/Å, ``label`` naming F), and whether the coupling keeps its promise."""
    from qc_sim.coupling.model import GhostForceError

    rng = np.random.default_rng(0)
    d = model.dim
    F_list = [np.eye(d), model.far_field] + [np.eye(d) + 1e-3 * rng.uniform(-1, 1, (d, d))
                                            for _ in range(3)]
    results = model.patch_test(F_list)
    for label, r in zip(PATCH_LABELS, results):
        r["label"] = label
    try:
        model.check_patch_test()
        return results, f"{model.method} keeps its promise", True
    except GhostForceError as exc:
        return results, str(exc), False


def frame_fields(model, serial, comm, velocities=None):
    """The mesh fields of one output frame: of ``model`` itself on one rank; on several,
    the owned nodes' positions (and velocities) gathered on rank 0, which computes the
    fields from the serial model's mesh and material (None on the other ranks)."""
    if comm is None or comm.Get_size() == 1:
        return mesh_fields(model, velocities)
    y = model.gather_nodes(model.y)
    v = model.gather_nodes(velocities) if velocities is not None else None
    return None if y is None else mesh_fields(serial, v, y=y)


def atom_mass(case, potential) -> float:
    """The mass (g/mol) of the case's first species: [lattice] masses, the potential
    file's, or the element's standard atomic weight."""
    from qc_sim.geometry import elements

    if case.lattice.masses:
        return float(case.lattice.masses[0])
    if hasattr(potential, "masses"):
        return float(potential.masses[potential.species.index(case.lattice.species[0])])
    return float(elements.standard_mass(case.lattice.species[0]))
