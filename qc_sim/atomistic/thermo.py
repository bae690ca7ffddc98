"""Thermodynamic output: LAMMPS-style thermo quantities of an atomistic state."""

from __future__ import annotations

from dataclasses import dataclass

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


def thermo(system, velocities, result, step: int, time: float) -> Thermo:
    """Thermo quantities for ``system`` with ``velocities`` and a ForceResult with energies
    and virial (pressure from the kinetic and virial terms over the box volume)."""
    xp = system.xp
    ke = kinetic_energy(xp, velocities, system.masses)
    dof = max(system.degrees_of_freedom, 1)
    temp = 2.0 * ke / (dof * BOLTZMANN)
    vol = system.box.volume
    w = result.total_virial()
    d = system.atoms.dimension
    press = (dof * BOLTZMANN * temp + float(w[:d].sum())) / (d * vol) * NKTV2P
    fmax = float(xp.sqrt((result.forces**2).sum(axis=1) * system.free[:, 0]).max()) if len(system) else 0.0
    return Thermo(step, time, result.energy(), ke, temp, press, fmax)
