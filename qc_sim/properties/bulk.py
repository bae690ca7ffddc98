"""Bulk properties of a cubic crystal: lattice constant, cohesive energy, C11, C12, C44.

The lattice constant minimises the energy per atom of the perfect crystal (cubic symmetry
keeps a perfect Bravais lattice at zero force), found by a coarse scan and then Brent's
method; there the pressure, -dE/dV, vanishes. Elastic constants are central differences of the
stress in strain: C11 and C12 from a normal strain of the cube-aligned crystal, and, since
boxes are orthogonal, C44 from a normal strain of the crystal turned to x = [110],
y = [-110], z = [001], where C11' = (C11 + C12) / 2 + C44. Simple Bravais lattices need no
internal relaxation (every site is a centre of inversion).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qc_sim.atomistic.system import AtomisticSystem
from qc_sim.errors import InputError
from qc_sim.geometry import Box, build_crystal, lattice as lattices
from qc_sim.units import EV_PER_A3_TO_GPA

LATTICES = {"fcc": lattices.fcc, "bcc": lattices.bcc, "sc": lattices.simple_cubic}


@dataclass(frozen=True)
class Bulk:
    """lattice_constant (Å), cohesive_energy (eV, positive), C11, C12, C44 (GPa)."""

    lattice: str
    element: str
    lattice_constant: float
    cohesive_energy: float
    C11: float
    C12: float
    C44: float

    @property
    def bulk_modulus(self) -> float:
        return (self.C11 + 2.0 * self.C12) / 3.0


def _crystal(potential, element, kind, a, device, orientation=None, repeats=(2, 2, 2)):
    atoms = build_crystal(LATTICES[kind](a), repeats, orientation=orientation,
                          species=(element,), masses=(1.0,))
    return AtomisticSystem(atoms, potential, device, skin=0.3)


def _energy_per_atom(potential, element, kind, a, device) -> float:
    system = _crystal(potential, element, kind, a, device)
    return system.compute(energy=True, virial=False).energy() / len(system)


def equilibrium_lattice(potential, element, kind="fcc", device=None,
                        scan=(0.15, 0.9)) -> tuple[float, float]:
    """(a0 in Å, energy per atom in eV) of the perfect ``kind`` crystal of ``element``.

    The scan covers nearest-neighbour distances from ``scan[0]`` to ``scan[1]`` times the
    potential's cutoff; no interior minimum there is an InputError (no stable lattice).
    """
    from scipy.optimize import minimize_scalar

    from qc_sim.backend import get_device

    device = device or get_device()  # else QC_SIM_BACKEND, else auto
    if kind not in LATTICES:
        raise InputError(f"lattice {kind!r} is not one of {', '.join(LATTICES)}")
    nn_per_a = LATTICES[kind](1.0).nearest_neighbor_distance
    a_grid = np.linspace(scan[0], scan[1], 76) * potential.cutoff / nn_per_a
    e = np.array([_energy_per_atom(potential, element, kind, a, device) for a in a_grid])
    k = int(np.argmin(e))
    if k in (0, len(a_grid) - 1) or not np.isfinite(e[k]) or e[k] >= 0.0:
        raise InputError(f"the potential gives no stable {kind} lattice for {element}: the "
                         f"energy per atom has no bound minimum for a in "
                         f"[{a_grid[0]:.3f}, {a_grid[-1]:.3f}] Å")
    best = minimize_scalar(lambda a: _energy_per_atom(potential, element, kind, a, device),
                           bracket=(a_grid[k - 1], a_grid[k], a_grid[k + 1]),
                           tol=1e-10)
    return float(best.x), float(best.fun)


def _normal_stress(system, strain_x: float) -> np.ndarray:
    """(xx, yy, zz) stress (eV/Å^3, tensile positive) with the box stretched along x."""
    box = system.atoms.box
    scale = np.array([1.0 + strain_x, 1.0, 1.0])
    lo = np.asarray(box.lo)
    system.set_box(Box(tuple(lo), tuple(lo + box.lengths * scale), box.periodic))
    system.set_positions(lo + (system.atoms.positions - lo) * scale)
    w = system.compute(energy=False, virial=True).total_virial()[:3]
    return -w / float(np.prod(box.lengths * scale))


def cubic_elastic_constants(potential, element, kind, a0, device=None,
                            strain=1e-5) -> tuple[float, float, float]:
    """(C11, C12, C44) in GPa at lattice constant ``a0``, by central differences."""
    from qc_sim.backend import get_device

    device = device or get_device()  # else QC_SIM_BACKEND, else auto
    cube = _crystal(potential, element, kind, a0, device)
    ds = (_normal_stress(cube, strain) - _normal_stress(cube, -strain)) / (2 * strain)
    c11, c12 = ds[0], 0.5 * (ds[1] + ds[2])
    turned = _crystal(potential, element, kind, a0, device,
                      orientation=[[1, 1, 0], [-1, 1, 0], [0, 0, 1]], repeats=(2, 2, 2))
    dt = (_normal_stress(turned, strain) - _normal_stress(turned, -strain)) / (2 * strain)
    c44 = dt[0] - 0.5 * (c11 + c12)
    return tuple(float(c) * EV_PER_A3_TO_GPA for c in (c11, c12, c44))


def bulk_properties(potential, element, kind="fcc", device=None) -> Bulk:
    a0, e0 = equilibrium_lattice(potential, element, kind, device)
    c11, c12, c44 = cubic_elastic_constants(potential, element, kind, a0, device)
    return Bulk(kind, element, a0, -e0, c11, c12, c44)
