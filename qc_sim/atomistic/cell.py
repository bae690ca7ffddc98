"""Relaxing an orthogonal periodic box together with the atoms, to a target stress.

:class:`BoxRelaxation` wraps an :class:`~qc_sim.atomistic.system.AtomisticSystem` as a
:class:`~qc_sim.solvers.protocol.Minimizable` whose degrees of freedom are the atoms'
positions in the undeformed box and one strain per relaxing axis, ``L_a = L0_a (1 + e_a)``.
The strain forces are ``(W_a + s_a V) / (1 + e_a)`` with ``W`` the virial (eV) and ``s`` the
target normal stresses (tensile positive), zero when the stresses ``-W_a / V`` equal ``s``.
A hydrostatic target ``s = -P`` is the enthalpy ``H = E + P V`` minimised (the energy the
model reports); a non-hydrostatic one has no such potential, so the model is marked
non-conservative and only force-driven solvers (FIRE) accept it. An orthogonal box cannot
take shear stresses. As in ASE's cell filters, the strains enter the vector
multiplied by the number of atoms (and their forces divided by it) so that one force
tolerance in eV/Å serves both kinds of degree of freedom.
"""

from __future__ import annotations

import numpy as np

from qc_sim.geometry.box import Box
from qc_sim.units import NKTV2P


class BoxRelaxation:
    """``system`` with its box free along ``axes`` (periodic ones), at ``pressure`` bar or at
    the normal ``stress`` (sxx, syy, szz) bar, tensile positive."""

    def __init__(self, system, pressure: float = 0.0, axes=(True, True, True), stress=None):
        box = system.box
        self.axes = np.array([bool(a) and p for a, p in zip(axes, box.periodic)])
        if not self.axes.any():
            raise ValueError("box relaxation needs at least one periodic axis to relax")
        self.system = system
        self.xp = system.xp
        if stress is None:
            stress = (-float(pressure),) * 3
        self.target = np.asarray(stress, float) / NKTV2P  # eV/Å^3, tensile positive
        if self.target.shape != (3,):
            raise ValueError(f"a target stress is (sxx, syy, szz), got {stress}")
        relaxing = self.target[self.axes]
        self.conservative = bool(np.all(relaxing == relaxing[0]))
        self.pressure = -float(relaxing[0]) if self.conservative else None
        self.lo = np.asarray(box.lo)
        self.lengths0 = box.lengths.copy()
        self.n = len(system)
        self.strain = np.zeros(3)
        self._lo_dev = system.device.asarray(self.lo)

    @property
    def lengths(self) -> np.ndarray:
        return self.lengths0 * (1.0 + self.strain)

    def _scale(self):
        return self.system.device.asarray(1.0 + self.strain)

    def get_dofs(self):
        xp = self.xp
        ref = (self.system.positions - self._lo_dev) / self._scale() + self._lo_dev
        e = self.system.device.asarray(self.n * self.strain[self.axes])
        return xp.concatenate([ref.reshape(-1), e])

    def set_dofs(self, y) -> None:
        k = int(self.axes.sum())
        e = np.asarray(self.system.device.to_host(y[-k:]), float) / self.n
        self.strain[self.axes] = e
        lengths = self.lengths
        box = self.system.box
        self.system.set_box(Box(tuple(self.lo), tuple(self.lo + lengths), box.periodic))
        ref = y[:-k].reshape(-1, 3)
        self.system.set_dofs(((ref - self._lo_dev) * self._scale() + self._lo_dev).reshape(-1))

    def energy_forces(self):
        r = self.system.compute(energy=True, virial=True)
        volume = float(np.prod(self.lengths))
        w = r.total_virial()[:3]
        f_atoms = (r.forces * self.system.free) * self._scale()
        f_strain = (w + self.target * volume) / (1.0 + self.strain) / self.n
        f = self.xp.concatenate([f_atoms.reshape(-1),
                                 self.system.device.asarray(f_strain[self.axes])])
        enthalpy = r.energy() + (self.pressure * volume if self.conservative else 0.0)
        return enthalpy, f

    def max_force(self, forces) -> float:
        k = int(self.axes.sum())
        atoms = self.system.max_force(forces[:-k] / self.xp.tile(self._scale(), self.n))
        return max(atoms, float(self.xp.abs(forces[-k:]).max()))

    def stress(self) -> np.ndarray:
        """Normal stresses (xx, yy, zz) at the current state, bar (virial only: static)."""
        r = self.system.compute(energy=False, virial=True)
        return -r.total_virial()[:3] / float(np.prod(self.lengths)) * NKTV2P
