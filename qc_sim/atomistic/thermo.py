"""Thermodynamic output: LAMMPS-style thermo quantities of an atomistic state."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qc_sim.units import BOLTZMANN, MVV2E, NKTV2P


def kinetic_energy(xp, velocities, masses) -> float:
    """0.5 sum m v^2, eV (velocities Å/ps, masses g/mol)."""
    return float(0.5 * MVV2E * (masses[:, None] * velocities * velocities).sum())


@dataclass(frozen=True)
class Thermo:
    """One thermo line: step, time (ps), energies (eV), temperature (K), pressure (bar),
    largest force on a free atom (eV/Å)."""

    step: int
    time: float
    potential: float
    kinetic: float
    temperature: float
    pressure: float
    max_force: float

    @property
    def total(self) -> float:
        return self.potential + self.kinetic

    HEADER = f"{'Step':>10} {'Time':>10} {'PotEng':>16} {'KinEng':>14} {'TotEng':>16} " \
             f"{'Temp':>10} {'Press':>12} {'Fmax':>10}"

    def line(self) -> str:
        return (f"{self.step:>10d} {self.time:>10.4f} {self.potential:>16.8f} {self.kinetic:>14.8f} "
                f"{self.total:>16.8f} {self.temperature:>10.3f} {self.pressure:>12.4f} "
                f"{self.max_force:>10.5f}")


def thermo(system, velocities, result, step: int, time: float, comm=None, owned=None) -> Thermo:
    """Thermo quantities for ``system`` with ``velocities`` and a ForceResult with energies
    and virial (pressure from the kinetic and virial terms over the box volume). Every sum
    is exact and rounded once (:func:`~qc_sim.parallel.mpi.global_exact_sum`), so a run on
    any number of ranks (``comm``; the ``owned`` first atoms of each rank's system) prints
    the same numbers as a serial one."""
    from qc_sim.parallel.mpi import global_exact_sum, global_max

    dev = system.device
    n = len(system) if owned is None else owned
    m = np.asarray(dev.to_host(system.masses))[:n, None]
    v = np.asarray(dev.to_host(velocities))[:n]
    ke = global_exact_sum(comm, 0.5 * MVV2E * m * v * v)
    pe = global_exact_sum(comm, np.asarray(dev.to_host(result.site_energy))[:n])
    d = system.atoms.dimension
    virial = np.asarray(dev.to_host(result.virial))[:n, :d]
    w = global_exact_sum(comm, virial)
    free = np.asarray(dev.to_host(system.free_weights))[:n]
    f = np.asarray(dev.to_host(result.forces))[:n]
    fmax = global_max(comm, float(np.sqrt((f**2).sum(axis=1) * free).max()) if n else 0.0)
    if owned is None:
        dof = max(system.degrees_of_freedom, 1)
    else:  # dimension x (free atoms - 1), over all ranks
        free_atoms = int(round(global_exact_sum(comm, free)))
        dof = max(d * free_atoms - d, 1)
    temp = 2.0 * ke / (dof * BOLTZMANN)
    press = (dof * BOLTZMANN * temp + w) / (d * system.box.volume) * NKTV2P
    return Thermo(step, time, pe, ke, temp, press, fmax)
