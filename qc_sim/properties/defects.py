"""Planar and point defects of a cubic crystal: relaxed free-surface energies, the
generalised stacking-fault curve on {111}, and the relaxed vacancy formation energy.

Energies are per area in mJ/m^2 (1 eV/Å^2 = 16021.766 mJ/m^2) and in eV. Relaxations use FIRE
through the solver protocol; a relaxation that does not converge raises NotConverged.
"""

from __future__ import annotations

import numpy as np

from qc_sim.atomistic.system import AtomisticSystem
from qc_sim.geometry import build_crystal
from qc_sim.properties.bulk import LATTICES
from qc_sim.solvers import Masked, fire
from qc_sim.units import EV_PER_A2_TO_MJ_PER_M2


# surface normal along z; x, y in the plane (right-handed)
SURFACES = {
    "100": [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
    "110": [[0, 0, 1], [1, -1, 0], [1, 1, 0]],
    "111": [[1, -1, 0], [1, 1, -2], [1, 1, 1]],
}


def _system(atoms, potential, device, fixed=None):
    return AtomisticSystem(atoms, potential, device, skin=0.3, fixed=fixed)


def _slab(potential, element, kind, a0, orientation, min_thickness, min_width=0.0):
    """A slab periodic in x, y and open in z, at least ``min_thickness`` Å thick."""
    from qc_sim.geometry.lattice import oriented_cell

    _, lengths = oriented_cell(LATTICES[kind](a0), orientation)
    nz = max(1, int(np.ceil(min_thickness / lengths[2])))
    nx, ny = (max(1, int(np.ceil(min_width / lengths[a]))) for a in (0, 1))
    return build_crystal(LATTICES[kind](a0), (nx, ny, nz), orientation=orientation,
                         periodic=(True, True, False), species=(element,), masses=(1.0,))


def surface_energy(potential, element, kind, a0, cohesive_energy, plane, device,
                   fmax=1e-4, max_steps=20_000) -> float:
    """Relaxed energy of the ``plane`` ("100", "110", "111") surface, mJ/m^2."""
    atoms = _slab(potential, element, kind, a0, SURFACES[plane], 6 * potential.cutoff)
    system = _system(atoms, potential, device)
    result = fire(system, fmax=fmax, max_steps=max_steps).check()
    area = atoms.box.lengths[0] * atoms.box.lengths[1]
    return (result.energy + len(atoms) * cohesive_energy) / (2 * area) * EV_PER_A2_TO_MJ_PER_M2


# slip systems for the generalised stacking-fault curve: orientation (z normal to the slip
# plane, y along the shift), and the shift's unit (Å per lattice constant): the Shockley
# partial a/sqrt(6) on fcc {111}<112>, the full a sqrt(3)/2 on bcc {110}<111>.
SLIP_SYSTEMS = {
    "fcc": ([[1, -1, 0], [1, 1, -2], [1, 1, 1]], 1.0 / np.sqrt(6.0), np.linspace(0.0, 1.5, 13)),
    "bcc": ([[-1, 1, -2], [-1, 1, 1], [1, 1, 0]], np.sqrt(3.0) / 2.0, np.linspace(0.0, 1.0, 13)),
}


def stacking_fault_curve(potential, element, a0, device, kind="fcc", fmax=1e-4,
                         max_steps=20_000):
    """The generalised stacking-fault energy on the slip plane of ``kind``: fcc (111) along
    [11-2] from 0 to 1.5 Shockley partials a/sqrt(6), or bcc (110) along [-111] over one
    Burgers vector a sqrt(3)/2. Returns (shifts in those units, energies in mJ/m^2). The
    upper half is displaced rigidly; every atom relaxes normal to the plane only (the
    standard GSF constraint)."""
    orientation, unit, shifts = SLIP_SYSTEMS[kind]
    atoms = _slab(potential, element, kind, a0, orientation, 8 * potential.cutoff)
    z = atoms.positions[:, 2]
    upper = z > 0.5 * (z.min() + z.max())
    area = atoms.box.lengths[0] * atoms.box.lengths[1]
    mask = np.zeros((len(atoms), 3), bool)
    mask[:, 2] = True
    energies = []
    for s in shifts:
        x = atoms.positions.copy()
        x[upper, 1] += s * unit * a0
        system = _system(atoms, potential, device)
        system.set_positions(x)
        energies.append(fire(Masked(system, mask.reshape(-1)), fmax=fmax,
                             max_steps=max_steps).check().energy)
    energies = np.array(energies)
    return shifts, (energies - energies[0]) / area * EV_PER_A2_TO_MJ_PER_M2


def stacking_fault_energies(shifts, curve, kind="fcc") -> tuple[float, float | None]:
    """(gamma_us, gamma_isf) in mJ/m^2 from a GSF curve. fcc: the largest energy before the
    partial (shift 1) and the energy at it; bcc has no stable fault on {110}: the largest
    energy on the curve, and None."""
    if kind == "bcc":
        return float(curve.max()), None
    k = int(np.argmin(np.abs(shifts - 1.0)))
    if abs(shifts[k] - 1.0) > 1e-9:
        raise ValueError("the stacking-fault curve must include the partial (shift 1)")
    return float(curve[: k + 1].max()), float(curve[k])


def vacancy_crystal(element, kind, a0, repeats=(4, 4, 4)):
    """The perfect periodic crystal and the index of the atom nearest its centre."""
    atoms = build_crystal(LATTICES[kind](a0), repeats, species=(element,), masses=(1.0,))
    centre = atoms.box.lengths / 2
    return atoms, int(np.argmin(np.linalg.norm(atoms.positions - centre, axis=1)))


def vacancy_formation_energy(potential, element, kind, a0, device, repeats=(4, 4, 4),
                             fmax=1e-4, max_steps=20_000) -> float:
    """E_f = E(N - 1, relaxed at fixed box) - (N - 1)/N E(N), eV."""
    atoms, k = vacancy_crystal(element, kind, a0, repeats)
    n = len(atoms)
    perfect = _system(atoms, potential, device).compute(energy=True, virial=False).energy()
    defect = _system(atoms.select(np.arange(n) != k), potential, device)
    relaxed = fire(defect, fmax=fmax, max_steps=max_steps).check()
    return relaxed.energy - (n - 1) / n * perfect


def vacancy_hop_endpoints(potential, element, kind, a0, device, repeats=(4, 4, 4),
                          fmax=1e-3, max_steps=20_000):
    """Relaxed initial and final systems of a nearest-neighbour vacancy hop (fixed box):
    a vacancy at the central site, and the neighbour that jumps into it."""
    atoms, k = vacancy_crystal(element, kind, a0, repeats)
    d = atoms.box.minimum_image(atoms.positions - atoms.positions[k])
    r = np.linalg.norm(d, axis=1)
    r[k] = np.inf
    j = int(np.argmin(r))
    keep = np.arange(len(atoms)) != k
    initial = atoms.select(keep)
    final = atoms.select(keep)
    moved = int(np.sum(keep[:j]))  # index of the jumping atom among the kept ones
    final.positions[moved] = atoms.positions[j] - d[j]  # the vacant site, nearest image
    ends = []
    for a in (initial, final):
        system = _system(a, potential, device)
        fire(system, fmax=fmax, max_steps=max_steps).check()
        ends.append(system)
    return ends


def vacancy_migration(potential, element, kind, a0, device, repeats=(4, 4, 4), images=5,
                      spring=0.1, fmax=0.01, max_steps=2000, interpolation="linear",
                      on_step=None):
    """Climbing-image NEB of the vacancy hop: a :class:`~qc_sim.solvers.neb.NebResult`.
    Images start on the ``interpolation`` path ("linear" or "idpp"); the inner images are
    evaluated together, in one launch of the potential's kernels."""
    return vacancy_hop_neb(potential, element, kind, a0, device, repeats, images, spring, fmax,
                           max_steps, interpolation, on_step=on_step)[1]


def vacancy_hop_neb(potential, element, kind, a0, device, repeats=(4, 4, 4), images=5,
                    spring=0.1, fmax=0.01, max_steps=2000, interpolation="linear",
                    endpoint_fmax=1e-3, on_step=None):
    """The climbing-image NEB of the vacancy hop with its geometry: (the images as systems,
    first and last relaxed to ``endpoint_fmax`` eV/Å; the NebResult)."""
    from qc_sim.atomistic.replicas import batch_energy_forces
    from qc_sim.solvers.neb import Band, interpolate, run_neb

    if images < 1:
        raise ValueError(f"the number of images must be at least 1, got {images}")
    first, last = vacancy_hop_endpoints(potential, element, kind, a0, device, repeats,
                                        fmax=endpoint_fmax, max_steps=max_steps)
    if interpolation == "idpp":
        from qc_sim.atomistic.idpp import idpp_path

        starts = [x.reshape(-1) for x in idpp_path(np.asarray(first.positions),
                                                    np.asarray(last.positions), first.box,
                                                    images)]
    elif interpolation == "linear":
        starts = interpolate(first.get_dofs(), last.get_dofs(), images)
    else:
        raise ValueError(f"interpolation {interpolation!r} is not one of linear, idpp")
    path = [first]
    for y in starts:
        image = _system(first.atoms, potential, device)
        image.set_dofs(y)
        path.append(image)
    path.append(last)
    band = Band(path, k=spring, climb=True, evaluate_batch=batch_energy_forces)
    return path, run_neb(band, fmax=fmax, max_steps=max_steps, on_step=on_step)
