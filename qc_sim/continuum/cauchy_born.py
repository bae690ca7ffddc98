"""The Cauchy-Born material: the strain-energy density of a simple Bravais lattice under a
homogeneous deformation, from the interatomic potential itself (docs/design.md section 5).

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
            d = b - (u - v)  # every site less the difference, modulo the cell: a coordinate
            d -= np.round(d)  # written 0.9999999999999999 or -0.5 is the site at 0 or 0.5
            if not np.any(np.all(np.abs(d) < 1e-5, axis=1)):
                return False
    return True


class CauchyBorn:
    """W(F), P(F) and the moduli of ``lattice`` (one ``species`` index of ``potential``).

    ``min_stretch`` is the smallest principal stretch the shell is built for: an F that
    compresses further raises ValueError (sites beyond the shell could enter the cutoff).
    """

    physics = "cauchy_born"  # the name a region of this material has (docs/design.md section 8)

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
        self._kernel_args = None  # (kernel name in kernels/cauchy_born.cu, its arguments)
        self._expansions = {}  # F0's bytes -> TaylorCauchyBorn about F0

    def _check(self, F):
        """Raise if a principal stretch of F is below ``min_stretch``. The squared stretches
        are the eigenvalues of C = F^T F; Gershgorin's discs bound them from below at the
        cost of a few products, and only the F whose bound fails take an SVD."""
        C = np.einsum("...ki,...kj->...ij", F, F)
        diag = np.diagonal(C, axis1=-2, axis2=-1)
        bound = (diag - (np.abs(C).sum(axis=-1) - np.abs(diag))).min(axis=-1)
        doubtful = bound < self.min_stretch**2
        if np.any(doubtful):
            s = np.linalg.svd(np.asarray(F)[doubtful], compute_uv=False)
            if np.any(s.min(axis=-1) < self.min_stretch):
                raise ValueError(f"a principal stretch {s.min():.3f} is below the "
                                 f"{self.min_stretch} the Cauchy-Born shell was built for")

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
                self._kernel_args = ("cb_eam", (
                    dev.asarray(np.array([t.nrho, t.nr], np.int32)),
                    dev.asarray(np.array([1 / t.drho, 1 / t.dr, t.rhomax, t.cutoff**2])),
                    dev.asarray(t.frho_spline[t.type2frho[s]].reshape(-1)),
                    dev.asarray(t.rhor_spline[t.type2rhor[s, s]].reshape(-1)),
                    dev.asarray(t.z2r_spline[t.type2z2r[s, s]].reshape(-1))))
            else:
                self._kernel_args = ("cb_pair", (STYLES[pot.style],
                                                 dev.asarray(pot.params[s, s].copy())))
            self._device_shell = dev.asarray(self.shell)
        name, args = self._kernel_args
        shell = self._device_shell
        getattr(k, name)(ne, d, flat, shell, len(self.shell), *args, 1.0 / self.volume, W, P)
        W, P = dev.to_host(W), dev.to_host(P)
        return W.reshape(F.shape[:-2]), P.reshape(F.shape)

    def expansion(self, F0=None) -> "TaylorCauchyBorn":
        """The :class:`TaylorCauchyBorn` expansion about F0 (default I), made once per F0."""
        F0 = np.eye(self.dim) if F0 is None else np.asarray(F0, float)
        cache = self._expansions
        key = F0.tobytes()
        if key not in cache:
            cache[key] = TaylorCauchyBorn(self, F0)
        return cache[key]

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


class TaylorCauchyBorn:
    """The second-order Taylor expansion of a Cauchy-Born ``material`` about ``F0``:

        W(F) = W(F0) + P(F0) : H + 1/2 H : A : H,    P(F) = P(F0) + A : H,    H = F - F0,

    with A = dP/dF at F0 made exactly major-symmetric (A_ijkl = A_klij), so that P is exactly
    the gradient of W. The error against the full material is third order in |H|; a far
    field whose strain is small costs one (d^2 x d^2) product per element instead of a
    lattice sum. :meth:`delta_energy_stress` returns W - W(F0) without forming W(F0), so sums
    of many elements' energies keep their digits."""

    physics = "cauchy_born_taylor"

    def __init__(self, material, F0=None):
        d = material.dim
        self.dim = d
        self.material = material
        self.F0 = np.eye(d) if F0 is None else np.array(F0, float)
        W0, P0 = material.energy_stress(self.F0[None])
        self.W0, self.P0 = float(W0[0]), P0[0]
        A = material.tangent(self.F0)
        A = 0.5 * (A + A.transpose(2, 3, 0, 1))
        self.A = A
        self._A2 = A.reshape(d * d, d * d)

    @property
    def volume(self) -> float:
        """The material's volume per site (Å^3; Å^2 in 2D)."""
        return self.material.volume

    def delta_energy_stress(self, F):
        """W(F) - W(F0) (...) and P (..., d, d)."""
        F = np.asarray(F, float)
        d = self.dim
        H = (F - self.F0).reshape(-1, d * d)
        AH = H @ self._A2
        dW = H @ self.P0.reshape(-1) + 0.5 * np.einsum("ei,ei->e", H, AH)
        P = self.P0.reshape(1, -1) + AH
        return dW.reshape(F.shape[:-2]), P.reshape(F.shape)

    def energy_stress(self, F):
        dW, P = self.delta_energy_stress(F)
        return self.W0 + dW, P

    def tangent(self, F=None):
        shape = () if F is None else np.asarray(F).shape[:-2]
        return np.broadcast_to(self.A, shape + self.A.shape).copy()


class MixedCauchyBorn:
    """A Cauchy-Born continuum whose elements flagged ``linear`` (mask over a mesh's
    elements) take the :class:`TaylorCauchyBorn` expansion about ``F0`` and the others the
    full lattice sum. Energies come as W - W(F0) (:meth:`element_delta`), so that a model's
    total can be counted from its reference state. ``strain(F)`` is the criterion: the largest
    principal Green-Lagrange strain of F against F0, |eig(1/2 (C - C0))|."""

    def __init__(self, material: CauchyBorn, n_elements: int, F0=None):
        self.material = material
        self.dim = material.dim
        self.set_reference(np.eye(self.dim) if F0 is None else F0)
        self.linear = np.zeros(int(n_elements), bool)

    def set_reference(self, F0) -> None:
        self.F0 = np.array(F0, float)

    @property
    def taylor(self) -> TaylorCauchyBorn:
        """The expansion about F0 (made when first asked for, kept by the material)."""
        return self.material.expansion(self.F0)

    @property
    def W0(self) -> float:
        return self.taylor.W0

    def strain(self, F) -> np.ndarray:
        """(...) the largest |principal strain| of F (..., d, d) measured from F0, where it
        matters: the Frobenius norm of E = 1/2 (C - C0) bounds it from above, and only where
        that bound exceeds 1e-3 are the eigenvalues taken (below, the bound is returned; a
        criterion of 1e-3 or more decides the same either way)."""
        F = np.asarray(F, float)
        C = np.einsum("...ki,...kj->...ij", F, F)
        E = 0.5 * (C - self.F0.T @ self.F0)
        out = np.sqrt((E * E).sum(axis=(-2, -1)))
        big = out > 1e-3
        if np.any(big):
            out[big] = np.abs(np.linalg.eigvalsh(E[big])).max(axis=-1)
        return out

    def element_delta(self, F, elements):
        """(W - W(F0), P) of elements ``elements`` (indices) at their F (n, d, d)."""
        F = np.asarray(F, float)
        dW, P = np.empty(len(F)), np.empty_like(F)
        lin = self.linear[elements]
        if lin.any():
            dW[lin], P[lin] = self.taylor.delta_energy_stress(F[lin])
        full = ~lin
        if full.any():
            W, P[full] = self.material.energy_stress(F[full])
            dW[full] = W - self.W0
        return dW, P
