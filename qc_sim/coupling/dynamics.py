"""Dynamics of a coupled model: velocity Verlet on the node positions (atoms of core and
handshake, coarse nodes) with a lumped mass per node: an atom's mass where the node is an
atom (beta > 0), the lumped finite-element mass elsewhere (docs/design.md section 6.4). With bgfc the
forces derive from an energy, and ``E_bgfc + kinetic`` is conserved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qc_sim.continuum.dynamics import lumped_masses
from qc_sim.units import FTM2V, MVV2E


def node_masses(model, atom_mass: float) -> np.ndarray:
    """(nn,) g/mol: the atom's mass on nodes that are blended atoms, lumped FE mass on the
    others (density = atom mass over the volume per site)."""
    g = model.geometry
    masses = lumped_masses(g.mesh, atom_mass, g.lattice.atomic_volume)
    blended = g.node_beta > 0
    masses[blended] = atom_mass
    return masses


@dataclass
class CoupledState:
    velocities: np.ndarray  # (nn, d) Å/ps
    forces: np.ndarray  # (nn, d) eV/Å
    energy: float
    step: int = 0
    time: float = 0.0


def handshake_damping(model, rate: float) -> np.ndarray:
    """A damping band across the handshake: ``rate * 4 beta (1 - beta)`` per node (1/ps),
    largest mid-handshake, zero in the core and the continuum, to absorb the short waves that
    the coarse mesh cannot carry instead of reflecting them into the core."""
    beta = model.geometry.node_beta
    return rate * 4.0 * beta * (1.0 - beta)


class CoupledDynamics:
    """Velocity Verlet of ``model`` (held nodes stay put) with ``masses`` and step ``dt`` ps;
    optional per-node ``damping`` rates (1/ps) damp velocities by exp(-rate dt) each step
    (with damping the run no longer conserves energy, by design)."""

    def __init__(self, model, masses, dt: float, damping=None):
        self.model = model
        self.masses = np.asarray(masses, float)
        self.dt = float(dt)
        self.free = model.free[:, None].astype(float)
        self.decay = (None if damping is None
                      else np.exp(-np.asarray(damping, float) * self.dt)[:, None])

    def init_state(self, velocities=None) -> CoupledState:
        e, f = self.model.evaluate(self.model.y)
        v = np.zeros_like(self.model.y) if velocities is None else np.array(velocities, float)
        return CoupledState(v * self.free, f * self.free, e)

    def kinetic_energy(self, state) -> float:
        return float(0.5 * MVV2E * (self.masses[:, None] * state.velocities**2).sum())

    def step(self, state: CoupledState) -> CoupledState:
        dt, accel = self.dt, FTM2V / self.masses[:, None]
        v = state.velocities + (0.5 * dt) * state.forces * accel
        self.model.y = self.model.y + dt * v * self.free
        e, f = self.model.evaluate(self.model.y)
        f = f * self.free
        v = (v + (0.5 * dt) * f * accel) * self.free
        if self.decay is not None:
            v = v * self.decay
        return CoupledState(v, f, e, state.step + 1, state.time + dt)

    def run(self, state, steps: int, every: int = 0, on_step=None) -> CoupledState:
        for _ in range(steps):
            state = self.step(state)
            if on_step is not None and every and state.step % every == 0:
                on_step(state)
        return state
