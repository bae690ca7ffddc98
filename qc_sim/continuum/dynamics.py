"""Explicit dynamics of a continuum region: central differences (velocity-Verlet form) with
lumped masses, and the stability limit that a time step must respect.

A node carries the mass of the volume it lumps: ``m_a = sum_e rho V_e / (d + 1)`` with
``rho`` the site mass over the volume per site, so a fine node of a lattice-site mesh
carries about one atom's mass. The stable step of central differences is ``2 / omega_max``;
``omega_max`` is bounded by the largest element frequency, ``max_e lambda_max(K_e) / m_e``
with ``m_e = rho V_e / (d + 1)`` (the element eigenvalue inequality).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qc_sim.units import FTM2V, MVV2E


def lumped_masses(mesh, site_mass: float, site_volume: float) -> np.ndarray:
    """(nn,) g/mol for density site_mass / site_volume."""
    rho = site_mass / site_volume
    per_element = rho * mesh.volumes / (mesh.dim + 1)
    return mesh.gather(np.repeat(per_element[:, None], mesh.dim + 1, axis=1))


def stable_time_step(region, masses) -> float:
    """The largest stable central-difference step (ps) at the current deformation."""
    from qc_sim.continuum.fem import element_stiffness

    m = region.mesh
    k, d = m.dim + 1, m.dim
    A = region.material.tangent(region.deformation_gradients())
    Ke = element_stiffness(m, A).reshape(len(m.elements), k * d, k * d)
    Ke = 0.5 * (Ke + np.swapaxes(Ke, 1, 2))
    lam = np.linalg.eigvalsh(Ke)[:, -1]
    element_mass = masses[m.elements].min(axis=1)  # the lightest node an element drives
    omega2 = lam / element_mass * FTM2V  # 1/ps^2
    return float(2.0 / np.sqrt(omega2.max()))


@dataclass
class ContinuumState:
    velocities: np.ndarray  # (nn, d) Å/ps
    forces: np.ndarray  # (nn, d) eV/Å
    energy: float  # potential energy, eV
    step: int = 0
    time: float = 0.0


class ExplicitDynamics:
    """Central-difference dynamics of ``region`` with lumped ``masses`` and step ``dt`` ps;
    refuses a step above the stability limit estimated at the start (``safety`` < 1 keeps a
    margin for the stiffening of large deformations)."""

    def __init__(self, region, masses, dt: float, safety: float = 0.9):
        self.region = region
        self.masses = np.asarray(masses, float)
        self.dt = float(dt)
        self.limit = stable_time_step(region, self.masses)
        if self.dt > safety * self.limit:
            raise ValueError(f"time step {self.dt:g} ps is above the stability limit: central "
                             f"differences on this mesh need dt <= {safety * self.limit:.4g} ps "
                             f"({safety:g} x the estimated {self.limit:.4g} ps)")

    def init_state(self, velocities=None) -> ContinuumState:
        e, f = self.region.energy_and_forces()
        v = np.zeros_like(self.region.x) if velocities is None else np.array(velocities, float)
        return ContinuumState(v * self.region.free, f * self.region.free, e)

    def kinetic_energy(self, state) -> float:
        return float(0.5 * MVV2E * (self.masses[:, None] * state.velocities**2).sum())

    def step(self, state: ContinuumState) -> ContinuumState:
        dt, free = self.dt, self.region.free
        accel = FTM2V / self.masses[:, None]
        v = state.velocities + (0.5 * dt) * state.forces * accel * free
        self.region.x = self.region.x + dt * v * free
        e, f = self.region.energy_and_forces()
        f = f * free
        v = v + (0.5 * dt) * f * accel * free
        return ContinuumState(v, f, e, state.step + 1, state.time + dt)

    def run(self, state: ContinuumState, steps: int, every: int = 0, on_step=None):
        for _ in range(steps):
            state = self.step(state)
            if on_step is not None and every and state.step % every == 0:
                on_step(state)
        return state
