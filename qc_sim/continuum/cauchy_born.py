"""The Cauchy-Born material: the strain-energy density of a simple Bravais lattice under a
homogeneous deformation, from the interatomic potential itself (DESIGN section 4).

    W(F) = E_site({|F R_j|}) / Omega_0,      P = dW/dF = sum_j dE/dr_j (F R_j) (x) R_j / (r_j Omega_0)

with R_j the reference neighbour shell of one site (every lattice vector shorter than the
potential's cutoff over the smallest stretch the shell allows) and Omega_0 the volume per
site (area per site in 2D, where F is 2 x 2 and the energy is per area). The potential is
called through ``potential.site_terms`` (the very same interpolation as the atoms use), so W
equals the per-atom energy of the homogeneously deformed crystal. Multi-lattices (more than
one site per primitive cell) need inner relaxation and are refused.
"""

from __future__ import annotations

import numpy as np

from qc_sim.geometry.lattice import Lattice, positions_in_cells
from qc_sim.units import EV_PER_A3_TO_GPA



def is_bravais(lattice: Lattice) -> bool:
    """True when every basis site is a translation of the lattice (one site per primitive
    cell): the difference of any two basis sites is again a basis site, modulo the cell."""
    b = lattice.basis
    for u in b:
        for v in b:
            w = (u - v) % 1.0
            w[np.isclose(w, 1.0)] = 0.0
            if not np.any(np.all(np.isclose(b % 1.0, w), axis=1)):
                return False
    return True


class CauchyBorn:
    """W(F), P(F) and the moduli of ``lattice`` (one ``species`` index of ``potential``).

    ``min_stretch`` is the smallest principal stretch the shell is built for: an F that
    compresses further raises ValueError (sites beyond the shell could enter the cutoff).
    """

    physics = "cauchy_born"  # the name a region of this material has (DESIGN section 7)

    def __init__(self, potential, lattice: Lattice, species: int = 0, min_stretch: float = 0.7,
                 device=None):
        if not is_bravais(lattice):
            raise ValueError(f"the {lattice.name} lattice has more than one site per primitive "
                             "cell: Cauchy-Born needs inner relaxation there (not supported)")
        self.potential = potential
        self.lattice = lattice
        self.species = int(species)
        self.dim = lattice.dimension
        self.min_stretch = float(min_stretch)
        reach = potential.cutoff / self.min_stretch
        k = int(np.ceil(reach / min(np.linalg.norm(lattice.cell, axis=1)))) + 1
        ranges = [np.arange(-k, k + 1)] * self.dim + [np.zeros(1)] * (3 - self.dim)
        cells = np.stack(np.meshgrid(*ranges, indexing="ij"), axis=-1).reshape(-1, 3)
        sites = positions_in_cells(lattice, cells)
        r = np.linalg.norm(sites, axis=1)
        keep = (r > 1e-9) & (r < reach)
        order = np.lexsort(sites[keep].T[::-1])
        self.shell = sites[keep][order][:, : self.dim]  # (m, dim) Å
        self.volume = lattice.atomic_volume  # Å^3 per site (Å^2 in 2D)
        self.device = device  # compiled backends run kernels/cauchy_born.cu
        self._kernel_args = None

    def _check(self, F):
        s = np.linalg.svd(F, compute_uv=False)
        if np.any(s.min(axis=-1) < self.min_stretch):
            raise ValueError(f"a principal stretch {s.min():.3f} is below the {self.min_stretch} "
                             "the Cauchy-Born shell was built for")

    def energy_stress(self, F):
        """W (...) eV/Å^3 (eV/Å^2 in 2D) and P (..., d, d) for deformation gradients
        F (..., d, d)."""
        F = np.asarray(F, float)
        self._check(F)
        if self.device is not None and self.device.compiled:
            return self._energy_stress_compiled(F)
        x = np.einsum("...ab,mb->...ma", F, self.shell)
        r = np.sqrt((x * x).sum(axis=-1))
        e, dedr = self.potential.site_terms(r, self.species)
        P = np.einsum("...m,...ma,mb->...ab", dedr / r, x, self.shell) / self.volume
        return e / self.volume, P

    def _energy_stress_compiled(self, F):
        from qc_sim.potentials.eam import Eam
        from qc_sim.potentials.pair import STYLES

        dev, d = self.device, self.dim
        flat = dev.asarray(F.reshape(-1, d * d))
        ne = flat.shape[0]
        W, P = dev.xp.empty(ne), dev.xp.empty((ne, d * d))
        k = dev.kernels("cauchy_born")
        if self._kernel_args is None:
            pot, s = self.potential, self.species
            if isinstance(pot, Eam):
                t = pot.tables
                self._kernel_args = ("eam", (
                    dev.asarray(np.array([t.nrho, t.nr], np.int32)),
                    dev.asarray(np.array([1 / t.drho, 1 / t.dr, t.rhomax, t.cutoff**2])),
                    dev.asarray(t.frho_spline[t.type2frho[s]].reshape(-1)),
                    dev.asarray(t.rhor_spline[t.type2rhor[s, s]].reshape(-1)),
                    dev.asarray(t.z2r_spline[t.type2z2r[s, s]].reshape(-1))))
            else:
                self._kernel_args = ("pair", (STYLES[pot.style],
                                              dev.asarray(pot.params[s, s].copy())))
            self._device_shell = dev.asarray(self.shell)
        kind, args = self._kernel_args
        shell = self._device_shell
        if kind == "eam":
            k.cb_eam(ne, d, flat, shell, len(self.shell), *args, 1.0 / self.volume, W, P)
        else:
            k.cb_pair(ne, d, flat, shell, len(self.shell), *args, 1.0 / self.volume, W, P)
        W, P = dev.to_host(W), dev.to_host(P)
        return W.reshape(F.shape[:-2]), P.reshape(F.shape)

    def energy(self, F):
        return self.energy_stress(F)[0]

    def stress(self, F):
        return self.energy_stress(F)[1]

    def tangent(self, F=None, h: float = 1e-6):
        """dP/dF (..., d, d, d, d) at F (..., d, d) (default I), by central differences of
        the analytic P."""
        F = np.eye(self.dim) if F is None else np.asarray(F, float)
        A = np.zeros(F.shape + (self.dim, self.dim))
        for k in range(self.dim):
            for m in range(self.dim):
                dF = np.zeros((self.dim, self.dim))
                dF[k, m] = h
                A[..., k, m] = (self.stress(F + dF) - self.stress(F - dF)) / (2 * h)
        return A

    def cubic_moduli(self):
        """(C11, C12, C44) in GPa at F = I (3D lattices), from the tangent: at zero stress the
        first-Piola tangent equals the elasticity tensor."""
        if self.dim != 3:
            raise ValueError("cubic moduli are for 3D lattices")
        A = self.tangent() * EV_PER_A3_TO_GPA
        return float(A[0, 0, 0, 0]), float(A[0, 0, 1, 1]), float(A[0, 1, 0, 1])
