"""Dislocation dipoles in coupled models: an edge dipole in the 2D triangular lattice, and a
Lomer dipole in an fcc slab periodic along the line (the MultiBench test problem of the
quasicontinuum literature; Miller & Tadmor, Modelling Simul. Mater. Sci. Eng. 17 (2009)
053001): two edge dislocations b = +-a/2[110] on (001) planes, line [1-10], one above the
other at 45 degrees, in a coupled model whose core is the union of two cylinders.

The crystal is turned so that x = [110] (b), y = [001] (the glide-plane normal), z = [1-10]
(the line, periodic). The cores sit between two (001) planes and between two atomic columns;
the linear elastic field of the dipole (:class:`~qc_sim.coupling.reference.EdgeDipole`,
isotropic with the crystal's Voigt-averaged Poisson ratio) displaces every node, holds the
outer boundary, and the sites the dipole's cut would double up are removed (a vacancy-type
dipole, as in the 2D edge dipole). The model keeps a twin without the cut for the patch test
and bgfc's correction; the dipole's energy is counted against the twin holding the same
number of atoms (the removed sites' cohesive energy added back).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qc_sim.coupling.crack import _between
from qc_sim.coupling.geometry import build_geometry
from qc_sim.coupling.model import CoupledModel
from qc_sim.coupling.reference import EdgeDipole
from qc_sim.geometry.lattice import oriented_lattice, sites_in_box

ORIENTATION = ((1, 1, 0), (0, 0, 1), (1, -1, 0))


def voigt_poisson(c11: float, c12: float, c44: float) -> float:
    """The Poisson ratio of the Voigt average of a cubic crystal."""
    bulk = (c11 + 2 * c12) / 3
    shear = (c11 - c12 + 3 * c44) / 5
    return float((3 * bulk - 2 * shear) / (2 * (3 * bulk + shear)))


@dataclass
class Dipole:
    """The coupled model, the dipole field, the removed sites and the line length (Å; 1 for
    the 2D lattice, whose energies are per layer)."""

    model: CoupledModel
    dipole: EdgeDipole
    removed: int
    line_length: float


def check_cut_in_core(cut, centres, core_radius: float, axes=None) -> None:
    """The removed sites ``cut`` (k, d) of a dipole's band must lie in its atomistic core (the
    union of the discs or cylinders of ``core_radius`` Å about ``centres``): the field's jump
    of b across the cut is carried by the atoms only. A ValueError saying how far the band
    reaches otherwise (build_geometry's own check says only that a vacancy lies outside)."""
    from qc_sim.coupling.geometry import core_distance

    if len(cut) == 0:
        return
    reach = float(np.max(core_distance(cut, centres, 0.0, axes)))
    if reach >= core_radius:
        raise ValueError(f"the dipole's cut band (the {len(cut)} removed sites between its "
                         f"cores) reaches {reach:.4g} Å from the nearer core, beyond the core "
                         f"radius {core_radius:.4g} Å: enlarge core_radius or bring the glide "
                         "planes closer (dipole_planes)")


def build_lomer_dipole(lattice, repeats, potential, species: str, elastic, planes: int,
                       core_radius: float, width: float, method="bgfc", rate=0.5,
                       device=None) -> "Dipole":
    """The Lomer dipole of the fcc ``lattice`` in ``repeats`` oriented cells (x [110],
    y [001], z [1-10]); glide planes ``planes`` (001) spacings apart; ``elastic`` (C11, C12,
    C44) for the Poisson ratio; core radius and handshake width in Å."""
    turned = oriented_lattice(lattice, ORIENTATION)
    lengths = np.diag(turned.cell)
    hi = np.asarray(repeats, float) * lengths
    sites = turned.basis * lengths
    spacing = lattice.a / 2  # between (001) planes
    h = planes * spacing
    lower = np.array([_between(sites[:, 0], lengths[0], hi[0] / 2 - h / 2),
                      _between(sites[:, 1], lengths[1], hi[1] / 2 - h / 2)])
    upper = np.array([_between(sites[:, 0], lengths[0], lower[0] + h),
                      lower[1] + h])
    b = lattice.a / np.sqrt(2.0)
    dipole = EdgeDipole(upper, lower, b, voigt_poisson(*elastic))
    all_sites = sites_in_box(turned, np.zeros(3), hi, open_hi=(False, False, True))[0]
    cut = all_sites[dipole.cut_sites(all_sites)]
    reach = (2 if method == "bqcf" else 1) * potential.cutoff
    centres = np.array([[*upper, 0.0], [*lower, 0.0]])
    check_cut_in_core(cut, centres, core_radius, axes=(True, True, False))
    geometry = build_geometry(turned, np.zeros(3), hi, centres, core_radius, width,
                              reach=reach, rate=rate, periodic=(False, False, True),
                              vacancies=cut)
    model = CoupledModel(geometry, potential, species, method, device=device, check=True)
    X = geometry.mesh.nodes
    model.y = X.copy()
    model.y[:, :2] += dipole.displacement(X)
    return Dipole(model, dipole, len(cut), float(hi[2]))


def build_edge_dipole(lattice, repeats, potential, species: str, rows: int,
                      core_radius: float, width: float, method="bgfc", rate=0.5,
                      device=None) -> Dipole:
    """The vacancy-type edge dipole of the 2D triangular ``lattice`` (b = a along x) in
    ``repeats`` cells, its glide planes ``rows`` close-packed rows apart at 45 degrees about
    the middle (:func:`~qc_sim.coupling.reference.edge_dipole`), with the plane-strain Poisson
    ratio of the lattice's Cauchy-Born moduli; core radius and handshake width in Å."""
    from qc_sim.continuum.cauchy_born import CauchyBorn
    from qc_sim.coupling.reference import edge_dipole, plane_strain_poisson

    cell = np.diag(lattice.cell)[:2]
    hi = np.asarray(repeats[:2], float) * cell
    poisson = plane_strain_poisson(CauchyBorn(potential, lattice))
    dipole = edge_dipole(lattice, hi / 2 - 0.25 * rows * lattice.a, rows, poisson)
    all_sites = sites_in_box(lattice, np.zeros(2), hi)[0]
    cut = all_sites[dipole.cut_sites(all_sites)]
    reach = (2 if method == "bqcf" else 1) * potential.cutoff
    check_cut_in_core(cut, dipole.cores, core_radius)
    geometry = build_geometry(lattice, np.zeros(2), hi, dipole.cores, core_radius, width,
                              reach=reach, rate=rate, vacancies=cut)
    model = CoupledModel(geometry, potential, species, method, device=device, check=True)
    X = geometry.mesh.nodes
    model.y = X + dipole.displacement(X)
    return Dipole(model, dipole, len(cut), 1.0)


def dipole_energy(dipole: Dipole, energy: float) -> float:
    """The dipole's energy (eV) for the relaxed model's ``energy``: against the twin at the
    reference lattice with the removed sites' cohesive energy added back."""
    model = dipole.model
    twin = model.twin
    e_perfect = twin.evaluate(twin.geometry.mesh.nodes)[0]
    site = model.material.energy(np.eye(model.dim)) * model.material.volume
    return float(energy - e_perfect + dipole.removed * site)
