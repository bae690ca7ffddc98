"""P1 finite elements on a :class:`~qc_sim.continuum.mesh.Mesh` with a hyperelastic material.

The degrees of freedom are the deformed node positions x (nn, d), as for atoms; an element's
deformation gradient is ``F = sum_a x_a (x) grad N_a`` (constant on a P1 element), its energy
``V_e W(F)``, and node a feels ``f_a = -sum_e V_e P_e grad N_a``, gathered per node through the
mesh's CSR map (fixed order, no atomics). Held nodes (Dirichlet) keep their positions; a
prescribed deformation of a boundary moves them with :meth:`ContinuumRegion.deform_held`.
The region implements the solver protocol, so FIRE, L-BFGS and NEB drive it unchanged.
"""

from __future__ import annotations

import numpy as np


class ContinuumRegion:
    """``mesh`` with ``material`` (``energy_stress(F)``), nodes in ``held`` (mask) fixed."""

    xp = np

    def __init__(self, mesh, material, held=None):
        self.mesh = mesh
        self.material = material
        self.x = mesh.nodes.copy()
        held = np.zeros(mesh.n_nodes, bool) if held is None else np.asarray(held, bool)
        self.held = held
        self.free = (~held).astype(float)[:, None]

    def deformation_gradients(self, x=None):
        x = self.x if x is None else x
        return np.einsum("ead,eaf->edf", x[self.mesh.elements], self.mesh.gradients)

    def energy_and_forces(self, x=None):
        """Total energy (eV) and nodal forces (nn, d) at node positions ``x``."""
        F = self.deformation_gradients(x)
        W, P = self.material.energy_stress(F)
        v = self.mesh.volumes
        element_forces = -np.einsum("e,edf,eaf->ead", v, P, self.mesh.gradients)
        return float(v @ W), self.mesh.gather(element_forces)

    def deform_held(self, F) -> None:
        """Put the held nodes at ``F X`` (an applied homogeneous deformation of the boundary)."""
        F = np.asarray(F, float)
        self.x[self.held] = self.mesh.nodes[self.held] @ F.T

    # -- the solver protocol --------------------------------------------------------------

    def get_dofs(self):
        return self.x.reshape(-1).copy()

    def set_dofs(self, y) -> None:
        new = np.asarray(y, float).reshape(self.x.shape)
        self.x = self.x + (new - self.x) * self.free

    def energy_forces(self):
        e, f = self.energy_and_forces()
        return e, (f * self.free).reshape(-1)

    def max_force(self, forces) -> float:
        f = np.asarray(forces).reshape(-1, self.mesh.dim)
        return float(np.sqrt((f * f).sum(axis=1)).max()) if len(f) else 0.0
