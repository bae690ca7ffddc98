"""Molecular dynamics: velocity-Verlet NVE and Langevin NVT (BAOAB splitting).

Each integrator is a pure step function over an :class:`MDState` and an
:class:`~qc_sim.atomistic.system.AtomisticSystem` (which owns positions and forces).
Langevin noise is a function of (seed, step, global atom id) only
(:mod:`qc_sim.atomistic.random`), so a restarted or re-partitioned run draws the same
numbers. Fixed atoms keep zero velocity and never move.

References: Swope et al., J. Chem. Phys. 76 (1982) 637 (velocity Verlet);
Leimkuhler & Matthews, Appl. Math. Res. Express (2013) 34 (BAOAB).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from qc_sim.potentials.base import ForceResult
from qc_sim.units import BOLTZMANN, FTM2V, MVV2E


@dataclass(frozen=True)
class Langevin:
    """Langevin thermostat: target temperature (K), damping time (ps), random seed."""

    temperature: float
    damping: float
    seed: int


@dataclass
class MDState:
    """Velocities (n, 3) Å/ps on the device, the last ForceResult, step count and time (ps)."""

    velocities: object
    result: ForceResult
    step: int = 0
    time: float = 0.0


def init_state(system, velocities, step: int = 0, time: float = 0.0) -> MDState:
    """Forces (with energies and virial) at the current positions, and the given velocities."""
    v = system.device.asarray(velocities, dtype="float64") * system.free
    return MDState(v, system.compute(energy=True, virial=True), step, time)


def _kick(system, v, forces, dt):
    """v += dt * f / m on free atoms (dt in ps); in place on compiled backends."""
    if system.device.compiled:
        system.device.kernels("integrate").md_kick(len(system), dt * FTM2V, forces,
                                                  system.masses, system.free_weights, v)
        return v
    return v + (dt * FTM2V) * forces / system.masses[:, None] * system.free


def _drift(system, v, dt):
    """x += dt * v on free atoms."""
    if system.device.compiled:
        system.device.kernels("integrate").md_drift(len(system), dt, v, system.free_weights,
                                                   system.positions)
        return
    system.set_positions(system.positions + dt * v * system.free)


def nve_step(system, state: MDState, dt: float, energy: bool = False) -> MDState:
    """One velocity-Verlet step of ``dt`` ps; energies and virial computed if ``energy``."""
    v = _kick(system, state.velocities.copy(), state.result.forces, 0.5 * dt)
    _drift(system, v, dt)
    result = system.compute(energy=energy, virial=energy)
    v = _kick(system, v, result.forces, 0.5 * dt)
    return replace(state, velocities=v, result=result, step=state.step + 1, time=state.time + dt)


def langevin_drift(system, state: MDState, dt: float, thermostat: Langevin):
    """The first part of a BAOAB step: kick, half drift, exact Ornstein-Uhlenbeck, half
    drift; returns the velocities (the forces and the last kick follow)."""
    from qc_sim.atomistic.random import gaussian_noise

    xp = system.xp
    v = _kick(system, state.velocities.copy(), state.result.forces, 0.5 * dt)
    _drift(system, v, 0.5 * dt)
    c1 = math.exp(-dt / thermostat.damping)
    sigma = xp.sqrt((1.0 - c1 * c1) * BOLTZMANN * thermostat.temperature / (MVV2E * system.masses))
    xi = gaussian_noise(system.device, thermostat.seed, state.step, system.ids)
    v = (c1 * v + sigma[:, None] * xi) * system.free
    _drift(system, v, 0.5 * dt)
    return v


def langevin_step(system, state: MDState, dt: float, thermostat: Langevin,
                  energy: bool = False) -> MDState:
    """One BAOAB Langevin step: kick, half drift, exact Ornstein-Uhlenbeck, half drift, kick."""
    v = langevin_drift(system, state, dt, thermostat)
    result = system.compute(energy=energy, virial=energy)
    v = _kick(system, v, result.forces, 0.5 * dt)
    return replace(state, velocities=v, result=result, step=state.step + 1, time=state.time + dt)


def run(system, state: MDState, steps: int, dt: float, thermostat: Langevin | None = None,
        thermo_every: int = 0, on_thermo=None) -> MDState:
    """Advance ``steps`` steps. Every ``thermo_every`` steps and on the last one, energies and
    virial are computed and ``on_thermo(state)`` is called (if given)."""
    for k in range(steps):
        s = state.step + 1
        want = (thermo_every and s % thermo_every == 0) or k == steps - 1
        if thermostat is None:
            state = nve_step(system, state, dt, energy=want)
        else:
            state = langevin_step(system, state, dt, thermostat, energy=want)
        if want and on_thermo is not None:
            on_thermo(state)
    return state
